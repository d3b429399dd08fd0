package agent

import (
	"context"
	"strings"
	"testing"

	"picoclaw"
)

// A chat's Route adds its prompt after the system prompt, under its own
// heading, and sends its turns (and /model) to its own model; other chats
// keep the defaults. The Route is asked per turn, so a change applies to
// the next turn.
func TestRoutePromptAndModel(t *testing.T) {
	def := answer("from default", "")
	other := answer("from other", "")
	route := Route{Prompt: "Answer in haiku.", Provider: other, Model: "other-model-id", ModelEntry: "other"}
	h := newHarness(t, def, func(c *Config) {
		c.Route = func(in picoclaw.Inbound) Route {
			if in.Chat.Kind == picoclaw.ChatGroup {
				return route
			}
			return Route{}
		}
	})

	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	if n := len(def.requests()); n != 0 {
		t.Errorf("default model called %d times for a routed group", n)
	}
	reqs := other.requests()
	if len(reqs) != 1 {
		t.Fatalf("routed model called %d times, want 1", len(reqs))
	}
	if reqs[0].Model != "other-model-id" {
		t.Errorf("request model = %q, want other-model-id", reqs[0].Model)
	}
	sys := reqs[0].Messages[0].Content
	i := strings.Index(sys, routePromptHeading)
	if i < 0 || !strings.HasSuffix(strings.TrimSpace(sys), "Answer in haiku.") || i < strings.Index(sys, "## Current context") {
		t.Errorf("system prompt does not end with the chat's instructions under their heading:\n%s", sys)
	}

	direct := testIn
	direct.Chat = picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "staff01"}
	direct.MessageID = "msg2"
	if err := h.agent.Turn(context.Background(), direct); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	if reqs := def.requests(); len(reqs) != 1 || strings.Contains(reqs[0].Messages[0].Content, "haiku") || reqs[0].Model != "test-model" {
		t.Errorf("direct chat requests = %+v, want one to the default model without the group's prompt", reqs)
	}

	model := testIn
	model.Text, model.MessageID = "/model", "msg3"
	if err := h.agent.Turn(context.Background(), model); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	sent := h.out.sent()
	if last := sent[len(sent)-1].Text; !strings.Contains(last, "other-model-id (model_list: other)") {
		t.Errorf("/model in the routed group = %q", last)
	}

	route = Route{} // the config changed: the group is back to the defaults
	next := testIn
	next.MessageID = "msg4"
	if err := h.agent.Turn(context.Background(), next); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	if n := len(def.requests()); n != 2 {
		t.Errorf("default model called %d times after the route was dropped, want 2", n)
	}
}
