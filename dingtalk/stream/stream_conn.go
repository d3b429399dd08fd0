package stream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"picoclaw"
)

const (
	dialTimeout  = 15 * time.Second
	writeTimeout = 10 * time.Second
	// readLimit is far above any bot message (a reply body is capped at
	// 20 kB) yet keeps a broken peer from exhausting memory.
	readLimit = 4 << 20
)

// streamConn is one websocket: a reader goroutine (readLoop) and a dead-man
// goroutine (watchdog). coder/websocket's Write and Ping are safe for
// concurrent use, so acks and pings need no extra lock.
type streamConn struct {
	n  int // 1 for the first socket of a Run, 2 for the next…
	ws *websocket.Conn

	activity   chan struct{} // a frame arrived; buffered 1, never blocks
	healthy    chan struct{} // closed once a frame was handled or the socket stayed up
	disconnect chan struct{} // closed on a SYSTEM disconnect frame
	draining   chan struct{} // closed by drain: the watchdog starts the drain deadline
	done       chan struct{} // closed when the reader has stopped

	once struct{ healthy, disconnect, drain sync.Once }

	mu  sync.Mutex
	err error // first failure; read after done
}

func newStreamConn(ws *websocket.Conn) *streamConn {
	return &streamConn{
		ws:         ws,
		activity:   make(chan struct{}, 1),
		healthy:    make(chan struct{}),
		disconnect: make(chan struct{}),
		draining:   make(chan struct{}),
		done:       make(chan struct{}),
	}
}

// connect opens a connection (POST connections/open) and dials its socket.
func (s *Client) connect(ctx context.Context) (*streamConn, error) {
	ep, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	sep := "?"
	if strings.Contains(ep.Endpoint, "?") {
		sep = "&"
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, ep.Endpoint+sep+"ticket="+url.QueryEscape(ep.Ticket),
		&websocket.DialOptions{HTTPClient: s.cfg.HTTPClient})
	if err != nil {
		// Dial errors quote the URL, ticket included: redact before wrapping.
		err = redactErr(err, ep.Ticket, url.QueryEscape(ep.Ticket), s.cfg.ClientSecret)
		return nil, fmt.Errorf("dingtalk: dial stream: %w: %w", picoclaw.ErrTemporary, err)
	}
	ws.SetReadLimit(readLimit)
	return newStreamConn(ws), nil
}

// readLoop reads and handles frames until the socket fails or is closed.
// Frames are handled here, one at a time: the handler is fast by contract,
// and this keeps goroutines bounded and acks in order.
func (s *Client) readLoop(c *streamConn) {
	defer func() {
		_ = c.ws.CloseNow()
		close(c.done)
	}()
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.fail(fmt.Errorf("read: %w", err))
			return
		}
		select {
		case c.activity <- struct{}{}:
		default:
		}
		if typ != websocket.MessageText {
			s.log.Debug("dingtalk stream: ignoring binary message", "len", len(data))
			continue
		}
		res := s.handleFrame(data)
		if res.ack != nil {
			if err := c.write(res.ack); err != nil {
				c.fail(fmt.Errorf("write ack: %w", err))
				return
			}
		}
		if res.valid {
			c.markHealthy()
		}
		if res.disconnect {
			c.once.disconnect.Do(func() { close(c.disconnect) })
		}
	}
}

// watchdog is the dead-man timer: after idle without an inbound frame it
// sends a websocket ping; no pong within pingTimeout closes the socket,
// which ends readLoop and makes Run reconnect. It also enforces the drain
// deadline of a socket told to disconnect.
func (c *streamConn) watchdog(idle, pingTimeout, drain time.Duration) {
	t := time.NewTimer(idle)
	defer t.Stop()
	draining := c.draining
	var deadline <-chan time.Time
	for {
		select {
		case <-c.done:
			return
		case <-draining:
			draining = nil
			dt := time.NewTimer(drain)
			defer dt.Stop()
			deadline = dt.C
		case <-deadline:
			c.closeNormal()
			return
		case <-c.activity:
			t.Reset(idle)
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.fail(fmt.Errorf("dead-man: no pong within %s after %s of silence: %w", pingTimeout, idle, err))
				_ = c.ws.CloseNow()
				return
			}
			t.Reset(idle)
		}
	}
}

func (c *streamConn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// fail records the first cause of the socket's end.
func (c *streamConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *streamConn) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return fmt.Errorf("dingtalk: stream: socket %d closed", c.n)
	}
	return fmt.Errorf("dingtalk: stream: socket %d: %w", c.n, c.err)
}

func (c *streamConn) markHealthy() {
	c.once.healthy.Do(func() { close(c.healthy) })
}

func (c *streamConn) wasHealthy() bool {
	select {
	case <-c.healthy:
		return true
	default:
		return false
	}
}

// startDrain lets the socket keep reading until the server closes it or
// the watchdog's drain deadline passes.
func (c *streamConn) startDrain() {
	c.once.drain.Do(func() { close(c.draining) })
}

// closeNormal sends a normal-closure close frame and waits (bounded by the
// library) for the peer's answer.
func (c *streamConn) closeNormal() {
	c.fail(errClosedByUs)
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
}

// errClosedByUs is the cause recorded when picoclaw itself closed a socket.
var errClosedByUs = errors.New("closed by client")

func (c *streamConn) closeNow() {
	c.fail(errClosedByUs)
	_ = c.ws.CloseNow()
}
