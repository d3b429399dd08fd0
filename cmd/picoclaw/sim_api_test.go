package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"picoclaw/provider/providertest"
	"picoclaw/sim"
)

// The sim's HTTP and SSE API, as the page uses it, against the real
// gateway and the fake DingTalk, without a browser.
func TestSimAPI(t *testing.T) {
	h := startSim(t)
	h.waitConnected()
	zhang, li := h.user("张三"), h.user("李四")
	dm := h.chat("张三").ID
	group := h.chat("产品讨论组")

	t.Run("private message answered", func(t *testing.T) {
		h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "hello **sim**"})
		m := h.waitBot(dm, "echo: hello **sim**")
		if m.Via != "webhook" || !strings.Contains(m.HTML, "<strong>sim</strong>") {
			t.Errorf("answer = via %q html %q; want the session webhook, markdown rendered", m.Via, m.HTML)
		}
	})

	t.Run("group answers only an @mention", func(t *testing.T) {
		h.send(sim.SendRequest{Chat: group.ID, From: li, Text: "not for the bot"})
		h.send(sim.SendRequest{Chat: group.ID, From: li, Text: "@PicoClaw what now", AtBot: true})
		m := h.waitBot(group.ID, "echo: what now")
		// The gateway takes one chat's messages in order: the first was
		// decided on before the answer to the second was sent.
		if got := h.botMsgs(group.ID); len(got) != 1 {
			t.Errorf("group has %d bot messages %+v; want only the answer to the @mention", len(got), got)
		}
		if !strings.Contains(m.Text, "@李四") {
			t.Errorf("answer %q does not @mention the asker by name", m.Text)
		}
	})

	t.Run("long answer arrives in parts", func(t *testing.T) {
		h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "/long 5"})
		h.waitBot(dm, "End of /long 5")
		var parts []sim.Msg
		for _, m := range h.botMsgs(dm) {
			if strings.Contains(m.Text, "Paragraph") || strings.Contains(m.Text, "End of /long") {
				parts = append(parts, m)
			}
		}
		if len(parts) < 2 {
			t.Fatalf("the long answer came in %d message(s); want several", len(parts))
		}
		for _, p := range parts {
			if n := utf8.RuneCountInString(p.Text); n > 20000 {
				t.Errorf("a part has %d characters; DingTalk takes at most 20,000", n)
			}
		}
	})

	t.Run("picture downloaded by the gateway", func(t *testing.T) {
		var b bytes.Buffer
		_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2)))
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		_ = mw.WriteField("chat", dm)
		_ = mw.WriteField("from", zhang)
		fw, _ := mw.CreateFormFile("file", "dot.png")
		_, _ = fw.Write(b.Bytes())
		_ = mw.Close()
		resp, err := http.Post(h.url+"/api/upload", mw.FormDataContentType(), &form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("upload: HTTP %d", resp.StatusCode)
		}
		h.waitLog("downloaded the file")
		h.waitBot(dm, "1 picture(s) received")
	})

	t.Run("reasoning goes to the reasoning chat", func(t *testing.T) {
		h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "/think about it"})
		if m := h.waitBot(sim.ReasoningChatID, "echo model does not think"); m.Via != "openapi" {
			t.Errorf("reasoning came via %q, want openapi", m.Via)
		}
		h.waitBot(dm, "echo: about it")
	})

	t.Run("expired webhook: answered by OpenAPI", func(t *testing.T) {
		h.post("/api/fault", sim.FaultRequest{Fault: sim.FaultExpireWebhooks}, nil)
		h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "after expiry"})
		if m := h.waitBot(dm, "echo: after expiry"); m.Via != "openapi" {
			t.Errorf("answer came via %q, want openapi", m.Via)
		}
		h.waitLog("errcode 300001")
	})

	t.Run("OpenAPI outage: delivered once it recovers", func(t *testing.T) {
		h.post("/api/fault", sim.FaultRequest{Fault: sim.FaultOpenAPIDown}, nil)
		h.post("/api/fault", sim.FaultRequest{Fault: sim.FaultExpireWebhooks}, nil)
		h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "during the outage"})
		h.waitLog("(batchSend) → HTTP 503")
		h.post("/api/fault", sim.FaultRequest{Fault: sim.FaultOpenAPIUp}, nil)
		if m := h.waitBot(dm, "echo: during the outage"); m.Via != "openapi" {
			t.Errorf("answer came via %q, want openapi", m.Via)
		}
	})

	t.Run("dropped Stream connection: the gateway reconnects", func(t *testing.T) {
		h.post("/api/fault", sim.FaultRequest{Fault: sim.FaultDropStream}, nil)
		h.waitLog("Stream socket #2 connected")
		h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "still there?"})
		h.waitBot(dm, "echo: still there?")
	})

	t.Run("a new user and a new group", func(t *testing.T) {
		var u sim.User
		if code, body := h.post("/api/users", sim.AddUserRequest{Nick: "王五"}, &u); code != http.StatusOK {
			t.Fatalf("add user: %d %s", code, body)
		}
		wang := h.chat("王五").ID
		h.send(sim.SendRequest{Chat: wang, From: u.StaffID, Text: "I am new"})
		h.waitBot(wang, "echo: I am new")
		var g sim.Chat
		if code, body := h.post("/api/groups", sim.AddGroupRequest{Title: "新群", Members: []string{u.StaffID, zhang}}, &g); code != http.StatusOK {
			t.Fatalf("add group: %d %s", code, body)
		}
		h.send(sim.SendRequest{Chat: g.ID, From: u.StaffID, Text: "@PicoClaw hello group", AtBot: true, AtUsers: []string{zhang}})
		h.waitBot(g.ID, "echo: hello group")
	})

	t.Run("bad input names the field", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			body any
			want string
		}{
			{"/api/send", sim.SendRequest{Chat: dm, From: li, Text: "hi"}, "from: expected the staff id of a member"},
			{"/api/send", sim.SendRequest{Chat: "nope", From: zhang, Text: "hi"}, "chat: expected a conversation id"},
			{"/api/send", sim.SendRequest{Chat: dm, From: zhang, Text: " "}, "text: expected 1 to"},
			{"/api/fault", sim.FaultRequest{Fault: "explode"}, `fault: expected one of`},
			{"/api/groups", sim.AddGroupRequest{Title: "x", Members: []string{zhang}}, "members: expected at least 2"},
		} {
			code, body := h.post(tc.path, tc.body, nil)
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Errorf("POST %s %+v = %d %s; want 400 with %q", tc.path, tc.body, code, body, tc.want)
			}
		}
	})
}

// With a card template, answers stream into an AI card that the page
// fills in and marks done.
func TestSimCard(t *testing.T) {
	h := startSim(t, "--card-template", "sim-template.schema")
	h.waitConnected()
	zhang, dm := h.user("张三"), h.chat("张三").ID
	h.send(sim.SendRequest{Chat: dm, From: zhang, Text: "/long 1"})
	h.waitEvent("a finished card with the answer", func(e sim.Event) bool {
		return e.Msg != nil && e.Msg.Card && e.Msg.Done && e.Msg.Chat == dm && strings.Contains(e.Msg.Text, "End of /long 1")
	})
	for _, m := range h.botMsgs(dm) {
		if !m.Card {
			t.Errorf("a bot message besides the card: %+v", m)
		}
	}
	// Shown first as it was created, still streaming.
	first := h.waitEvent("the card", func(e sim.Event) bool { return e.Msg != nil && e.Msg.Card })
	if first.Msg.Done {
		t.Errorf("the card first showed as finished: %+v", first.Msg)
	}
}

// Without --model echo the sim answers with the config's model; the
// config's DingTalk credentials and allow_from are not used.
func TestSimConfigModel(t *testing.T) {
	llm := providertest.NewOpenAI()
	t.Cleanup(llm.Close)
	llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		return providertest.Reply{Content: "the configured model heard: " + r.LastUser()}
	})
	cfg := fmt.Sprintf(`{"version": 2,
	  "agents": {"defaults": {"model_name": "gpt"}},
	  "model_list": [{"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_base": %q, "api_key": "sk-test-key"}],
	  "channels": {"dingtalk": {"enabled": true, "client_id": "real-id", "client_secret": "real-secret", "allow_from": ["someone-else"]}}}`, llm.URL())
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startSimWith(t, "--config", path)
	h.waitConnected()
	if got := h.get("/api/info"); !strings.Contains(got, `"model gpt (openai/gpt-4o-mini)"`) || strings.Contains(got, `"echo":true`) {
		t.Errorf("info = %s; want the configured model, not the echo", got)
	}
	h.send(sim.SendRequest{Chat: h.chat("Alice").ID, From: h.user("Alice"), Text: "hi"})
	h.waitBot(h.chat("Alice").ID, "the configured model heard: hi")
}

// Bad flags are refused before anything starts, naming the flag.
func TestSimBadFlags(t *testing.T) {
	ws := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"model_list": [{"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_key": "sk-live-123"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "echo", "--workspace", ws, "--data-dir", filepath.Join(ws, "data")}, "expected neither inside the other"},
		{[]string{"--config", cfg, "--model", "nope"}, `--model: expected echo or a model_name`},
		{[]string{"--config", filepath.Join(ws, "missing.json")}, "sim --model echo"},
		{[]string{"--config", empty}, "sim --model echo"},
		{[]string{"--model", "echo", "--addr", "127.0.0.1:99999"}, "(--addr)"},
	} {
		var out, errs bytes.Buffer
		e := &env{stdout: &out, stderr: &errs, getenv: func(string) string { return "" }}
		code := e.execute(t.Context(), append([]string{"sim", "--addr", "127.0.0.1:0"}, tc.args...))
		if code != 1 || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("sim %v = exit %d, stderr %q; want 1 and %q", tc.args, code, errs.String(), tc.want)
		}
	}
}
