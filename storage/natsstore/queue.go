package natsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"picoclaw"
)

// Queue defaults, used where QueueConfig leaves a field zero.
const (
	DefaultQueuePrefix = "picoclaw"
	DefaultPartitions  = 32
	DefaultLeaseTTL    = 10 * time.Second
	DefaultAckWait     = 30 * time.Second
	// DefaultReleaseWait covers the default turn_timeout (10 min) and a
	// minute to send its answer.
	DefaultReleaseWait = 11 * time.Minute
)

// Inbox layout settings (see the README's layout table).
const (
	// inboxDuplicates is the INBOX stream's publish-dedup window: DingTalk
	// redelivers an unacked push within about a minute, so half an hour
	// covers it with room to spare.
	inboxDuplicates = 30 * time.Minute
	// inboxMaxAge bounds how long a message nobody answers is kept.
	inboxMaxAge = 7 * 24 * time.Hour
	// doneTTL is how long P_done remembers an answered message (and a
	// message's turn attempts): as long as a redelivery can be deduplicated.
	doneTTL = 30 * time.Minute
	// queueDeadMaxAge and queueDeadDuplicates are the DEAD stream's
	// settings, the same as the session store's layout (store.go) gives it,
	// whichever gateway part creates it first.
	queueDeadMaxAge     = 30 * 24 * time.Hour
	queueDeadDuplicates = 2 * time.Minute
	// maxAckPending bounds the messages of one partition handed out and not
	// yet done.
	maxAckPending = 256
	// opTimeout bounds one NATS request made without a caller's context
	// (Accept, Done, ...): long enough for a cluster's leader election.
	opTimeout = 10 * time.Second
)

// partitionsMetadata is the INBOX stream's metadata key holding the
// partition count, so a gateway configured differently refuses to start
// instead of routing chats to the wrong partitions.
const partitionsMetadata = "picoclaw_partitions"

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Prefix names the streams, subjects and buckets (default "picoclaw").
	Prefix string
	// Node names this process among the gateways; unique per process.
	Node string
	// Partitions is how many partitions chats are spread over (default
	// 32); every gateway must use the same.
	Partitions int
	// Replicas is the replica count of what the queue creates (1 or 3).
	Replicas int
	// LeaseTTL is how long a partition lease and a membership heartbeat
	// live without a refresh (default 10 s): a dead gateway's partitions
	// are taken over about this long after it died.
	LeaseTTL time.Duration
	// AckWait is how long a delivered message may go without an ack or a
	// progress note before it is redelivered (default 30 s).
	AckWait time.Duration
	// ReleaseWait is how long a partition handed to another gateway (one
	// joined) stays with this one while none of its messages in flight
	// finishes (default DefaultReleaseWait): the longest turn, so that a
	// routine hand-over never answers a message twice; each one finished
	// restarts it. Its lease is kept meanwhile; only what is still
	// unfinished after it is redelivered.
	ReleaseWait time.Duration
	Logger      *slog.Logger
}

// Queue is the inbox shared by several gateways over NATS JetStream: each
// accepted message is published to a per-chat subject of one partition,
// each partition is worked by exactly one gateway (a KV lease), and a
// gateway that dies has its partitions and unfinished messages taken over.
// It implements intake.Journal; Run delivers the messages.
type Queue struct {
	js     jetstream.JetStream
	cfg    QueueConfig
	log    *slog.Logger
	stream jetstream.Stream
	leases jetstream.KeyValue
	member jetstream.KeyValue
	done   jetstream.KeyValue
	dead   jetstream.Stream

	subjIn   string // "P.in"
	subjDead string // "P.dead"

	mu       sync.Mutex
	closed   bool
	flights  map[string]*flight // message id → delivered, not finished
	finished *recentSet         // ids finished here lately: Done after DeadLetter is fine
	owned    map[int]*partition
	takeover time.Time
}

// validPrefix: letters, digits, '_' and '-' only. (A regexp would be
// compiled at every start of the binary, NATS or not.)
func validPrefix(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// NewQueue opens the shared inbox, creating its stream and buckets if they
// are missing (idempotent: every gateway does it on start).
func NewQueue(ctx context.Context, js jetstream.JetStream, cfg QueueConfig) (*Queue, error) {
	if js == nil {
		return nil, errors.New("natsstore: new queue: jetstream is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultQueuePrefix
	}
	if !validPrefix(cfg.Prefix) {
		return nil, fmt.Errorf("natsstore: new queue: prefix %q: expected letters, digits, '-' or '_'", cfg.Prefix)
	}
	if strings.TrimSpace(cfg.Node) == "" {
		return nil, errors.New("natsstore: new queue: node: expected a name unique to this process")
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Partitions < 1 || cfg.Partitions > 4096 {
		return nil, fmt.Errorf("natsstore: new queue: partitions %d: expected 1 to 4096", cfg.Partitions)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Replicas != 1 && cfg.Replicas != 3 {
		return nil, fmt.Errorf("natsstore: new queue: replicas %d: expected 1 or 3", cfg.Replicas)
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.LeaseTTL < 300*time.Millisecond {
		return nil, fmt.Errorf("natsstore: new queue: lease TTL %v: expected at least 300ms", cfg.LeaseTTL)
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.AckWait < 300*time.Millisecond {
		return nil, fmt.Errorf("natsstore: new queue: ack wait %v: expected at least 300ms", cfg.AckWait)
	}
	if cfg.ReleaseWait == 0 {
		cfg.ReleaseWait = DefaultReleaseWait
	}
	if cfg.ReleaseWait < 0 {
		return nil, fmt.Errorf("natsstore: new queue: release wait %v: expected a positive duration", cfg.ReleaseWait)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{
		js: js, cfg: cfg, log: log.With("node", cfg.Node),
		subjIn: cfg.Prefix + ".in", subjDead: cfg.Prefix + ".dead",
		flights: map[string]*flight{}, finished: newRecentSet(4096), owned: map[int]*partition{},
	}
	if err := q.ensureLayout(ctx); err != nil {
		return nil, fmt.Errorf("natsstore: new queue: %w", err)
	}
	return q, nil
}

// ensureLayout creates the INBOX and DEAD streams and the leases, members
// and done buckets where missing; existing ones are used as they are.
func (q *Queue) ensureLayout(ctx context.Context) error {
	up := strings.ToUpper(q.cfg.Prefix)
	var err error
	q.stream, err = ensureStream(ctx, q.js, jetstream.StreamConfig{
		Name:        up + "_INBOX",
		Description: "picoclaw: accepted messages not yet answered",
		Subjects:    []string{q.subjIn + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  inboxDuplicates,
		MaxAge:      inboxMaxAge,
		Replicas:    q.cfg.Replicas,
		Metadata:    map[string]string{partitionsMetadata: strconv.Itoa(q.cfg.Partitions)},
	})
	if err != nil {
		return err
	}
	if err := q.sameReplicas(up+"_INBOX", q.stream.CachedInfo().Config.Replicas); err != nil {
		return err
	}
	if p := q.stream.CachedInfo().Config.Metadata[partitionsMetadata]; p != "" && p != strconv.Itoa(q.cfg.Partitions) {
		return fmt.Errorf("stream %s was made for %s partitions, this gateway is configured for %d: every gateway must use the same partition count", up+"_INBOX", p, q.cfg.Partitions)
	}
	q.dead, err = ensureStream(ctx, q.js, jetstream.StreamConfig{
		Name:        up + "_DEAD",
		Description: "picoclaw: messages given up on, with the reason",
		Subjects:    []string{q.subjDead + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Duplicates:  queueDeadDuplicates,
		MaxAge:      queueDeadMaxAge,
		Replicas:    q.cfg.Replicas,
	})
	if err != nil {
		return err
	}
	if err := q.sameReplicas(up+"_DEAD", q.dead.CachedInfo().Config.Replicas); err != nil {
		return err
	}
	if q.leases, err = q.ensureBucket(ctx, q.cfg.Prefix+"_leases", "picoclaw: partition leases", q.cfg.LeaseTTL, true); err != nil {
		return err
	}
	if q.member, err = q.ensureBucket(ctx, q.cfg.Prefix+"_members", "picoclaw: live gateways", q.cfg.LeaseTTL, true); err != nil {
		return err
	}
	if q.done, err = q.ensureBucket(ctx, q.cfg.Prefix+"_done", "picoclaw: answered messages and turn attempts", doneTTL, false); err != nil {
		return err
	}
	return nil
}

// ensureStream returns the stream named in cfg, creating it if missing.
// An existing stream is used as it is: gateways started with other
// settings never fight over its configuration.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return retryLayout(ctx, func(ctx context.Context) (jetstream.Stream, error) { return ensureStreamOnce(ctx, js, cfg) })
}

func ensureStreamOnce(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, cfg.Name)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("look up stream %s: %w", cfg.Name, err)
	}
	s, err = js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another gateway created it first.
		s, err = js.Stream(ctx, cfg.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// ensureBucket returns the KV bucket, creating it with ttl if missing. A
// bucket made with another TTL is refused: the TTL is the lease length
// every gateway refreshes against. With markers, a key that expires leaves
// a marker that watchers see, so a dead gateway's leases are taken over
// the moment they expire rather than at the survivors' next tick.
func (q *Queue) ensureBucket(ctx context.Context, name, desc string, ttl time.Duration, markers bool) (jetstream.KeyValue, error) {
	return retryLayout(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return q.ensureBucketOnce(ctx, name, desc, ttl, markers)
	})
}

func (q *Queue) ensureBucketOnce(ctx context.Context, name, desc string, ttl time.Duration, markers bool) (jetstream.KeyValue, error) {
	kv, err := q.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		cfg := jetstream.KeyValueConfig{
			Bucket: name, Description: desc, TTL: ttl, Storage: jetstream.FileStorage, Replicas: q.cfg.Replicas,
		}
		if markers {
			cfg.LimitMarkerTTL = max(ttl, time.Second)
		}
		kv, err = q.js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
			// NATS before 2.11: takeovers wait for the next tick.
			cfg.LimitMarkerTTL = 0
			kv, err = q.js.CreateKeyValue(ctx, cfg)
		}
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = q.js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", name, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", name, err)
	}
	if st.TTL() != ttl {
		return nil, fmt.Errorf("bucket %s has TTL %v, this gateway expects %v: every gateway must use the same lease_seconds (or delete the bucket while all are stopped)", name, st.TTL(), ttl)
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		if err := q.sameReplicas("KV_"+name, bs.StreamInfo().Config.Replicas); err != nil {
			return nil, err
		}
	}
	return kv, nil
}

// sameReplicas refuses a stream made with another replica count than
// configured: used as it is, an inbox left on one server after replicas
// was raised to 3 would lose accepted messages with that server.
func (q *Queue) sameReplicas(stream string, have int) error {
	if have == q.cfg.Replicas {
		return nil
	}
	return fmt.Errorf("stream %s has %d replica(s), storage.nats.replicas is %d: scale it with `nats stream edit %s --replicas %d` "+
		"(and the other %s streams and buckets: `nats stream ls`), or set replicas back to %d",
		stream, have, q.cfg.Replicas, stream, q.cfg.Replicas, strings.ToUpper(q.cfg.Prefix), have)
}

// Accept publishes in to its chat's subject and returns once JetStream has
// stored it; isNew is false when its MessageID was accepted before (within
// the 30-minute duplicates window). It runs before DingTalk's frame is
// acked, so an error leaves the push to be redelivered.
func (q *Queue) Accept(in picoclaw.Inbound) (isNew bool, err error) {
	if in.MessageID == "" {
		return false, errors.New("natsstore: accept: empty message id")
	}
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return false, fmt.Errorf("natsstore: accept %s: %w", in.MessageID, ErrQueueClosed)
	}
	data, err := encodeQueueMessage(in)
	if err != nil {
		return false, fmt.Errorf("natsstore: accept %s: %w", in.MessageID, err)
	}
	msg := nats.NewMsg(q.inSubject(in.SessionKey()))
	msg.Data = data
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for {
		ack, err := q.js.PublishMsg(ctx, msg, jetstream.WithMsgID(in.MessageID),
			jetstream.WithRetryAttempts(40), jetstream.WithRetryWait(250*time.Millisecond))
		if err == nil {
			return !ack.Duplicate, nil
		}
		// Another gateway is storing the same message (DingTalk pushed it
		// twice): its outcome decides; ask again until it is known.
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeDuplicateInProcess && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		err = fmt.Errorf("natsstore: accept %s: publish: %w", in.MessageID, err)
		if errors.Is(err, nats.ErrMaxPayload) || errors.As(err, &apiErr) && apiErr.Code == 400 {
			return false, refusedError{err}
		}
		return false, err
	}
}

// refusedError is a message NATS answered no to (too large, bad request),
// which retrying does not change, unlike NATS being unreachable.
type refusedError struct{ error }

func (e refusedError) Unwrap() error { return e.error }

// Refused marks the refusal for callers (intake's spill).
func (refusedError) Refused() bool { return true }

// errCodeDuplicateInProcess is JetStream's answer to a publish whose
// Nats-Msg-Id another publish is storing at that moment.
const errCodeDuplicateInProcess jetstream.ErrorCode = 10158

// inSubject is "P.in.<partition>.<chat>" of a session key.
func (q *Queue) inSubject(key picoclaw.SessionKey) string {
	return fmt.Sprintf("%s.%d.%s", q.subjIn, queuePartition(key, q.cfg.Partitions), queueToken(string(key)))
}

// Pending is nil: unfinished messages are redelivered by JetStream to
// whichever gateway owns their partition, not replayed from here.
func (q *Queue) Pending() []picoclaw.Inbound { return nil }

// ErrQueueClosed is the error of a Queue used after Close.
var ErrQueueClosed = errors.New("natsstore: queue closed")

// Close refuses further Accepts and hands back every message still in
// flight: those the dispatcher dropped from its queues at shutdown get
// neither Done nor Release, and Run waits for them before it hands its
// partitions over. Shut down in this order: cancel Run's context (fetching
// stops), shut the dispatcher down, Close, then wait for Run to return.
// The connection belongs to the caller.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	left := make(map[string]*flight, len(q.flights))
	for id, f := range q.flights {
		left[id] = f
	}
	q.mu.Unlock()
	var errs []error
	for id, f := range left {
		if err := f.msg.Nak(); err != nil {
			errs = append(errs, fmt.Errorf("natsstore: close: hand back %s: %w", id, err))
		}
		q.finish(id, f)
	}
	if len(left) > 0 {
		q.log.Info("natsstore: handed back messages dropped at shutdown", "count", len(left))
	}
	return errors.Join(errs...)
}

// QueueStats is what /health shows of the queue.
type QueueStats struct {
	Node string `json:"node"`
	// Owned are the partitions this gateway works now.
	Owned []int `json:"owned"`
	// InFlight counts messages handed to the dispatcher and not yet done.
	InFlight int `json:"in_flight"`
	// LastTakeover is when this gateway last took over a partition that
	// another gateway left unfinished (zero: never).
	LastTakeover time.Time `json:"last_takeover,omitzero"`
}

// Stats reports the owned partitions, in-flight count and last takeover.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := QueueStats{Node: q.cfg.Node, InFlight: len(q.flights), LastTakeover: q.takeover}
	for p := range q.owned {
		s.Owned = append(s.Owned, p)
	}
	sortInts(s.Owned)
	return s
}
