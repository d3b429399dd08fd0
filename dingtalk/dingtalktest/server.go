package dingtalktest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"picoclaw/internal/testutil"
)

// Defaults for the exported settings of Server.
const (
	DefaultClientID        = "test-client-id"
	DefaultClientSecret    = "test-client-secret"
	DefaultDisconnectDelay = 100 * time.Millisecond
	DefaultTicketTTL       = 90 * time.Second
	DefaultWebhookTTL      = 90 * time.Minute
	DefaultTokenTTL        = 2 * time.Hour
	DefaultChatLimit       = 20
	DefaultChatWindow      = time.Minute
)

// Server is a fake DingTalk. Its exported fields are settings: set them
// between NewUnstartedServer and Start (or StartTLS), as with httptest;
// NewServer starts at once with the defaults. SetCredentials is safe at
// any time.
type Server struct {
	// ClientID and ClientSecret are the app credentials connections/open
	// accepts.
	ClientID, ClientSecret string
	// DisconnectDelay is how long after a SYSTEM disconnect frame the fake
	// closes that socket (the real server waits about 10 s).
	DisconnectDelay time.Duration
	// TicketTTL is how long a connection ticket stays usable.
	TicketTTL time.Duration

	// Identity of the fake app and its bot, used in pushed frames.
	AppID, CorpID, BotUserID string
	// TokenTTL is the expireIn of access tokens the fake issues.
	TokenTTL time.Duration
	// RobotCode is what robot calls must send; "" means ClientID.
	RobotCode string
	// ChatLimit and ChatWindow throttle robot messages per conversation
	// as DingTalk does (20 a minute, then errcode 130101). ChatLimit 0
	// turns throttling off.
	ChatLimit  int
	ChatWindow time.Duration

	ts      *httptest.Server
	handler http.Handler // ts's, also served in memory by Transport
	base    string       // http://127.0.0.1:port, or https://api.dingtalk.com under StartTLS
	// oapiBase serves session webhooks and wsBase stream sockets: base
	// (ws for http) on a plain server, DingTalk's own hosts under StartTLS.
	oapiBase, wsBase string
	tls              *tlsState // set by StartTLS
	wg               sync.WaitGroup

	mu sync.Mutex
	// changed fires on every recorded change; replied only when a webhook
	// message is delivered, and ackWait per awaited messageId, so that a
	// waiter wakes only for what it may be waiting for.
	changed signal
	replied signal
	ackWait map[string]chan struct{}
	ackIdx  map[string]int // messageId → index in acks of its first ack
	closed  bool
	seq     uint64
	tickets map[string]ticket
	// apps are the apps beyond the first (ClientID): client id → secret.
	apps     map[string]string
	openFail []openFault
	opens    []OpenRequest
	conns    []*wsConn
	acks     []RecordedAck
	sessions map[string]*session
	// msgConv indexes the sessions' messages: msgId → conversation, so a
	// reaction call finds its message without scanning every push.
	msgConv  map[string]string
	hookFail []int
	// hookHTTPFail are HTTP-level webhook faults, answered before
	// hookFail; hookCalls records every webhook post.
	hookHTTPFail []WebhookFault
	hookCalls    []WebhookCall
	// closing is closed by Close, releasing hanging handlers.
	closing chan struct{}
	replies []Reply
	// sentAt holds recent webhook delivery times per conversation.
	sentAt    map[string][]time.Time
	throttled int
	oa        openAPIState
	// mc is the several-connection behaviour (multiconn.go).
	mc multiConn
}

// NewServer starts a fake DingTalk on 127.0.0.1. Call Close when done.
func NewServer() *Server {
	s := NewUnstartedServer()
	s.Start()
	return s
}

// NewUnstartedServer returns a fake DingTalk that is not yet listening:
// set its fields, then call Start or StartTLS. Call Close when done.
func NewUnstartedServer() *Server {
	s := &Server{
		ClientID:        DefaultClientID,
		ClientSecret:    DefaultClientSecret,
		DisconnectDelay: DefaultDisconnectDelay,
		TicketTTL:       DefaultTicketTTL,
		TokenTTL:        DefaultTokenTTL,
		ChatLimit:       DefaultChatLimit,
		ChatWindow:      DefaultChatWindow,
		sentAt:          map[string][]time.Time{},
		AppID:           "1305d5f5-0a1b-484f-9c2d-97d9a1b2ef67",
		CorpID:          "ding0123456789abcdef0123456789abcdef",
		BotUserID:       "$:LWCP_v1:$BOTxDINGTALKxIDx0000000000000000",
		ackWait:         map[string]chan struct{}{},
		ackIdx:          map[string]int{},
		tickets:         map[string]ticket{},
		sessions:        map[string]*session{},
		msgConv:         map[string]string{},
		closing:         make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+OpenPath, s.handleOpen)
	mux.HandleFunc("GET "+ConnectPath, s.handleConnect)
	mux.HandleFunc("POST "+WebhookPath, s.handleWebhook)
	s.oa = newOpenAPIState()
	s.mc = newMultiConn()
	s.registerOpenAPI(mux)

	s.handler = mux
	s.ts = httptest.NewUnstartedServer(mux)
	s.ts.Listener = &gateListener{Listener: s.ts.Listener}
	s.ts.Config.ConnContext = withNetConn
	return s
}

// Start serves plain HTTP on 127.0.0.1; URL is http://127.0.0.1:port.
func (s *Server) Start() {
	s.ts.Start()
	s.base = s.ts.URL
	s.oapiBase = s.base
	s.wsBase = "ws" + strings.TrimPrefix(s.base, "http")
}

// URL is the base URL to use as the stream client's APIBase.
func (s *Server) URL() string { return s.base }

// Transport serves HTTP requests (OpenAPI, webhooks) by calling the fake's
// handler directly, without a socket, so that a client inside a
// testing/synctest bubble blocks only where fake time can see it. Use
// it with URLs from URL and the webhooks the fake hands out; stream
// sockets still need the listener.
func (s *Server) Transport() http.RoundTripper { return testutil.HandlerTransport(s.handler) }

// SetCredentials changes the accepted client id and secret.
func (s *Server) SetCredentials(id, secret string) {
	s.mu.Lock()
	s.ClientID, s.ClientSecret = id, secret
	s.mu.Unlock()
}

// Close drops every stream socket, shuts the HTTP server down and waits for
// the goroutines the fake started.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	s.stopRedeliveriesLocked()
	s.mu.Unlock()
	s.CloseClientConnections()
	s.ts.Close()
	s.wg.Wait()
}

// signal is a broadcast to the goroutines waiting for one kind of change;
// its channel is made only when someone waits. Guarded by Server.mu.
type signal struct{ ch chan struct{} }

// wait returns a channel closed at the next notify.
func (g *signal) wait() <-chan struct{} {
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) notify() {
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// Changes returns a channel closed at the next change the fake records (a
// connection opening or closing, an open request, a webhook post, an
// OpenAPI call, a card update, …): a watcher takes it, reads what it
// wants, then waits on it, so that it misses nothing and never polls.
func (s *Server) Changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed.wait()
}

// notifyLocked wakes every waiter of waitFor. Callers hold s.mu.
func (s *Server) notifyLocked() { s.changed.notify() }

// waitFor blocks until cond (evaluated under s.mu) holds or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	return s.waitOn(ctx, &s.changed, cond)
}

// waitOn blocks until cond (evaluated under s.mu) holds or ctx ends,
// checking again each time sig fires.
func (s *Server) waitOn(ctx context.Context, sig *signal, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := sig.wait()
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// nextSeq returns a server-wide counter for unique ids.
func (s *Server) nextSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}
