package dingtalk

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
)

// AI card streaming (channels.dingtalk.card_template_id): the answer of a
// turn fills in a card as the model writes it. The card is created at the
// turn's first streamed piece, updated at most once per CardUpdate with
// the whole text so far (a lost update is healed by the next), and
// finalized with the shaped answer when the agent sends it. Any card
// failure leaves the answer to the usual markdown reply.
const (
	// CardContentKey is the template variable the answer streams into
	// (the one of DingTalk's AI card template used by its connectors).
	CardContentKey = "msgContent"
	// DefaultCardUpdate is the least time between two updates of a card.
	DefaultCardUpdate = 300 * time.Millisecond
	// maxCardStreams bounds the cards waiting for their answer (a turn
	// that ends without one, e.g. a command, leaves its entry); past it
	// the oldest is ended, marked stopped.
	maxCardStreams = 256
	// reasoningTail is how much of the reasoning a card shows while no
	// answer text has come yet.
	reasoningTail = 300
	// cardStoppedLine ends a card whose turn gave no answer.
	cardStoppedLine = "\n\n（已停止 / stopped）"
)

// cardFix is the log's advice when a card fails.
const cardFix = "grant Card.Instance.Write and Card.Streaming.Write to the app in the DingTalk developer console, " +
	"and check that channels.dingtalk.card_template_id is a template of this app; answers go as markdown meanwhile"

// errNoCard: the turn streamed nothing, so no card was made.
var errNoCard = errors.New("no card for this answer")

// CardStats counts the card calls, the hidden cost of streaming.
type CardStats struct {
	Created   int64 // cards created (createAndDeliver)
	Updates   int64 // streaming calls, finalizes included
	Finalized int64 // answers delivered as a finished card
	Fallbacks int64 // answers sent as markdown because a card failed
}

// cardStreams is the channel's cards in progress, by the msgId answered.
type cardStreams struct {
	mu     sync.Mutex
	byMsg  map[string]*cardStream
	wg     sync.WaitGroup
	warned atomic.Bool
	// pausedUntil (unix ns): after DingTalk refused a card for good (no
	// permission, no such template) answers skip cards until then, so a
	// misconfigured app does not spend a failing API call per answer.
	pausedUntil atomic.Int64

	created, updates, finalized, fallbacks atomic.Int64
}

// cardPause is how long cards stay off after a refusal: long enough to
// save the API quota, short enough to pick up a granted permission.
const cardPause = 10 * time.Minute

// pauseCardsIfRefused pauses cards when err is DingTalk refusing the card
// itself (a 4xx that waiting does not fix).
func (c *Channel) pauseCardsIfRefused(err error) {
	var apiErr *openapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status < 400 || apiErr.Status >= 500 || picoclaw.IsRetryable(err) {
		return
	}
	c.cards.pausedUntil.Store(time.Now().Add(cardPause).UnixNano())
}

// cardsPaused says whether a recent refusal keeps cards off.
func (c *Channel) cardsPaused() bool {
	return time.Now().UnixNano() < c.cards.pausedUntil.Load()
}

// CardStats returns the card counters (for /health).
func (c *Channel) CardStats() CardStats {
	return CardStats{Created: c.cards.created.Load(), Updates: c.cards.updates.Load(),
		Finalized: c.cards.finalized.Load(), Fallbacks: c.cards.fallbacks.Load()}
}

// StreamSink returns the sink in's turn streams into: an AI card in its
// chat, or nil when cards are off (no card_template_id), the message is
// not a DingTalk one, or the chat cannot hold a card (a direct chat
// without a staff id).
func (c *Channel) StreamSink(in picoclaw.Inbound) picoclaw.StreamSink {
	if c.cfg.CardTemplateID == "" || in.Channel != c.name || in.MessageID == "" || c.cardsPaused() {
		return nil
	}
	space := openapi.CardSpace{Group: in.Chat.Kind == picoclaw.ChatGroup, ID: in.Chat.ID}
	if space.ID == "" || (!space.Group && !isStaffID(space.ID)) {
		return nil
	}
	every := c.cfg.CardUpdate
	if every <= 0 {
		every = DefaultCardUpdate
	}
	s := &cardStream{c: c, msgID: in.MessageID, chat: in.Chat, space: space, track: "picoclaw-" + rand.Text(),
		every: every, showReasoning: c.cfg.ReasoningChannelID == "", born: time.Now(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{})}
	cs := &c.cards
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byMsg == nil {
		cs.byMsg = map[string]*cardStream{}
	}
	if len(cs.byMsg) >= maxCardStreams {
		var oldest *cardStream
		for _, o := range cs.byMsg {
			if oldest == nil || o.born.Before(oldest.born) {
				oldest = o
			}
		}
		delete(cs.byMsg, oldest.msgID)
		c.endLater(oldest)
	}
	if old := cs.byMsg[in.MessageID]; old != nil {
		// The same message run again (a retry after a stop or crash): the
		// old card ends, the new turn streams into a new one.
		c.endLater(old)
	}
	cs.byMsg[in.MessageID] = s
	return s
}

// endLater ends s, marked stopped, off the caller's goroutine; Close
// waits for it. Callers hold c.cards.mu.
func (c *Channel) endLater(s *cardStream) {
	c.cards.wg.Add(1)
	go func() {
		defer c.cards.wg.Done()
		_ = s.end(c.replies.ctx, "", true)
	}()
}

// takeCard removes and returns the card of msgID, if any.
func (c *Channel) takeCard(msgID string) *cardStream {
	if msgID == "" {
		return nil
	}
	c.cards.mu.Lock()
	defer c.cards.mu.Unlock()
	s := c.cards.byMsg[msgID]
	delete(c.cards.byMsg, msgID)
	return s
}

// EndCard ends the card of a turn that failed or was stopped without an
// answer: it is finalized showing what it had, marked stopped. A later
// answer for the message (an apology) goes as markdown.
func (c *Channel) EndCard(ctx context.Context, msgID string) {
	if s := c.takeCard(msgID); s != nil {
		s.end(ctx, "", true)
	}
}

// finishCard delivers out's answer as the final state of its card. It
// reports false when there is no card or the card failed: the caller then
// sends the usual markdown reply.
func (c *Channel) finishCard(ctx context.Context, out picoclaw.Outbound) bool {
	s := c.takeCard(out.ReplyTo)
	if s == nil {
		return false
	}
	err := s.end(ctx, ShapeMarkdown(out.Text), false)
	switch {
	case err == nil:
		c.cards.finalized.Add(1)
		return true
	case errors.Is(err, errNoCard):
		return false
	}
	c.cards.fallbacks.Add(1)
	c.pauseCardsIfRefused(err)
	if c.cards.warned.CompareAndSwap(false, true) {
		c.log.Warn("dingtalk: AI card failed; answering with a markdown message", "reply_to", out.ReplyTo, "err", err, "fix", cardFix,
			"cards_paused", c.cardsPaused())
	} else {
		c.log.Info("dingtalk: AI card failed; answering with a markdown message", "reply_to", out.ReplyTo, "err", err)
	}
	return false
}

// closeCards stops every card's updates (Close): cards stay as they are.
func (c *Channel) closeCards() {
	c.cards.mu.Lock()
	all := c.cards.byMsg
	c.cards.byMsg = nil
	c.cards.mu.Unlock()
	for _, s := range all {
		s.halt()
	}
	c.cards.wg.Wait()
}

// cardStream is the card of one turn: StreamSink's deltas go into it, a
// goroutine (started by the first delta) creates it and sends updates.
type cardStream struct {
	c             *Channel
	msgID, track  string
	chat          picoclaw.Peer // whose members may press stop (cardstop.go)
	space         openapi.CardSpace
	every         time.Duration
	showReasoning bool
	born          time.Time

	wake   chan struct{} // a new view to send (buffered, 1)
	stop   chan struct{} // closed by halt
	exited chan struct{} // closed when the goroutine ends

	mu        sync.Mutex
	started   bool // the goroutine runs (or ran)
	halted    bool
	round     strings.Builder // the current reply's text
	reasoning string          // its tail
	status    string
	created   bool  // DingTalk accepted the card
	err       error // why the card failed, if it did
	sent      string
}

var _ picoclaw.StreamSink = (*cardStream)(nil)

// Delta adds d to the card; the first one starts the card's goroutine.
func (s *cardStream) Delta(d picoclaw.Delta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halted {
		return
	}
	s.round.WriteString(d.Content)
	if d.Reasoning != "" && s.showReasoning {
		s.reasoning = tail(s.reasoning+d.Reasoning, reasoningTail)
	}
	s.startLocked()
	s.poke()
}

// Round starts a new reply: its text replaces this one's, under status.
func (s *cardStream) Round(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halted {
		return
	}
	s.round.Reset()
	s.reasoning = ""
	s.status = status
	if s.started {
		s.poke()
	}
}

func (s *cardStream) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *cardStream) startLocked() {
	if s.started {
		return
	}
	s.started = true
	cs := &s.c.cards
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		defer close(s.exited)
		s.run(s.c.replies.ctx)
	}()
}

// view is what the card shows now.
func (s *cardStream) viewLocked() string {
	var b strings.Builder
	if s.status != "" {
		b.WriteString("> " + s.status + "\n\n")
	}
	switch {
	case s.round.Len() > 0:
		b.WriteString(ShapeMarkdown(s.round.String()))
	case s.reasoning != "":
		b.WriteString("> 🤔 " + strings.ReplaceAll(strings.TrimSpace(s.reasoning), "\n", " "))
	}
	return b.String()
}

// run creates the card, then sends the view whenever it changed, at most
// once per s.every, until halted.
func (s *cardStream) run(ctx context.Context) {
	api := s.c.openapi
	s.mu.Lock()
	first := s.viewLocked()
	s.mu.Unlock()
	err := api.CreateCard(ctx, openapi.Card{TemplateID: s.c.cfg.CardTemplateID, OutTrackID: s.track, Space: s.space,
		Data: map[string]string{CardContentKey: first, CardStopShowKey: "true"}})
	s.mu.Lock()
	s.created, s.err, s.sent = err == nil, err, first
	s.mu.Unlock()
	if err != nil {
		s.c.pauseCardsIfRefused(err)
		return
	}
	s.c.cards.created.Add(1)
	t := time.NewTimer(s.every)
	defer t.Stop()
	for {
		// The throttle first: the card was just created or updated.
		select {
		case <-t.C:
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		}
		select {
		case <-s.wake:
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		view := s.viewLocked()
		same := view == s.sent
		s.mu.Unlock()
		if !same {
			err := api.StreamCard(ctx, openapi.CardUpdate{OutTrackID: s.track, Key: CardContentKey, Content: view, Full: true})
			if err != nil {
				// Updates stop; the final state is still tried.
				s.c.pauseCardsIfRefused(err)
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.c.cards.updates.Add(1)
			s.mu.Lock()
			s.sent = view
			s.mu.Unlock()
		}
		t.Reset(s.every)
	}
}

// halt stops the updates and waits for the goroutine, if any.
func (s *cardStream) halt() {
	s.mu.Lock()
	started := s.started
	if !s.halted {
		s.halted = true
		close(s.stop)
	}
	s.mu.Unlock()
	if started {
		<-s.exited
	}
}

// end stops the updates and finalizes the card with answer ("": what it
// shows, marked stopped when stopped is set). errNoCard: nothing was
// streamed, so there is no card.
func (s *cardStream) end(ctx context.Context, answer string, stopped bool) error {
	s.halt()
	s.mu.Lock()
	started, created, cerr := s.started, s.created, s.err
	if answer == "" {
		answer = s.viewLocked()
		if stopped {
			answer += cardStoppedLine
		}
	}
	s.mu.Unlock()
	switch {
	case !started:
		return errNoCard
	case !created:
		return cerr
	}
	err := s.c.openapi.StreamCard(ctx, openapi.CardUpdate{OutTrackID: s.track, Key: CardContentKey,
		Content: answer, Full: true, Finalize: true})
	if err != nil {
		return err
	}
	s.c.cards.updates.Add(1)
	return nil
}

// tail keeps the last n bytes of s, on a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}
