package natsstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"picoclaw"
	"picoclaw/internal/histcache"
)

// ErrConflict is returned by a write made with an outdated view of a
// session: another gateway (or this one, through another Store) wrote to
// it since this Store last read or wrote it. Nothing is written; a fresh
// Load gives the current history.
var ErrConflict = errors.New("session changed by another writer")

// recordVersion is the "v" of every session record.
const recordVersion = 1

// Record operations.
const (
	opAppend  = "append"  // msgs follow the history so far
	opReplace = "replace" // msgs are the whole history (a rollup)
	opReset   = "reset"   // the history is empty (a rollup)
)

// record is one message of a session subject.
type record struct {
	V    int                `json:"v"`
	Op   string             `json:"op"`
	Msgs []picoclaw.Message `json:"msgs,omitempty"`
}

// smallRead is how many records a Load catches up on with single gets
// before it opens an ordered consumer for the rest: a history another
// gateway extended by a turn costs one or two gets, a cold history of
// hundreds of records one stream of messages.
const smallRead = 4

// readTimeout bounds one Load's read of a subject when ctx has no sooner
// deadline.
const readTimeout = 30 * time.Second

// Sessions keeps conversation histories in the SESSIONS stream. It
// implements picoclaw.SessionStore and agent.Compactor. Its methods are
// safe for concurrent use; writes to one key are serialized.
type Sessions struct {
	st     *Store
	stream jetstream.Stream
	cache  *histcache.Cache[uint64]

	// newID names each record for JetStream's dedup (nuid.Next; a test
	// names them itself).
	newID func() string

	mu    sync.Mutex
	seqs  seqTable // last sequence seen per key
	locks map[picoclaw.SessionKey]*keyLock
}

// maxSeqs bounds the keys whose last sequence a Sessions remembers.
const maxSeqs = 1 << 16

// seqTable is the last sequence seen per key, bounded: a key unused while
// maxSeqs/2 others were added, twice over, is forgotten (its next append
// adopts the subject as it then is, as on a fresh start). Chats that moved
// to other gateways thus do not pile up for as long as the process runs.
type seqTable struct {
	cur, old map[picoclaw.SessionKey]uint64
}

func (t *seqTable) get(key picoclaw.SessionKey) (uint64, bool) {
	if seq, ok := t.cur[key]; ok {
		return seq, true
	}
	seq, ok := t.old[key]
	if ok {
		t.set(key, seq) // still in use: keep it
	}
	return seq, ok
}

func (t *seqTable) set(key picoclaw.SessionKey, seq uint64) {
	if _, ok := t.cur[key]; !ok && len(t.cur) >= maxSeqs/2 {
		t.old, t.cur = t.cur, nil
	}
	if t.cur == nil {
		t.cur = make(map[picoclaw.SessionKey]uint64)
	}
	t.cur[key] = seq
}

func (t *seqTable) len() int { return len(t.cur) + len(t.old) }

type keyLock struct {
	mu   sync.Mutex
	refs int // guarded by Sessions.mu
}

func newSessions(st *Store) *Sessions {
	return &Sessions{
		st:     st,
		stream: st.sessionsStream,
		cache:  histcache.New[uint64](DefaultCacheBytes),
		newID:  nuid.Next,
		locks:  make(map[picoclaw.SessionKey]*keyLock),
	}
}

// Sessions returns the store's conversation histories.
func (s *Store) Sessions() *Sessions { return s.sessions }

// lock serializes operations on key within this Sessions.
func (ss *Sessions) lock(key picoclaw.SessionKey) func() {
	ss.mu.Lock()
	l := ss.locks[key]
	if l == nil {
		l = &keyLock{}
		ss.locks[key] = l
	}
	l.refs++
	ss.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		ss.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(ss.locks, key)
		}
		ss.mu.Unlock()
	}
}

func (ss *Sessions) seen(key picoclaw.SessionKey) (uint64, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.seqs.get(key)
}

func (ss *Sessions) setSeen(key picoclaw.SessionKey, seq uint64) {
	ss.mu.Lock()
	ss.seqs.set(key, seq)
	ss.mu.Unlock()
}

// encodeToken makes s a single NATS subject token (or KV key): base64url
// without padding, which holds no '.', '*', '>' or space.
func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func (ss *Sessions) subject(key picoclaw.SessionKey) (string, error) {
	if key == "" {
		return "", errors.New("natsstore: session key: empty")
	}
	return ss.st.sessionSubject(encodeToken(string(key))), nil
}

// last returns the subject's last record and its sequence; 0 and nil if
// the subject holds none.
func (ss *Sessions) last(ctx context.Context, subj string) (*jetstream.RawStreamMsg, error) {
	return retryRequest(ctx, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		m, err := ss.stream.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, nil
		}
		return m, err
	})
}

// requestAttempt bounds one request of a turn to NATS. The turn's own
// deadline is minutes away; a request lost while a node goes down would
// otherwise hold the chat that long.
const requestAttempt = 5 * time.Second

// retryRequest runs op in attempts of requestAttempt while they time out,
// up to four, within ctx. op must be safe to repeat.
func retryRequest[T any](ctx context.Context, op func(ctx context.Context) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, requestAttempt)
		v, err := op(actx)
		cancel()
		if err == nil || attempt == 4 || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return v, err
		}
	}
}

func decodeRecord(data []byte) (record, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, fmt.Errorf("decode record: %w", err)
	}
	if r.V > recordVersion {
		return record{}, fmt.Errorf("record version %d; this build reads version %d", r.V, recordVersion)
	}
	switch r.Op {
	case opAppend, opReplace, opReset:
	default:
		return record{}, fmt.Errorf("record op %q; expected append, replace or reset", r.Op)
	}
	return r, nil
}

// apply adds record r to history.
func apply(history []picoclaw.Message, r record) []picoclaw.Message {
	switch r.Op {
	case opReplace, opReset:
		return r.Msgs
	default:
		return append(history, r.Msgs...)
	}
}

// Load returns key's history, oldest first. It asks the server for the
// subject's last record every time; a cached history at that sequence is
// used as it is, an older one is caught up from there.
func (ss *Sessions) Load(ctx context.Context, key picoclaw.SessionKey) ([]picoclaw.Message, error) {
	subj, err := ss.subject(key)
	if err != nil {
		return nil, err
	}
	defer ss.lock(key)()
	lastMsg, err := ss.last(ctx, subj)
	if err != nil {
		return nil, fmt.Errorf("natsstore: load %s: %w", key, err)
	}
	if lastMsg == nil {
		ss.cache.Drop(key)
		ss.setSeen(key, 0)
		return nil, nil
	}
	last := lastMsg.Sequence
	cachedMsgs, cachedSeq, size, ok := ss.cache.Get(key)
	if ok && cachedSeq == last {
		ss.setSeen(key, last)
		return cachedMsgs, nil
	}
	// The last record alone is the history when it replaces all before it.
	r, err := decodeRecord(lastMsg.Data)
	if err != nil {
		return nil, fmt.Errorf("natsstore: load %s: seq %d: %w", key, last, err)
	}
	if r.Op != opAppend {
		ss.cache.Put(key, last, int64(len(lastMsg.Data)), r.Msgs)
		ss.setSeen(key, last)
		return r.Msgs, nil
	}
	from, history := uint64(1), []picoclaw.Message(nil)
	if ok && cachedSeq < last {
		from, history = cachedSeq+1, cachedMsgs
	} else {
		size = 0
	}
	history, seq, size, err := ss.read(ctx, subj, from, last, history, size)
	if err != nil {
		ss.cache.Drop(key)
		return nil, fmt.Errorf("natsstore: load %s: %w", key, err)
	}
	ss.cache.Put(key, seq, size, history)
	ss.setSeen(key, seq)
	return history, nil
}

// read applies the subject's records from sequence from on to history
// until it has applied the one at last (or a later one). It returns the
// history, the sequence of the last record applied and the bytes read
// plus size.
func (ss *Sessions) read(ctx context.Context, subj string, from, last uint64, history []picoclaw.Message, size int64) ([]picoclaw.Message, uint64, int64, error) {
	// Bounded even within a turn's long deadline (see requestAttempt).
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	seq := from - 1
	// A few single gets first: the usual catch-up is one turn's record.
	for range smallRead {
		m, err := retryRequest(ctx, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
			return ss.stream.GetMsg(ctx, seq+1, jetstream.WithGetMsgSubject(subj))
		})
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return history, seq, size, nil // purged meanwhile: nothing more
		}
		if err != nil {
			return nil, 0, 0, fmt.Errorf("get seq ≥ %d: %w", seq+1, err)
		}
		r, err := decodeRecord(m.Data)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("seq %d: %w", m.Sequence, err)
		}
		if r.Op != opAppend {
			size = 0
		}
		history, seq, size = apply(history, r), m.Sequence, size+int64(len(m.Data))
		if seq >= last {
			return history, seq, size, nil
		}
	}
	cons, err := ss.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subj},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq + 1,
		InactiveThreshold: 10 * time.Second,
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("open reader: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("open reader: %w", err)
	}
	defer func() {
		it.Stop()
		// The server would drop the idle consumer after InactiveThreshold;
		// deleting it now keeps a burst of cold loads from piling them up.
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := ss.stream.DeleteConsumer(dctx, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				ss.st.log.Debug("natsstore: delete reader", "consumer", info.Name, "err", err)
			}
		}
	}()
	for seq < last {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, 0, 0, fmt.Errorf("read after seq %d (last %d): %w", seq, last, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("read after seq %d: %w", seq, err)
		}
		r, err := decodeRecord(m.Data())
		if err != nil {
			return nil, 0, 0, fmt.Errorf("seq %d: %w", meta.Sequence.Stream, err)
		}
		if r.Op != opAppend {
			size = 0
		}
		history, seq, size = apply(history, r), meta.Sequence.Stream, size+int64(len(m.Data()))
	}
	return history, seq, size, nil
}

// Append adds msgs to key's history as one record. It is written only if
// the subject's last record is still the one this Sessions last saw;
// otherwise it fails with ErrConflict.
func (ss *Sessions) Append(ctx context.Context, key picoclaw.SessionKey, msgs ...picoclaw.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	_, err := ss.write(ctx, "append", key, record{V: recordVersion, Op: opAppend, Msgs: msgs})
	return err
}

// Replace makes msgs the whole of key's history (compaction): one record
// with a subject rollup, which drops the older records in the same step.
// Like Append it fails with ErrConflict on an outdated view.
func (ss *Sessions) Replace(ctx context.Context, key picoclaw.SessionKey, msgs []picoclaw.Message) error {
	_, err := ss.write(ctx, "replace", key, record{V: recordVersion, Op: opReplace, Msgs: msgs})
	return err
}

// Reset empties key's history (/new): a rollup record with no messages
// replaces every record of the subject. It is the user's wish whatever
// the history holds, so it goes over the subject as it is now rather than
// over this Sessions' view (a command reads no history first); it fails
// with ErrConflict only if another write lands between the two.
func (ss *Sessions) Reset(ctx context.Context, key picoclaw.SessionKey) error {
	_, err := ss.write(ctx, "reset", key, record{V: recordVersion, Op: opReset})
	return err
}

func (ss *Sessions) write(ctx context.Context, op string, key picoclaw.SessionKey, r record) (uint64, error) {
	subj, err := ss.subject(key)
	if err != nil {
		return 0, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("natsstore: %s %s: encode: %w", op, key, err)
	}
	// Subject and headers travel too; 256 bytes covers them.
	if max := ss.st.nc.MaxPayload(); int64(len(data))+256 > max {
		return 0, fmt.Errorf("natsstore: %s %s: record of %d bytes exceeds the NATS server's max payload of %d bytes (raise max_payload, or compact sooner)", op, key, len(data), max)
	}
	defer ss.lock(key)()
	prev, known := ss.seen(key)
	if !known || r.Op == opReset {
		// Never read here: adopt the subject as it is now.
		m, err := ss.last(ctx, subj)
		if err != nil {
			return 0, fmt.Errorf("natsstore: %s %s: %w", op, key, err)
		}
		if m != nil {
			prev = m.Sequence
		}
		ss.cache.Drop(key)
	}
	msg := &nats.Msg{Subject: subj, Data: data, Header: nats.Header{}}
	if r.Op != opAppend {
		msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	}
	// The id makes a retry after a lost answer harmless: JetStream answers
	// it as a duplicate of the record it already stored.
	id := ss.newID()
	ack, err := retryRequest(ctx, func(ctx context.Context) (*jetstream.PubAck, error) {
		return ss.st.js.PublishMsg(ctx, msg, publishOpts(jetstream.WithExpectLastSequencePerSubject(prev), jetstream.WithMsgID(id))...)
	})
	if err != nil && isWrongLastSequence(err) {
		// A single server checks the expected sequence before the
		// duplicate id: an attempt whose answer was lost, stored after
		// all, makes its retry look like a conflict. It is this record if
		// the subject's last one carries its id.
		if m, lerr := ss.last(ctx, subj); lerr == nil && m != nil && m.Header.Get(jetstream.MsgIDHeader) == id {
			ack, err = &jetstream.PubAck{Stream: m.Subject, Sequence: m.Sequence}, nil
		}
	}
	if err != nil {
		// The view stays as it was: a retry keeps failing until a Load
		// has seen the other writer's records, rather than adopting them
		// unseen.
		ss.cache.Drop(key)
		if isWrongLastSequence(err) {
			return 0, fmt.Errorf("natsstore: %s %s: %w (expected last sequence %d): %w", op, key, ErrConflict, prev, err)
		}
		return 0, fmt.Errorf("natsstore: %s %s: %w", op, key, err)
	}
	if r.Op == opAppend {
		ss.cache.Extend(key, func(seq uint64) bool { return seq == prev }, ack.Sequence, int64(len(data)), r.Msgs)
	} else {
		ss.cache.Put(key, ack.Sequence, int64(len(data)), r.Msgs)
	}
	ss.setSeen(key, ack.Sequence)
	return ack.Sequence, nil
}

// Keys lists the session keys that have a subject (a reset session keeps
// one, empty). It reads the stream's subject list: one request.
func (ss *Sessions) Keys(ctx context.Context) ([]picoclaw.SessionKey, error) {
	prefix := ss.st.sessionSubject("")
	info, err := ss.stream.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("natsstore: list sessions: %w", err)
	}
	keys := make([]picoclaw.SessionKey, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(subj, prefix))
		if err != nil {
			ss.st.log.Warn("natsstore: list sessions: subject not written by this package; skipped", "subject", subj)
			continue
		}
		keys = append(keys, picoclaw.SessionKey(raw))
	}
	return keys, nil
}
