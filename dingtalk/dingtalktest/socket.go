package dingtalktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// ErrNoConnection is returned when a push finds no live stream socket.
var ErrNoConnection = errors.New("dingtalktest: no live stream connection")

// ConnInfo describes one accepted stream socket.
type ConnInfo struct {
	Number   int    // 1 for the first socket accepted, 2 for the next…
	ID       string // the connectionId header of frames sent on it
	App      string // the client id of the app whose ticket opened it
	Open     bool
	Draining bool // a disconnect frame was sent; nothing new is pushed here
	Zombie   bool
	// CloseCode is the websocket close status the client sent (1000 for a
	// normal closure), or -1 when the socket ended without one. Valid once
	// Open is false.
	CloseCode int
}

// RecordedAck is one upstream message the client sent on a socket.
type RecordedAck struct {
	ConnectionID string
	Code         int
	Message      string
	MessageID    string
	Headers      map[string]string
	Data         string
	Raw          []byte
}

type wsConn struct {
	info ConnInfo // guarded by Server.mu
	ws   *websocket.Conn
	nc   *gateConn
}

const writeTimeout = 5 * time.Second

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	app, ok := s.takeTicket(r.URL.Query().Get("ticket"))
	if !ok {
		writeAPIError(w, http.StatusUnauthorized, "invalidTicket", "ticket 不存在或已过期")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	c := &wsConn{ws: ws, nc: netConnFrom(r.Context()), info: ConnInfo{ID: newUUID(), App: app, Open: true}}

	s.mu.Lock()
	if s.closed || c.nc == nil {
		s.mu.Unlock()
		return
	}
	c.info.Number = len(s.conns) + 1
	s.conns = append(s.conns, c)
	s.notifyLocked()
	s.mu.Unlock()

	var readErr error
	defer func() {
		s.mu.Lock()
		c.info.Open = false
		c.info.CloseCode = int(websocket.CloseStatus(readErr))
		s.notifyLocked()
		s.mu.Unlock()
		_ = c.nc.Conn.Close()
	}()
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			readErr = err
			return
		}
		s.recordAck(c, data)
	}
}

func (s *Server) recordAck(c *wsConn, raw []byte) {
	var a struct {
		Code    int               `json:"code"`
		Headers map[string]string `json:"headers"`
		Message string            `json:"message"`
		Data    string            `json:"data"`
	}
	_ = json.Unmarshal(raw, &a) // garbage is still recorded, with Raw
	id := a.Headers["messageId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks = append(s.acks, RecordedAck{
		ConnectionID: c.info.ID, Code: a.Code, Message: a.Message,
		MessageID: id, Headers: a.Headers, Data: a.Data, Raw: raw,
	})
	if _, ok := s.ackIdx[id]; !ok {
		s.ackIdx[id] = len(s.acks) - 1
	}
	s.ackDeliveryLocked(id, a.Code)
	if ch, ok := s.ackWait[id]; ok {
		close(ch)
		delete(s.ackWait, id)
	}
	s.notifyLocked()
}

// Acks returns every upstream message received, in order.
func (s *Server) Acks() []RecordedAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedAck, len(s.acks))
	copy(out, s.acks)
	return out
}

// WaitAck waits for the ack of the frame with header messageId id, and
// returns the first one received.
func (s *Server) WaitAck(ctx context.Context, id string) (RecordedAck, error) {
	s.mu.Lock()
	if i, ok := s.ackIdx[id]; ok {
		a := s.acks[i]
		s.mu.Unlock()
		return a, nil
	}
	// Waiters of one id share a channel, closed by recordAck; one left by
	// a cancelled wait is closed when the ack comes, if ever.
	ch, ok := s.ackWait[id]
	if !ok {
		ch = make(chan struct{})
		s.ackWait[id] = ch
	}
	s.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return RecordedAck{}, fmt.Errorf("dingtalktest: wait ack %s: %w", id, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks[s.ackIdx[id]], nil
}

// Connections describes every socket accepted so far.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnInfo, len(s.conns))
	for i, c := range s.conns {
		out[i] = c.info
	}
	return out
}

// ConnectionCount is the number of sockets accepted so far.
func (s *Server) ConnectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnections waits until n sockets have been accepted in total.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	err := s.waitFor(ctx, func() bool { return len(s.conns) >= n })
	if err != nil {
		return fmt.Errorf("dingtalktest: wait for %d connections: %w", n, err)
	}
	return nil
}

// WaitClosed waits until socket number n (1-based, as ConnInfo.Number) has
// closed, and returns its final description.
func (s *Server) WaitClosed(ctx context.Context, n int) (ConnInfo, error) {
	var got ConnInfo
	err := s.waitFor(ctx, func() bool {
		if n < 1 || n > len(s.conns) || s.conns[n-1].info.Open {
			return false
		}
		got = s.conns[n-1].info
		return true
	})
	if err != nil {
		return ConnInfo{}, fmt.Errorf("dingtalktest: wait for socket %d to close: %w", n, err)
	}
	return got, nil
}

// CloseClientConnections cuts every open stream socket at the TCP level,
// without a websocket close frame (named as in httptest).
func (s *Server) CloseClientConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.info.Open {
			_ = c.nc.Conn.Close()
		}
	}
}

// SetZombie(true) silences every socket open now: it stays open but the
// fake sends nothing and drops whatever arrives, websocket pings included.
// Sockets accepted later are healthy. SetZombie(false) revives them.
func (s *Server) SetZombie(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.info.Open {
			c.info.Zombie = on
			c.nc.zombie.Store(on)
		}
	}
}

// liveLocked returns an open socket that is not draining, of any app:
// the most recent one, or a random one under PushRandom.
func (s *Server) liveLocked() *wsConn { return s.liveForLocked("") }

func (s *Server) live() (*wsConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.liveLocked(); c != nil {
		return c, nil
	}
	return nil, ErrNoConnection
}

func (s *Server) byID(id string) (*wsConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.info.ID == id && c.info.Open {
			return c, nil
		}
	}
	return nil, fmt.Errorf("dingtalktest: connection %s: %w", id, ErrNoConnection)
}

func (c *wsConn) send(raw []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, raw); err != nil {
		return fmt.Errorf("dingtalktest: send frame: %w", err)
	}
	return nil
}

// PushFrame sends raw bytes as one text message on the most recent live
// socket: for garbage, unknown topics or hand-made frames.
func (s *Server) PushFrame(raw []byte) error {
	c, err := s.live()
	if err != nil {
		return err
	}
	return c.send(raw)
}

// PushFrameTo sends raw on the socket with the given connection id, even
// one that is draining after a disconnect.
func (s *Server) PushFrameTo(connectionID string, raw []byte) error {
	c, err := s.byID(connectionID)
	if err != nil {
		return err
	}
	return c.send(raw)
}

// Ping sends a SYSTEM ping frame with data {"opaque":opaque} and waits for
// the client's ack, which must carry code 200 and echo the data unchanged.
func (s *Server) Ping(ctx context.Context, opaque string) error {
	c, err := s.live()
	if err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]string{"opaque": opaque})
	id := newMessageID(s.nextSeq())
	f := frame{SpecVersion: "1.0", Type: "SYSTEM", Data: string(data), Headers: map[string]string{
		"appId": s.AppID, "connectionId": c.info.ID, "contentType": "application/json",
		"messageId": id, "time": strconv.FormatInt(time.Now().UnixMilli(), 10), "topic": "ping",
	}}
	if err := c.send(f.encode()); err != nil {
		return err
	}
	ack, err := s.WaitAck(ctx, id)
	if err != nil {
		return err
	}
	if ack.Code != http.StatusOK || ack.Data != string(data) {
		return fmt.Errorf("dingtalktest: ping ack: got code %d data %q, want 200 and %q", ack.Code, ack.Data, data)
	}
	return nil
}

// Disconnect sends the SYSTEM disconnect frame (no messageId, as the real
// server does) on the most recent live socket, stops pushing there and cuts
// it DisconnectDelay later. It returns that socket's connection id.
func (s *Server) Disconnect(reason string) (string, error) {
	s.mu.Lock()
	c := s.liveLocked()
	if c == nil {
		s.mu.Unlock()
		return "", ErrNoConnection
	}
	c.info.Draining = true
	delay := s.DisconnectDelay
	s.notifyLocked()
	s.mu.Unlock()

	data, _ := json.Marshal(map[string]string{"reason": reason})
	f := frame{Type: "SYSTEM", Data: string(data), Headers: map[string]string{
		"topic": "disconnect", "contentType": "application/json",
	}}
	err := c.send(f.encode())
	// The timer only closes a socket; closing one already gone is harmless.
	time.AfterFunc(delay, func() { _ = c.nc.Conn.Close() })
	return c.info.ID, err
}
