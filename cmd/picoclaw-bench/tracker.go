package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"picoclaw/dingtalk/dingtalktest"
)

// sent is one pushed message and what became of it.
type sent struct {
	msgID     string // data.msgId, which the fake stamps on every reply to it
	messageID string // the frame's header messageId, which the ack echoes
	conv      string
	token     string // unique text the echoed answer must carry
	pushed    time.Time
	answered  time.Time // zero until the first right reply
	replies   int       // right replies; more than one is a duplicate
}

// tracker matches the fake DingTalk's webhook replies to pushed messages.
// Replies are read in batches (WaitRepliesFrom), so an answer's time is
// when the tracker saw it: at most one wake-up later than its arrival.
type tracker struct {
	dt       *dingtalktest.Server
	phase    string
	expected int

	mu       sync.Mutex
	byMsg    map[string]*sent
	order    []*sent
	seen     int // replies of the fake already looked at
	answered int
	dups     int // extra right replies
	wrong    int // replies to our messages without the message's token (another chat's answer, an apology)
	stray    int // replies to messages this tracker did not send
	all      chan struct{}
}

func newTracker(dt *dingtalktest.Server, phase string, expected int) *tracker {
	return &tracker{dt: dt, phase: phase, expected: expected, byMsg: map[string]*sent{},
		seen: dt.ReplyCount(), all: make(chan struct{})}
}

// push sends message i of the phase from sender (a private chat) and
// records it; the record exists before the frame leaves, so no answer can
// come back unknown.
func (t *tracker) push(i int, sender string) (*sent, error) {
	token := fmt.Sprintf("%s-%06d", t.phase, i)
	m := dingtalktest.BotMessage{SenderStaffID: sender, SenderNick: "压测用户",
		MsgID: "msgbench" + token + "==", Text: "请用一句话回答 " + token + "：今天适合喝什么茶？"}
	s := &sent{msgID: m.MsgID, token: token}
	t.mu.Lock()
	t.byMsg[s.msgID] = s
	t.order = append(t.order, s)
	s.pushed = time.Now()
	t.mu.Unlock()
	p, err := t.dt.PushBotMessage(m)
	if err != nil {
		return nil, fmt.Errorf("bench: push %s: %w", token, err)
	}
	t.mu.Lock()
	s.messageID, s.conv = p.MessageID, p.ConversationID
	t.mu.Unlock()
	return s, nil
}

// collect reads replies until ctx ends.
func (t *tracker) collect(ctx context.Context) {
	for {
		t.mu.Lock()
		from := t.seen
		t.mu.Unlock()
		reps, err := t.dt.WaitRepliesFrom(ctx, from)
		if err != nil {
			return
		}
		t.match(reps, time.Now())
	}
}

// match takes the replies that came after the ones already seen.
func (t *tracker) match(reps []dingtalktest.Reply, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range reps {
		s, ok := t.byMsg[r.MsgID]
		switch {
		case !ok:
			t.stray++
		case !strings.Contains(r.Text, s.token) || (s.conv != "" && r.ConversationID != s.conv):
			t.wrong++
		case s.replies > 0:
			s.replies++
			t.dups++
		default:
			s.replies, s.answered = 1, now
			t.answered++
			t.checkDoneLocked()
		}
	}
	t.seen += len(reps)
}

// wait blocks until every expected message has its answer or ctx ends.
func (t *tracker) wait(ctx context.Context) error {
	select {
	case <-t.all:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// progress returns the answers so far.
func (t *tracker) progress() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.answered
}

// outcome summarises the tracker: latencies of the answered messages,
// first push and last answer, and the failures.
type outcome struct {
	latencies            []time.Duration
	firstPush, lastReply time.Time
	pushed, answered     int
	lost, dups, wrong    int
	stray                int
}

func (t *tracker) outcome() outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := outcome{pushed: len(t.order), answered: t.answered, dups: t.dups, wrong: t.wrong, stray: t.stray}
	for _, s := range t.order {
		if o.firstPush.IsZero() || s.pushed.Before(o.firstPush) {
			o.firstPush = s.pushed
		}
		if s.answered.IsZero() {
			o.lost++
			continue
		}
		o.latencies = append(o.latencies, s.answered.Sub(s.pushed))
		if s.answered.After(o.lastReply) {
			o.lastReply = s.answered
		}
	}
	return o
}

// acksMissing counts pushed frames the fake holds no ack for.
func (t *tracker) acksMissing() int {
	acked := map[string]bool{}
	for _, a := range t.dt.Acks() {
		acked[a.MessageID] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, s := range t.order {
		if s.messageID != "" && !acked[s.messageID] {
			n++
		}
	}
	return n
}

// expect sets the number of answers wait waits for, once the count of
// pushed messages is known.
func (t *tracker) expect(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expected = n
	t.checkDoneLocked()
}

// checkDoneLocked closes all once the expected answers are in; expected
// 0 means not known yet.
func (t *tracker) checkDoneLocked() {
	if t.expected <= 0 || t.answered < t.expected {
		return
	}
	select {
	case <-t.all:
	default:
		close(t.all)
	}
}
