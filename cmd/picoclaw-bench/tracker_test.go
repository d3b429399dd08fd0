package main

import (
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
)

func TestTrackerMatch(t *testing.T) {
	dt := dingtalktest.NewServer()
	t.Cleanup(dt.Close)
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name    string
		replies []dingtalktest.Reply
		want    outcome // latencies, times and acks not compared
		done    bool
	}{
		{
			name: "right answers close the wait",
			replies: []dingtalktest.Reply{
				{MsgID: "m1", ConversationID: "c1", Text: "echo t-000001"},
				{MsgID: "m2", ConversationID: "c2", Text: "echo t-000002"},
			},
			want: outcome{pushed: 2, answered: 2},
			done: true,
		},
		{
			name: "second reply is a duplicate",
			replies: []dingtalktest.Reply{
				{MsgID: "m1", ConversationID: "c1", Text: "t-000001"},
				{MsgID: "m1", ConversationID: "c1", Text: "t-000001 again"},
			},
			want: outcome{pushed: 2, answered: 1, lost: 1, dups: 1},
		},
		{
			name: "another chat's text or conversation is wrong, unknown msgId stray",
			replies: []dingtalktest.Reply{
				{MsgID: "m1", ConversationID: "c1", Text: "t-000002"},
				{MsgID: "m2", ConversationID: "c1", Text: "t-000002"},
				{MsgID: "m9", ConversationID: "c9", Text: "t-000009"},
			},
			want: outcome{pushed: 2, lost: 2, wrong: 2, stray: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(dt, "t", 2)
			for i, id := range []string{"m1", "m2"} {
				s := &sent{msgID: id, conv: []string{"c1", "c2"}[i], token: []string{"t-000001", "t-000002"}[i], pushed: t0}
				tr.byMsg[id], tr.order = s, append(tr.order, s)
			}
			tr.match(tt.replies, t0.Add(5*time.Millisecond))
			got := tr.outcome()
			if got.pushed != tt.want.pushed || got.answered != tt.want.answered || got.lost != tt.want.lost ||
				got.dups != tt.want.dups || got.wrong != tt.want.wrong || got.stray != tt.want.stray {
				t.Errorf("outcome = %+v, want %+v", got, tt.want)
			}
			for _, l := range got.latencies {
				if l != 5*time.Millisecond {
					t.Errorf("latency %v, want 5ms", l)
				}
			}
			select {
			case <-tr.all:
				if !tt.done {
					t.Error("wait finished with answers missing")
				}
			default:
				if tt.done {
					t.Error("wait not finished with every answer in")
				}
			}
		})
	}
}

func TestTrackerExpectLater(t *testing.T) {
	dt := dingtalktest.NewServer()
	t.Cleanup(dt.Close)
	tr := newTracker(dt, "s", 0)
	s := &sent{msgID: "m1", token: "s-000001", pushed: time.Now()}
	tr.byMsg["m1"], tr.order = s, []*sent{s}
	tr.match([]dingtalktest.Reply{{MsgID: "m1", Text: "s-000001"}}, time.Now())
	select {
	case <-tr.all:
		t.Fatal("wait finished before the expected count was known")
	default:
	}
	tr.expect(1)
	tr.expect(1) // twice must not panic on a closed channel
	select {
	case <-tr.all:
	default:
		t.Fatal("wait not finished once the one expected answer was in")
	}
}

// With --cards an answer is a finished card, matched by the token it
// echoes: a second card for it is a duplicate, one without a token is
// wrong, one with an unknown token of the phase stray.
func TestTrackerMatchCards(t *testing.T) {
	dt := dingtalktest.NewServer()
	t.Cleanup(dt.Close)
	t0 := time.Unix(1000, 0)
	tr := newTracker(dt, "t", 2)
	for _, token := range []string{"t-000001", "t-000002"} {
		s := &sent{msgID: token, token: token, pushed: t0}
		tr.byMsg[s.msgID], tr.byToken[token], tr.order = s, s, append(tr.order, s)
	}
	tr.matchCards([]string{"请用一句话回答 t-000001：茶", "st-00001 t-0000x then t-000002", "t-000001 again",
		"抱歉，出错了", "t-000009"}, 7, t0.Add(time.Millisecond))
	got := tr.outcome()
	if got.answered != 2 || got.dups != 1 || got.wrong != 1 || got.stray != 1 || got.lost != 0 {
		t.Errorf("outcome = %+v, want 2 answered, 1 duplicate, 1 wrong, 1 stray", got)
	}
	if tr.seenCards != 7 {
		t.Errorf("seenCards = %d, want 7", tr.seenCards)
	}
	select {
	case <-tr.all:
	default:
		t.Error("wait not finished with every answer in")
	}
}
