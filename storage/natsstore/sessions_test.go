package natsstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"picoclaw"
	"picoclaw/agent"
)

var (
	_ picoclaw.SessionStore = (*Sessions)(nil)
	_ agent.Compactor       = (*Sessions)(nil)
)

const alice = picoclaw.SessionKey("dingtalk:direct:0123.A b*>") // every character a subject token must not hold

func TestAppendLoadAcrossStores(t *testing.T) {
	url := startSingle(t).URL()
	a, b := mustOpen(t, url).Sessions(), mustOpen(t, url).Sessions()

	wantHistory(t, a, alice)
	mustAppend(t, a, alice, user("hi"), assistant("hello"))
	wantHistory(t, a, alice, "hi", "hello")
	// b never saw the key; it reads what a wrote.
	wantHistory(t, b, alice, "hi", "hello")
	mustAppend(t, b, alice, user("how are you"), assistant("fine"))
	// a's cache holds the first turn: its Load must see b's turn.
	wantHistory(t, a, alice, "hi", "hello", "how are you", "fine")
}

func TestStaleWriterIsRejected(t *testing.T) {
	url := startSingle(t).URL()
	a, b := mustOpen(t, url).Sessions(), mustOpen(t, url).Sessions()
	ctx := testContext(t)

	wantHistory(t, a, alice)
	mustAppend(t, a, alice, user("one"))
	wantHistory(t, b, alice, "one") // b takes the chat over
	mustAppend(t, b, alice, user("two"))

	// a still believes it owns the chat: its late write must not land.
	err := a.Append(ctx, alice, assistant("late answer"))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Append = %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), string(alice)) {
		t.Errorf("error %q does not name the session", err)
	}
	// A retry without reading first still fails: nothing is adopted unseen.
	if err := a.Append(ctx, alice, assistant("late answer")); !errors.Is(err, ErrConflict) {
		t.Fatalf("second stale Append = %v, want ErrConflict", err)
	}
	if err := a.Replace(ctx, alice, []picoclaw.Message{user("summary")}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Replace = %v, want ErrConflict", err)
	}
	wantHistory(t, b, alice, "one", "two")
	// After reading, a may write again.
	wantHistory(t, a, alice, "one", "two")
	mustAppend(t, a, alice, assistant("three"))
	wantHistory(t, b, alice, "one", "two", "three")
}

// A /new is the user's wish whatever the history holds: it is obeyed on a
// gateway that has not read the chat lately (a command reads no history),
// and the other gateway's next write must read first.
func TestResetFromAnOutdatedView(t *testing.T) {
	url := startSingle(t).URL()
	a, b := mustOpen(t, url).Sessions(), mustOpen(t, url).Sessions()
	ctx := testContext(t)
	wantHistory(t, a, alice)
	mustAppend(t, a, alice, user("one"))
	wantHistory(t, b, alice, "one")
	mustAppend(t, b, alice, user("two"))

	if err := a.Reset(ctx, alice); err != nil {
		t.Fatalf("Reset from an outdated view: %v", err)
	}
	wantHistory(t, a, alice)
	if err := b.Append(ctx, alice, assistant("late")); !errors.Is(err, ErrConflict) {
		t.Fatalf("Append over a reset it did not read = %v, want ErrConflict", err)
	}
	mustAppend(t, a, alice, user("fresh start"))
	wantHistory(t, b, alice, "fresh start")
}

func TestReplaceAndReset(t *testing.T) {
	url := startSingle(t).URL()
	st := mustOpen(t, url)
	a, b := st.Sessions(), mustOpen(t, url).Sessions()
	ctx := testContext(t)

	wantHistory(t, a, alice)
	for i := range 5 {
		mustAppend(t, a, alice, user(fmt.Sprint("q", i)), assistant(fmt.Sprint("a", i)))
	}
	wantHistory(t, b, alice, "q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3", "q4", "a4")
	if err := a.Replace(ctx, alice, []picoclaw.Message{user("summary"), assistant("a4")}); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	wantHistory(t, a, alice, "summary", "a4")
	wantHistory(t, b, alice, "summary", "a4")
	// The rollup dropped the older records from the stream.
	info, err := st.sessionsStream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d records after Replace, want 1", info.State.Msgs)
	}
	mustAppend(t, b, alice, user("after"))
	wantHistory(t, a, alice, "summary", "a4", "after")

	if err := a.Reset(ctx, alice); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	wantHistory(t, a, alice)
	wantHistory(t, b, alice)
	mustAppend(t, b, alice, user("fresh"))
	wantHistory(t, a, alice, "fresh")

	keys, err := a.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if !slices.Equal(keys, []picoclaw.SessionKey{alice}) {
		t.Errorf("Keys = %q, want [%q]", keys, alice)
	}
}

func TestRestartSeesHistory(t *testing.T) {
	c := startSingle(t)
	first := mustOpen(t, c.URL())
	wantHistory(t, first.Sessions(), alice)
	mustAppend(t, first.Sessions(), alice, user("remember me"), assistant("noted"))
	c.Stop(0)
	c.Restart(0)
	// A new gateway reads what was written before the server restarted.
	wantHistory(t, mustOpen(t, c.URL()).Sessions(), alice, "remember me", "noted")
	// The first one reconnected on its own and writes on.
	mustAppend(t, first.Sessions(), alice, user("still here?"))
	wantHistory(t, mustOpen(t, c.URL()).Sessions(), alice, "remember me", "noted", "still here?")
}

func TestLoadLongHistory(t *testing.T) {
	url := startSingle(t).URL()
	a := mustOpen(t, url).Sessions()
	wantHistory(t, a, alice)
	var want []string
	for i := range 300 {
		// Another chat's records interleave, as in a busy stream.
		mustAppend(t, a, keyN(i%3), user("other"))
		mustAppend(t, a, alice, user(fmt.Sprint("m", i)))
		want = append(want, fmt.Sprint("m", i))
	}
	cold := mustOpen(t, url)
	wantHistory(t, cold.Sessions(), alice, want...)
	// The reader it opened is gone, not left for the server to expire.
	info, err := cold.sessionsStream.Info(testContext(t))
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if info.State.Consumers != 0 {
		t.Errorf("%d consumers left on the stream after Load, want 0", info.State.Consumers)
	}
}

func TestRecordOverMaxPayload(t *testing.T) {
	st := mustOpen(t, startSingle(t).URL())
	ss := st.Sessions()
	big := strings.Repeat("x", int(st.Conn().MaxPayload()))
	err := ss.Append(testContext(t), alice, user(big))
	if err == nil {
		t.Fatal("Append of a record over the max payload succeeded")
	}
	for _, want := range []string{string(alice), "max payload", fmt.Sprint(st.Conn().MaxPayload())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	wantHistory(t, ss, alice)
}

func TestLoadedHistoryIsACopy(t *testing.T) {
	ss := mustOpen(t, startSingle(t).URL()).Sessions()
	wantHistory(t, ss, alice)
	mustAppend(t, ss, alice, user("original"))
	got, err := ss.Load(testContext(t), alice)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got[0].Content = "changed by the caller"
	wantHistory(t, ss, alice, "original")
}

// TestSeqTableIsBounded: a gateway that has seen many chats (most of
// them long moved to other gateways) remembers at most maxSeqs of them,
// and the ones still in use survive.
func TestSeqTableIsBounded(t *testing.T) {
	var tab seqTable
	hot := picoclaw.SessionKey("dingtalk:direct:hot")
	tab.set(hot, 7)
	for i := range 3 * maxSeqs {
		tab.set(picoclaw.SessionKey(fmt.Sprintf("dingtalk:direct:%d", i)), uint64(i))
		if i%1000 == 0 {
			if seq, ok := tab.get(hot); !ok || seq != 7 {
				t.Fatalf("after %d other chats the chat in use reads %d, %v; want 7", i, seq, ok)
			}
		}
		if n := tab.len(); n > maxSeqs {
			t.Fatalf("%d sequences remembered after %d chats, want at most %d", n, i+1, maxSeqs)
		}
	}
	if _, ok := tab.get("dingtalk:direct:0"); ok {
		t.Error("a chat unused for 3×maxSeqs others is still remembered")
	}
}

// TestAppendWhoseAnswerWasLostIsNotAConflict: an append stored by NATS
// whose answer never came back is sent again with the same id; a single
// server checks the expected sequence first and refuses it, but the
// record is there: the append succeeded, and the next one goes on from it.
func TestAppendWhoseAnswerWasLostIsNotAConflict(t *testing.T) {
	url := startSingle(t).URL()
	st := mustOpen(t, url)
	a := st.Sessions()
	ctx := testContext(t)
	wantHistory(t, a, alice)
	a.newID = func() string { return "rec-1" }
	// The first attempt, stored; its answer lost.
	data, err := json.Marshal(record{V: recordVersion, Op: opAppend, Msgs: []picoclaw.Message{user("one")}})
	if err != nil {
		t.Fatal(err)
	}
	subj, err := a.subject(alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.js.PublishMsg(ctx, &nats.Msg{Subject: subj, Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{"rec-1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, alice, user("one")); err != nil {
		t.Fatalf("retried Append of a stored record = %v, want success", err)
	}
	a.newID = nuid.Next
	mustAppend(t, a, alice, assistant("two"))
	wantHistory(t, mustOpen(t, url).Sessions(), alice, "one", "two")
}
