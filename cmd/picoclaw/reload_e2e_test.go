package main

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// editConfig rewrites the harness's config file through edit, replacing it
// at once (a rename) as editors and config tools do.
func (h *gatewayHarness) editConfig(edit func(cfg, dingtalk map[string]any)) {
	h.t.Helper()
	data, err := os.ReadFile(h.cfgPath)
	if err != nil {
		h.t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		h.t.Fatal(err)
	}
	edit(cfg, cfg["channels"].(map[string]any)["dingtalk"].(map[string]any))
	if data, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		h.t.Fatal(err)
	}
	h.writeConfig(data)
}

func (h *gatewayHarness) writeConfig(data []byte) {
	h.t.Helper()
	tmp := h.cfgPath + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.cfgPath); err != nil {
		h.t.Fatal(err)
	}
}

// withReloads makes the harness's gateway poll its config every few
// milliseconds (or only on hup, when hup is set) and report each reload.
func (h *gatewayHarness) withReloads(hup chan os.Signal) chan error {
	reloaded := make(chan error, 8)
	h.tuning.reloaded = func(err error) { reloaded <- err }
	h.tuning.reloadInterval = 10 * time.Millisecond
	if hup != nil {
		h.tuning.hup = hup
		h.tuning.reloadInterval = time.Hour // only the signal reloads
	}
	return reloaded
}

func waitReload(t *testing.T, reloaded <-chan error) error {
	t.Helper()
	select {
	case err := <-reloaded:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not reload its config within 30s")
		return nil
	}
}

// A group the config leaves out becomes answered once the file changes,
// without a restart, with the system_prompt and model_name the new file
// gives it: the prompt reaches the model after the default prompt, and the
// turn goes to the other model's server.
func TestGatewayReloadsChangedConfigFile(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	other := providertest.NewOpenAI()
	t.Cleanup(other.Close)
	h.editConfig(func(cfg, dt map[string]any) {
		cfg["model_list"] = append(cfg["model_list"].([]any), map[string]any{
			"model_name": "big", "model": "openai/big-model", "api_base": other.URL(), "api_keys": []string{"sk-other"}})
		dt["group_allow_from"] = []string{"cidTeam"}
	})
	reloaded := h.withReloads(nil)
	h.start()

	// Pushed in order on one connection: the first is refused before the
	// second is taken.
	h.push(dingtalktest.BotMessage{Group: true, ConversationID: "cidNew", InAtList: true, Text: "anyone there?"})
	h.push(dingtalktest.BotMessage{Group: true, ConversationID: "cidTeam", InAtList: true, Text: "team question"})
	if r := h.waitReplies(1); r[0].ConversationID != "cidTeam" {
		t.Fatalf("first reply went to %q, want cidTeam (cidNew is not answered yet)", r[0].ConversationID)
	}

	h.editConfig(func(_, dt map[string]any) {
		dt["group_allow_from"] = []string{"cidTeam", "cidNew"}
		dt["groups"] = map[string]any{"cidNew": map[string]any{"system_prompt": "Answer like a pirate.\nNever mention ships.", "model_name": "big"}}
	})
	if err := waitReload(t, reloaded); err != nil {
		t.Fatalf("reload: %v", err)
	}
	h.push(dingtalktest.BotMessage{Group: true, ConversationID: "cidNew", InAtList: true, Text: "now?"})
	if r := h.waitReplies(2); r[1].ConversationID != "cidNew" || !strings.Contains(r[1].Text, "now?") {
		t.Fatalf("reply after reload = %+v", r[1])
	}
	reqs := other.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the group's model got %d requests, want 1 (default model got %d)", len(reqs), len(h.llm.Requests()))
	}
	if reqs[0].Model != "big-model" || reqs[0].APIKey != "sk-other" {
		t.Errorf("group request went to model %q with key %q", reqs[0].Model, reqs[0].APIKey)
	}
	sys := reqs[0].Messages[0].Content
	if i := strings.Index(sys, "Answer like a pirate.\nNever mention ships."); i < 0 || i < strings.Index(sys, "You are PicoClaw") {
		t.Errorf("the group's system_prompt is not after the default prompt:\n%s", sys)
	}
	for _, r := range h.llm.Requests() {
		if strings.Contains(r.Messages[0].Content, "pirate") {
			t.Error("another group's turn got cidNew's system_prompt")
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "config reloaded") || !strings.Contains(logs, "channels.dingtalk.group_allow_from") ||
		!strings.Contains(logs, "channels.dingtalk.groups.cidNew") {
		t.Errorf("no reload line naming the changed keys:\n%s", logs)
	}
}

// On SIGHUP the gateway re-reads the file: a broken one is refused with
// one error line and the old settings keep answering; a good one applies
// the reloadable keys at once and names the changed keys that need a
// restart (never their values).
func TestGatewayReloadOnSIGHUP(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{allowFrom: []string{"0123456789012345"}})
	hup := make(chan os.Signal, 1)
	reloaded := h.withReloads(hup)
	h.start()
	original, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	h.editConfig(func(_, dt map[string]any) {
		dt["groups"] = map[string]any{"cidX": map[string]any{"model_name": "no-such-model"}}
		dt["allow_from"] = []string{"someone-else"}
	})
	hup <- syscall.SIGHUP
	if err := waitReload(t, reloaded); err == nil || !strings.Contains(err.Error(), "channels.dingtalk.groups.cidX.model_name") ||
		!strings.Contains(err.Error(), `"no-such-model" is not in model_list (known: gpt)`) {
		t.Fatalf("reload of a config naming an unknown model: %v", err)
	}
	h.writeConfig([]byte(`{"channels": {"dingtalk": {`)) // truncated
	hup <- syscall.SIGHUP
	if err := waitReload(t, reloaded); err == nil {
		t.Fatal("a truncated config was applied")
	}
	// The old allow_from still holds.
	h.push(dingtalktest.BotMessage{Text: "still answered?"})
	if r := h.waitReplies(1); !strings.Contains(r[0].Text, "still answered?") {
		t.Errorf("reply = %+v", r[0])
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "config reload failed"); n != 2 {
		t.Errorf("%d reload error lines for two broken versions, want one each:\n%s", n, logs)
	}

	h.writeConfig(original)
	h.editConfig(func(_, dt map[string]any) {
		dt["allow_from"] = []string{"someone-else"}
		dt["client_secret"] = "a-new-secret"
	})
	hup <- syscall.SIGHUP
	if err := waitReload(t, reloaded); err != nil {
		t.Fatalf("reload: %v", err)
	}
	// Refused now: pushed before a message that is answered, on the same
	// connection, so the refusal comes first.
	h.push(dingtalktest.BotMessage{Text: "refused now"})
	h.push(dingtalktest.BotMessage{Text: "from the new list", SenderStaffID: "someone-else"})
	if r := h.waitReplies(2); !strings.Contains(r[1].Text, "from the new list") {
		t.Errorf("second reply = %+v", r[1])
	}
	if n := len(h.dt.Replies()); n != 2 {
		t.Errorf("%d replies, want 2 (the old user is refused)", n)
	}
	logs = h.logs.String()
	line := ""
	for l := range strings.Lines(logs) {
		if strings.Contains(l, "config reloaded") {
			line = l
		}
	}
	if !strings.Contains(line, "channels.dingtalk.allow_from") || !strings.Contains(line, "needs_restart=[channels.dingtalk.client_secret]") {
		t.Errorf("reload line = %q", line)
	}
	if strings.Contains(logs, "a-new-secret") || strings.Contains(logs, "test-client-secret") {
		t.Error("a client secret reached the logs")
	}
}
