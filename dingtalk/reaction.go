package dingtalk

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"picoclaw/dingtalk/openapi"
	"picoclaw/internal/stack"
)

// DefaultReactionTimeout bounds one reaction call: a reaction that comes
// late is no use, and it must never hold up an answer.
const DefaultReactionTimeout = 5 * time.Second

// maxThinking bounds the messages wearing the reaction at once; beyond it
// new turns go without (a turn that never answers would otherwise leave
// its entry behind for good).
const maxThinking = 1024

// thinkingFix is what the one warning about a failing reaction tells the
// operator to do.
const thinkingFix = "the app may lack the robot message permission " +
	"(企业内机器人发送消息权限, qyapi_robot_sendmsg; DingTalk's error names the scope it requires): " +
	"grant it in the DingTalk developer console, or set channels.dingtalk.thinking_reaction to false"

// thinking is the "🤔思考中" reaction on messages being answered: put on
// as a turn starts, taken off once its answer is delivered. Every call is
// best effort, in the background, bounded by a short timeout; a failure
// is logged (once at warn) and changes nothing else.
type thinking struct {
	api     *openapi.Client
	log     *slog.Logger
	on      bool
	timeout time.Duration
	ctx     context.Context // ends at Close: calls in flight stop
	cancel  context.CancelFunc
	warned  atomic.Bool

	mu     sync.Mutex
	active map[string]*reaction // by msgId
	closed bool
	wg     sync.WaitGroup
}

type reaction struct {
	conversationID string
	placed         chan struct{} // closed once the reply call returned
	ok             bool          // written before placed is closed
}

func newThinking(api *openapi.Client, log *slog.Logger, on bool, timeout time.Duration) *thinking {
	if timeout <= 0 {
		timeout = DefaultReactionTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &thinking{api: api, log: log, on: on, timeout: timeout, ctx: ctx, cancel: cancel, active: map[string]*reaction{}}
}

// StartThinking puts the thinking reaction on the user's message msgID,
// if channels.dingtalk.thinking_reaction is on and the message is known
// (its conversation id is needed; a message replayed after a restart is
// not known and goes without). It returns at once.
func (c *Channel) StartThinking(msgID string) {
	t := c.thinking
	if !t.on || msgID == "" {
		return
	}
	r, ok := c.routes.message(msgID)
	if !ok || r.conversationID == "" {
		return
	}
	t.mu.Lock()
	if t.closed || t.active[msgID] != nil || len(t.active) >= maxThinking {
		t.mu.Unlock()
		return
	}
	re := &reaction{conversationID: r.conversationID, placed: make(chan struct{})}
	t.active[msgID] = re
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		defer close(re.placed)
		stack.Grow() // an HTTPS call: grow once, not in several copies
		ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
		defer cancel()
		err := t.api.ReplyEmotion(ctx, re.conversationID, msgID, openapi.ThinkingEmotion)
		re.ok = err == nil
		t.failed("put on", msgID, err)
	}()
}

// StopThinking takes the thinking reaction off msgID again, once it is
// on (it waits for the call putting it on). It returns at once; without a
// reaction on msgID it does nothing.
func (c *Channel) StopThinking(msgID string) {
	t := c.thinking
	t.mu.Lock()
	re := t.active[msgID]
	delete(t.active, msgID)
	if re == nil || t.closed {
		t.mu.Unlock()
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		select {
		case <-re.placed:
		case <-t.ctx.Done():
			return
		}
		if !re.ok {
			return
		}
		stack.Grow() // an HTTPS call: grow once, not in several copies
		ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
		defer cancel()
		t.failed("take off", msgID, t.api.RecallEmotion(ctx, re.conversationID, msgID, openapi.ThinkingEmotion))
	}()
}

// failed logs a reaction failure: the first at warn with the fix, the
// rest at debug.
func (t *thinking) failed(what, msgID string, err error) {
	if err == nil || t.ctx.Err() != nil {
		return
	}
	if t.warned.CompareAndSwap(false, true) {
		t.log.Warn("dingtalk: thinking reaction failed; answers are not affected ("+thinkingFix+")",
			"action", what, "msg_id", msgID, "err", err)
		return
	}
	t.log.Debug("dingtalk: thinking reaction failed", "action", what, "msg_id", msgID, "err", err)
}

// close stops new reactions, cancels the calls in flight and waits for
// them.
func (t *thinking) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
}
