package sim

import (
	"testing"

	"picoclaw/dingtalk/dingtalktest"
)

// The gateway's warnings and errors reach the side log, whole lines
// however they are written; its info lines do not.
func TestLogWriter(t *testing.T) {
	s := newTestSim(t)
	w := s.LogWriter()
	for _, p := range []string{
		"time=2026-01-01T00:00:00Z level=INFO msg=\"gateway starting\"\n",
		"time=2026-01-01T00:00:00Z level=WARN msg=\"dingtalk: session webhook ",
		"failed; sending by OpenAPI\" part=1\ntime=2026-01-01T00:00:01Z level=ERROR msg=boom\n",
	} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	var got []LogEntry
	evs, _ := s.hub.since(0)
	for _, e := range evs {
		if e.Log != nil {
			got = append(got, *e.Log)
		}
	}
	want := []LogEntry{
		{Level: "warn", Text: `gateway: "dingtalk: session webhook failed; sending by OpenAPI" part=1`},
		{Level: "error", Text: "gateway: boom"},
	}
	if len(got) != len(want) {
		t.Fatalf("side log = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Level != want[i].Level || got[i].Text != want[i].Text {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// newTestSim is a Sim on a fresh fake DingTalk, both closed with the test.
func newTestSim(t *testing.T) *Sim {
	t.Helper()
	fake := dingtalktest.NewServer()
	t.Cleanup(fake.Close)
	s, err := New(Config{Fake: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
