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

// tracker matches the fake DingTalk's webhook replies, and with --cards
// its finished AI cards, to pushed messages. Both are read in batches
// (WaitRepliesFrom, WaitCardUpdatesFrom), so an answer's time is when the
// tracker saw it: at most one wake-up later than its arrival.
type tracker struct {
	dt       *dingtalktest.Server
	phase    string
	expected int

	mu        sync.Mutex
	byMsg     map[string]*sent
	byToken   map[string]*sent
	order     []*sent
	seen      int // replies of the fake already looked at
	seenCards int // card streaming updates already looked at
	answered  int
	dups      int // extra right replies
	wrong     int // replies to our messages without the message's token (another chat's answer, an apology)
	stray     int // replies to messages this tracker did not send
	all       chan struct{}
}

func newTracker(dt *dingtalktest.Server, phase string, expected int) *tracker {
	return &tracker{dt: dt, phase: phase, expected: expected, byMsg: map[string]*sent{}, byToken: map[string]*sent{},
		seen: dt.ReplyCount(), seenCards: dt.CardUpdateCount(), all: make(chan struct{})}
}

// push sends message i of the phase from sender (a private chat) and
// records it; the record exists before the frame leaves, so no answer can
// come back unknown.
func (t *tracker) push(i int, sender string) (*sent, error) {
	token := fmt.Sprintf("%s-%0*d", t.phase, tokenDigits, i)
	m := dingtalktest.BotMessage{SenderStaffID: sender, SenderNick: "压测用户",
		MsgID: "msgbench" + token + "==", Text: "请用一句话回答 " + token + "：今天适合喝什么茶？"}
	s := &sent{msgID: m.MsgID, token: token}
	t.mu.Lock()
	t.byMsg[s.msgID] = s
	t.byToken[token] = s
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

// start collects answers in the background until ctx ends: the
// webhook's replies, and with cards the finished AI cards too.
func (t *tracker) start(ctx context.Context, cards bool) {
	go t.collect(ctx)
	if cards {
		go t.collectCards(ctx)
	}
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

// collectCards reads the AI cards that finished streaming until ctx
// ends: with a card template configured the answers go there, not to
// the webhook.
func (t *tracker) collectCards(ctx context.Context) {
	for {
		t.mu.Lock()
		from := t.seenCards
		t.mu.Unlock()
		ups, err := t.dt.WaitCardUpdatesFrom(ctx, from)
		if err != nil {
			return
		}
		now := time.Now()
		var done []string // what each finished card shows
		for _, u := range ups {
			if u.Finalize {
				text, _ := t.dt.CardContent(u.OutTrackID, u.Key)
				done = append(done, text)
			}
		}
		t.matchCards(done, len(ups), now)
	}
}

// match takes the replies that came after the ones already seen.
func (t *tracker) match(reps []dingtalktest.Reply, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range reps {
		s, ok := t.byMsg[r.MsgID]
		t.creditLocked(s, ok, ok && strings.Contains(r.Text, s.token) && (s.conv == "" || r.ConversationID == s.conv), now)
	}
	t.seen += len(reps)
}

// matchCards takes the texts of cards that finished among the next
// updates streaming updates. A card names no message, so its answer is
// matched by the token it echoes: one of this phase's that was not
// pushed is stray, none at all is wrong (an apology, another phase's).
func (t *tracker) matchCards(texts []string, updates int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, text := range texts {
		token, found := t.tokenIn(text)
		if !found {
			t.wrong++
			continue
		}
		s, ok := t.byToken[token]
		t.creditLocked(s, ok, true, now)
	}
	t.seenCards += updates
}

// tokenIn finds a token of this phase ("t-000042") in text.
func (t *tracker) tokenIn(text string) (string, bool) {
	prefix := t.phase + "-"
	for i := strings.Index(text, prefix); i >= 0; {
		end := i + len(prefix) + tokenDigits
		if end <= len(text) && allDigits(text[i+len(prefix):end]) {
			return text[i:end], true
		}
		next := strings.Index(text[i+1:], prefix)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return "", false
}

// tokenDigits is the width of a token's number (see push).
const tokenDigits = 6

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// creditLocked counts one answer for s (known: the tracker pushed it;
// right: it carries s's token, in s's chat).
func (t *tracker) creditLocked(s *sent, known, right bool, now time.Time) {
	switch {
	case !known:
		t.stray++
	case !right:
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
