package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/testutil"
)

// Bot B of the two-bot tests: a second app of the same fake DingTalk.
const (
	appB       = "sales-app-id"
	appBSecret = "sales-app-secret"
)

// twoBots rewrites the harness config as a version 3 config with two
// DingTalk bots on the harness's fake: "work" (the fake's first app) and
// "sales" (appB, with secretB), each with its own allow list.
func twoBots(t *testing.T, h *gatewayHarness, secretB string, salesSettings map[string]any) {
	t.Helper()
	cfg := configJSON(t, h)
	delete(cfg, "channels")
	cfg["version"] = 3
	// A second model on the same fake LLM, for a bot's own model_name.
	models := cfg["model_list"].([]any)
	big := maps.Clone(models[0].(map[string]any))
	big["model_name"], big["model"] = "big", "openai/gpt-big"
	cfg["model_list"] = append(models, big)
	sales := map[string]any{"client_id": appB, "client_secret": secretB, "api_base": h.dt.URL()}
	for k, v := range salesSettings {
		sales[k] = v
	}
	cfg["channel_list"] = map[string]any{
		"work": map[string]any{"enabled": true, "type": "dingtalk",
			"settings": map[string]any{"client_id": h.dt.ClientID, "client_secret": h.dt.ClientSecret, "api_base": h.dt.URL()}},
		"sales": map[string]any{"enabled": true, "type": "dingtalk", "allow_from": []string{dingtalktest.DefaultSenderStaffID}, "settings": sales},
	}
	writeConfigJSON(t, h, cfg)
}

// healthBots returns /health's bots by name.
func healthBots(t *testing.T, h *gatewayHarness) map[string]map[string]any {
	t.Helper()
	code, body := getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/health", h.port))
	list, _ := body["bots"].([]any)
	if code != http.StatusOK || len(list) != 2 {
		t.Fatalf("/health = %d %v, want two bots", code, body)
	}
	out := map[string]map[string]any{}
	for _, b := range list {
		m := b.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

// Two bots in one gateway, on one DingTalk with two apps: each answers
// only its own messages, through its own session webhook, with its own
// model; the same user has one conversation with each; /health and
// `status` list both.
func TestGatewayTwoBots(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.dt.AddApp(appB, appBSecret)
	twoBots(t, h, appBSecret, map[string]any{"model_name": "big"})
	h.start()
	waitBotStates(t, h, map[string]string{"work": "connected", "sales": "connected"})

	// The same user writes to both bots.
	pa := h.push(dingtalktest.BotMessage{App: h.dt.ClientID, Text: "my code word is apple"})
	r := h.waitReplies(1)
	pb := h.push(dingtalktest.BotMessage{App: appB, Text: "what is my code word?"})
	r = h.waitReplies(2)
	byMsg := map[string]dingtalktest.Reply{}
	for _, rep := range r {
		byMsg[rep.MsgID] = rep
	}
	if a := byMsg[pa.MsgID]; a.App != h.dt.ClientID || !strings.Contains(a.Text, "apple") {
		t.Errorf("reply to A's message = %+v, want it through app A's webhook", a)
	}
	if b := byMsg[pb.MsgID]; b.App != appB || !strings.Contains(b.Text, "code word?") {
		t.Errorf("reply to B's message = %+v, want it through app B's webhook", b)
	}
	if sends := h.dt.OpenAPISends(); len(sends) != 0 {
		t.Errorf("OpenAPI sends %+v; both answers had a fresh webhook", sends)
	}
	// Two conversations: bot B's model call carries nothing said to A.
	reqs := h.llm.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model calls, want 2", len(reqs))
	}
	if reqs[0].Model != "gpt-4o-mini" || reqs[1].Model != "gpt-big" {
		t.Errorf("models called: A %q, B %q; want the default for A, B's settings.model_name for B", reqs[0].Model, reqs[1].Model)
	}
	for _, m := range reqs[1].Messages {
		if strings.Contains(m.Content, "apple") {
			t.Errorf("bot B's conversation holds what the user told bot A: %q", m.Content)
		}
	}

	// Each bot's conversations and chats are its own, on disk too.
	for _, want := range []string{
		"sessions/dingtalk-work~direct~" + dingtalktest.DefaultSenderStaffID,
		"sessions/dingtalk-sales~direct~" + dingtalktest.DefaultSenderStaffID,
		"state/dingtalk-work/dingtalk-routes",
		"state/dingtalk-sales/dingtalk-routes",
	} {
		if !hasFile(t, h.dataDir, want) {
			t.Errorf("data dir lacks %s*", want)
		}
	}
	bots := healthBots(t, h)
	for name, channel := range map[string]string{"work": "dingtalk-work", "sales": "dingtalk-sales"} {
		b := bots[name]
		if b["channel"] != channel || b["state"] != "connected" || b["last_message"] == nil {
			t.Errorf("/health bot %s = %v", name, b)
		}
	}
	code, out, errOut := runCLI(t, nil, "", "status", "--config", h.cfgPath)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"as the running gateway reports them", "work: connected, last message 20", "sales: connected, last message 20",
		"channel dingtalk-work", "channel dingtalk-sales", "model big"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut+h.logs.String(), appBSecret) {
		t.Error("bot B's secret reached the output or the logs")
	}
}

// waitBotStates waits until /health reports each bot in its state. The
// gateway offers no event to wait on from outside, so this polls, with a
// generous deadline.
func waitBotStates(t *testing.T, h *gatewayHarness, want map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		bots := healthBots(t, h)
		ok := true
		for name, state := range want {
			ok = ok && bots[name]["state"] == state
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("bots %v, want states %v", bots, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A bot whose secret DingTalk refuses does not stop the other one; it is
// reported by name with the keys to fix, in the log, /health and status.
func TestGatewayTwoBotsOneRefused(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.dt.AddApp(appB, appBSecret)
	twoBots(t, h, "wrong-secret", nil)
	h.start()
	p := h.push(dingtalktest.BotMessage{App: h.dt.ClientID, Text: "still there?"})
	if r := h.waitReplies(1); r[0].MsgID != p.MsgID || r[0].App != h.dt.ClientID {
		t.Errorf("reply = %+v", r[0])
	}
	waitBotStates(t, h, map[string]string{"work": "connected", "sales": "credentials rejected"})
	logs := h.logs.String()
	if !strings.Contains(logs, `bot=sales`) || !strings.Contains(logs, "channel_list.sales.settings.client_secret") {
		t.Errorf("log does not name the refused bot and the key to fix:\n%s", logs)
	}
	_, out, _ := runCLI(t, nil, "", "status", "--config", h.cfgPath)
	if !strings.Contains(out, "sales: credentials rejected") {
		t.Errorf("status:\n%s", out)
	}
	if strings.Contains(logs+out, "wrong-secret") {
		t.Error("the refused secret reached the logs")
	}
	if code := h.stop(); code != 0 {
		t.Errorf("exit %d after a clean stop", code)
	}
}

// When every bot is refused, the gateway stops with each bot's error, as
// a single bot with a wrong secret always did.
func TestGatewayAllBotsRefused(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.dt.AddApp(appB, appBSecret)
	twoBots(t, h, "wrong-secret", nil)
	h.dt.SetCredentials(h.dt.ClientID, "rotated") // work's secret is now wrong too
	// Bounded: a regression that keeps running fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr testutil.SyncBuffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := e.execute(ctx, []string{"gateway", "--config", h.cfgPath})
	errOut := stderr.String()
	if ctx.Err() != nil {
		t.Fatalf("gateway still running after 60 s with every bot refused:\n%s", errOut)
	}
	if code == 0 {
		t.Fatal("exit 0 with every bot refused")
	}
	for _, want := range []string{`DingTalk bot "work"`, `DingTalk bot "sales"`, "check channel_list.work.settings.client_id/client_secret", "check channel_list.sales.settings.client_id/client_secret", "credentials rejected"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// hasFile reports whether dir holds a file whose path (relative, with
// '/') starts with prefix.
func hasFile(t *testing.T, dir, prefix string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && strings.HasPrefix(filepath.ToSlash(rel), prefix) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A single bot keeps the layout of every earlier release, in the v0.2.6
// layout and as a version 3 entry whatever its name: session keys
// "dingtalk:…", routes in state/.
func TestGatewayOneBotKeepsLegacyLayout(t *testing.T) {
	for _, v3 := range []bool{false, true} {
		t.Run(fmt.Sprintf("version3=%v", v3), func(t *testing.T) {
			h := newGatewayHarness(t, harnessOptions{})
			if v3 {
				oneV3Bot(t, h, "work")
			}
			h.start()
			h.push(dingtalktest.BotMessage{Text: "hello"})
			h.waitReplies(1)
			h.stop()
			for _, want := range []string{"sessions/dingtalk~direct~" + dingtalktest.DefaultSenderStaffID, "state/dingtalk-routes"} {
				if !hasFile(t, h.dataDir, want) {
					t.Errorf("data dir lacks %s*", want)
				}
			}
			if hasFile(t, h.dataDir, "sessions/dingtalk-") || hasFile(t, h.dataDir, "state/dingtalk-work") {
				t.Error("a single bot wrote files under its own name")
			}
		})
	}
}

// oneV3Bot rewrites the harness config as version 3 with its one bot
// named name.
func oneV3Bot(t *testing.T, h *gatewayHarness, name string) {
	t.Helper()
	cfg := configJSON(t, h)
	old := cfg["channels"].(map[string]any)["dingtalk"].(map[string]any)
	delete(cfg, "channels")
	cfg["version"] = 3
	cfg["channel_list"] = map[string]any{name: map[string]any{"enabled": true, "type": "dingtalk",
		"settings": map[string]any{"client_id": old["client_id"], "client_secret": old["client_secret"], "api_base": old["api_base"]}}}
	writeConfigJSON(t, h, cfg)
}

// A reload applies each bot's own settings to that bot only: taking the
// user off the sales bot's allow_from stops its answers there, while the
// work bot goes on answering the same user.
func TestGatewayTwoBotsReload(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.dt.AddApp(appB, appBSecret)
	twoBots(t, h, appBSecret, nil)
	reloaded := h.withReloads(nil)
	h.start()
	waitBotStates(t, h, map[string]string{"work": "connected", "sales": "connected"})

	cfg := configJSON(t, h)
	cfg["channel_list"].(map[string]any)["sales"].(map[string]any)["allow_from"] = []string{"someone-else"}
	out, _ := json.Marshal(cfg)
	h.writeConfig(out)
	if err := waitReload(t, reloaded); err != nil {
		t.Fatalf("reload: %v", err)
	}

	refused := h.push(dingtalktest.BotMessage{App: appB, Text: "to sales"})
	if _, ok := findAck(h.dt, refused.MessageID); !ok {
		t.Fatal("sales did not ack the message")
	}
	answered := h.push(dingtalktest.BotMessage{App: h.dt.ClientID, Text: "to work"})
	r := h.waitReplies(1)
	if r[0].MsgID != answered.MsgID || r[0].App != h.dt.ClientID {
		t.Errorf("reply = %+v, want the work bot's answer", r[0])
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "sender not in allow_from") || !strings.Contains(logs, refused.MsgID) {
		t.Errorf("the sales bot did not refuse the user after the reload:\n%s", logs)
	}
	for _, rep := range h.dt.Replies() {
		if rep.MsgID == refused.MsgID || rep.App == appB {
			t.Errorf("the sales bot answered after the reload: %+v", rep)
		}
	}
}
