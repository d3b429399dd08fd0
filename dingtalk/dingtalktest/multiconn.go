package dingtalktest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Several connections for one app. DingTalk lets an app hold several
// Stream connections (several processes, or a pool in one) and pushes each
// message down ONE of them chosen at random (Stream protocol FAQ:
// "通过随机策略选取一个Stream通道推送"); a bot message left unacked is
// pushed again later, possibly down another connection, with a new header
// messageId and the same data.msgId (seen 16–60 s later); and the same
// message sometimes arrives twice even when acked. All of it is off by
// default: the fake pushes to the most recent live socket, once.

// PushPolicy chooses the socket a push goes down.
type PushPolicy int

const (
	// PushLatest sends every push down the most recent open, not draining
	// socket of the app: the default, which single-connection tests expect.
	PushLatest PushPolicy = iota
	// PushRandom sends each push down an open, not draining socket of the
	// app chosen uniformly at random, as DingTalk does. SetSeed makes the
	// choices reproducible.
	PushRandom
)

// DefaultMaxRedeliveries is how many times an unacked bot message is
// pushed again, after the first push, before the fake gives up.
const DefaultMaxRedeliveries = 3

// defaultSeed seeds the fake's random choices until SetSeed.
const defaultSeed = 1

// Delivery is one push of a bot message down a socket.
type Delivery struct {
	MsgID        string // data.msgId: the same on every delivery of a message
	MessageID    string // header messageId: new for each delivery, as DingTalk does
	ConnectionID string
	// Attempt numbers the message's deliveries: 1 for the first push,
	// 2 for the next (a redelivery, a duplicate or a Redeliver call)…
	Attempt    int
	Redelivery bool // pushed again by the fake because no ack came in time
	Duplicate  bool // an injected extra copy (SetDuplicateRate)
}

// multiConn is the state of the several-connection behaviour, guarded by
// Server.mu.
type multiConn struct {
	policy     PushPolicy
	rng        *rand.Rand
	delay      time.Duration // 0: no redelivery
	maxRedeliv int
	dupRate    float64
	dups       int
	deliveries []Delivery
	msgs       map[string]*trackedMsg // by data.msgId
	byHeader   map[string]string      // header messageId → data.msgId
	chats      map[string]*chatLog    // chat key → its messages
	replies    map[string]int         // data.msgId → replies counted
}

// trackedMsg is a pushed bot message waiting for its ack.
type trackedMsg struct {
	p           Pushed // the latest push: what a redelivery sends again
	attempts    int
	redelivered int
	acked       bool
	timer       *time.Timer
	// gen numbers the timers armed, so that one stopped too late (its
	// callback already waiting for the lock) does nothing.
	gen uint64
}

func newMultiConn() multiConn {
	return multiConn{
		rng:        rand.New(rand.NewPCG(defaultSeed, defaultSeed)),
		maxRedeliv: DefaultMaxRedeliveries,
		msgs:       map[string]*trackedMsg{},
		byHeader:   map[string]string{},
		chats:      map[string]*chatLog{},
		replies:    map[string]int{},
	}
}

// SetPushPolicy chooses where pushes go (bot messages, card callbacks,
// pings, disconnects, PushFrame). Safe at any time.
func (s *Server) SetPushPolicy(p PushPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mc.policy = p
}

// SetSeed reseeds the fake's random choices (PushRandom, redelivery
// targets, duplicates), so that a test sees the same sequence each run.
func (s *Server) SetSeed(seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mc.rng = rand.New(rand.NewPCG(seed, seed))
}

// SetRedelivery makes a bot message that no socket acked with code 200
// within delay be pushed again, down a random live socket of its app,
// until acked or pushed SetMaxRedeliveries times more. While no socket is
// live the message waits another delay. 0 (the default) turns it off;
// pushes made while it is off are never redelivered.
func (s *Server) SetRedelivery(delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mc.delay = max(delay, 0)
}

// SetMaxRedeliveries bounds how often one message is pushed again
// (default DefaultMaxRedeliveries).
func (s *Server) SetMaxRedeliveries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mc.maxRedeliv = max(n, 0)
}

// SetDuplicateRate makes each PushBotMessage, with probability p, push an
// extra copy of the message (same msgId, new messageId) right after the
// first, down a random live socket. 1 duplicates every message; 0 (the
// default) none.
func (s *Server) SetDuplicateRate(p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mc.dupRate = min(max(p, 0), 1)
}

// Duplicates counts the extra copies SetDuplicateRate pushed.
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mc.dups
}

// Deliveries returns every push of a bot message, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.mc.deliveries...)
}

// DeliveriesOf returns the pushes of the message with data.msgId msgID.
func (s *Server) DeliveriesOf(msgID string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveriesOfLocked(msgID)
}

func (s *Server) deliveriesOfLocked(msgID string) []Delivery {
	var out []Delivery
	for _, d := range s.mc.deliveries {
		if d.MsgID == msgID {
			out = append(out, d)
		}
	}
	return out
}

// WaitDeliveries waits until the message msgID was pushed at least n
// times and returns its deliveries.
func (s *Server) WaitDeliveries(ctx context.Context, msgID string, n int) ([]Delivery, error) {
	var out []Delivery
	err := s.waitFor(ctx, func() bool {
		t := s.mc.msgs[msgID]
		if t == nil || t.attempts < n {
			return false
		}
		out = s.deliveriesOfLocked(msgID)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for %d deliveries of %s: %w", n, msgID, err)
	}
	return out, nil
}

// Acked reports whether a delivery of message msgID was acked with code
// 200.
func (s *Server) Acked(msgID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mc.msgs[msgID]
	return t != nil && t.acked
}

// PendingRedeliveries counts the messages with a redelivery scheduled:
// none once every message is acked or has used up its redeliveries.
func (s *Server) PendingRedeliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

func (s *Server) pendingLocked() int {
	n := 0
	for _, t := range s.mc.msgs {
		if t.timer != nil {
			n++
		}
	}
	return n
}

// WaitRedeliveriesDone waits until no redelivery is scheduled: every
// message is acked or has been pushed its last time.
func (s *Server) WaitRedeliveriesDone(ctx context.Context) error {
	if err := s.waitFor(ctx, func() bool { return s.pendingLocked() == 0 }); err != nil {
		return fmt.Errorf("dingtalktest: wait for redeliveries to end: %w", err)
	}
	return nil
}

// pickLocked returns an open, not draining socket of app ("" for any):
// the most recent one, or under PushRandom (or when random is set) one
// chosen uniformly at random.
func (s *Server) pickLocked(app string, random bool) *wsConn {
	if !random && s.mc.policy != PushRandom {
		for i := len(s.conns) - 1; i >= 0; i-- {
			if c := s.conns[i]; c.usableFor(app) {
				return c
			}
		}
		return nil
	}
	var live []*wsConn
	for _, c := range s.conns {
		if c.usableFor(app) {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return live[s.mc.rng.IntN(len(live))]
}

// usableFor reports whether a push for app may go down c. Callers hold
// Server.mu.
func (c *wsConn) usableFor(app string) bool {
	return c.info.Open && !c.info.Draining && (app == "" || c.info.App == app)
}

// recordDeliveryLocked notes a push of p (MessageID and ConnectionID set)
// before it is sent, so that an ack finds it, and schedules its
// redelivery.
func (s *Server) recordDeliveryLocked(p Pushed, redelivery, duplicate bool) {
	t := s.mc.msgs[p.MsgID]
	if t == nil {
		t = &trackedMsg{}
		s.mc.msgs[p.MsgID] = t
	}
	if !duplicate {
		t.p = p
		t.p.Frame = nil // rebuilt on redelivery; not kept for every message
	}
	t.attempts++
	s.mc.byHeader[p.MessageID] = p.MsgID
	s.mc.deliveries = append(s.mc.deliveries, Delivery{
		MsgID: p.MsgID, MessageID: p.MessageID, ConnectionID: p.ConnectionID,
		Attempt: t.attempts, Redelivery: redelivery, Duplicate: duplicate,
	})
	if !duplicate {
		s.scheduleLocked(p.MsgID, t)
	}
	s.notifyLocked()
}

// scheduleLocked (re)arms t's redelivery timer when redelivery is on and
// t may still be pushed again.
func (s *Server) scheduleLocked(msgID string, t *trackedMsg) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if s.closed || t.acked || s.mc.delay <= 0 || t.redelivered >= s.mc.maxRedeliv {
		return
	}
	t.gen++
	gen := t.gen
	t.timer = time.AfterFunc(s.mc.delay, func() { s.redeliverUnacked(msgID, t, gen) })
}

// redeliverUnacked is t's timer: it pushes the message again unless an
// ack came meanwhile.
func (s *Server) redeliverUnacked(msgID string, t *trackedMsg, gen uint64) {
	s.mu.Lock()
	if s.closed || t.acked || t.gen != gen {
		s.mu.Unlock()
		return
	}
	t.timer = nil
	c := s.pickLocked(t.p.App, true)
	if c == nil {
		// DingTalk keeps the message until a connection comes back.
		s.scheduleLocked(msgID, t)
		s.notifyLocked()
		s.mu.Unlock()
		return
	}
	t.redelivered++
	p := t.p
	// Close waits for this push; closed is false, so Add happens before
	// Close's Wait.
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	// A socket that died meanwhile fails the send; the next timer retries.
	_, _ = s.pushDataAs(c, p, true, false)
}

// ackDeliveryLocked marks the message of header messageId id acked when
// code is 200, which ends its redeliveries.
func (s *Server) ackDeliveryLocked(id string, code int) {
	msgID, ok := s.mc.byHeader[id]
	if !ok || code != 200 {
		return
	}
	t := s.mc.msgs[msgID]
	t.acked = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// maybeDuplicate pushes an extra copy of p with probability
// SetDuplicateRate, down a random live socket of its app.
func (s *Server) maybeDuplicate(p Pushed) error {
	s.mu.Lock()
	if s.mc.dupRate <= 0 || s.mc.rng.Float64() >= s.mc.dupRate {
		s.mu.Unlock()
		return nil
	}
	c := s.pickLocked(p.App, true)
	if c == nil {
		s.mu.Unlock()
		return nil
	}
	s.mc.dups++
	s.mu.Unlock()
	_, err := s.pushDataAs(c, p, false, true)
	return err
}

// stopRedeliveriesLocked stops every timer, for Close.
func (s *Server) stopRedeliveriesLocked() {
	for _, t := range s.mc.msgs {
		if t.timer != nil {
			t.timer.Stop()
			t.timer = nil
		}
	}
}
