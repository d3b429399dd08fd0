package agent

import (
	"context"
	"testing"

	"picoclaw"
)

// A picture with no text reaches the model as an image, and history keeps
// a text stand-in: an empty user message would make the next request to
// OpenAI-compatible APIs fail for the whole chat.
func TestPictureOnlyMessage(t *testing.T) {
	p := answer("a cat", "")
	h := newHarness(t, p, nil)
	in := testIn
	in.Text = ""
	in.Attachments = []picoclaw.Attachment{{Kind: "image", MIMEType: "image/png", Data: []byte("\x89PNG fake")}}
	if err := h.agent.Turn(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d model calls, want 1", len(reqs))
	}
	last := reqs[0].Messages[len(reqs[0].Messages)-1]
	if last.Role != picoclaw.RoleUser || len(last.Images) != 1 {
		t.Errorf("model got %+v, want the user message with its image", last)
	}
	for _, m := range h.store.history(in.SessionKey()) {
		if m.Role == picoclaw.RoleUser && m.Content == "" {
			t.Errorf("history holds an empty user message: %+v", m)
		}
	}
}
