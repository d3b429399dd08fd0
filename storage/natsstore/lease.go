package natsstore

import (
	"context"
	"crypto/rand"
	"errors"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"picoclaw"
)

// Run works this gateway's share of the partitions until ctx ends: it
// heartbeats in P_members, claims partition leases in P_leases (at most
// ceil(partitions / live gateways)), refreshes them every LeaseTTL/3, hands
// each owned partition's messages to dispatch in stream order, and hands
// extras back when more gateways join. dispatch is called from one
// goroutine per partition; it returns whether it took the message, and
// every message it is given must end in Done, Release or DeadLetter (a
// refused one too: intake answers it as busy and marks it done).
//
// When ctx ends Run stops fetching, waits (at most AckWait) for the
// messages in flight to be finished, then deletes its leases and its
// membership so that the other gateways take over at once.
func (q *Queue) Run(ctx context.Context, dispatch func(picoclaw.Inbound) bool) error {
	if dispatch == nil {
		return errors.New("natsstore: run: dispatch is required")
	}
	r := &runner{q: q, dispatch: dispatch, released: make(chan *partition), lost: make(chan *partition, q.cfg.Partitions), poke: make(chan struct{}, 1), exit: make(chan struct{}), instance: rand.Text()}
	defer close(r.exit)
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	go q.keepInProgress(bg)
	r.watchReleases(bg)
	r.heartbeat(ctx)
	tick := time.NewTicker(q.cfg.LeaseTTL / 3)
	defer tick.Stop()
	done := ctx.Done()
	var drainTimeout <-chan time.Time
	for {
		select {
		case <-done:
			done = nil
			r.stopping = true
			q.log.Info("natsstore: stopping: handing partitions back", "owned", len(r.parts))
			// Leave first, so the others' shares already exclude this
			// gateway when its leases come free.
			r.leave(ctx)
			for _, p := range r.parts {
				r.release(p)
			}
			drainTimeout = time.After(q.cfg.AckWait)
		case p := <-r.released:
			r.drop(p, true)
		case p := <-r.lost:
			switch {
			case r.parts[p.n] != p:
			case p.stale:
				q.log.Warn("natsstore: partition given up: its lease may have passed to another gateway", "partition", p.n)
				r.forget(p)
			case p.iterClosed:
				r.release(p) // its turns finish first: nobody else starts them again
			default:
				q.log.Warn("natsstore: partition lost", "partition", p.n)
				r.drop(p, false)
			}
		case <-drainTimeout:
			q.log.Warn("natsstore: stopping: messages still in flight; their partitions are handed back unfinished", "partitions", len(r.parts))
			for _, p := range r.parts {
				r.drop(p, false)
			}
		case <-tick.C:
			r.refresh()
			if !r.stopping {
				r.heartbeat(ctx)
				r.balance(ctx)
			}
		case <-r.poke:
			if !r.stopping {
				r.balance(ctx)
			}
		}
		if r.stopping && len(r.parts) == 0 {
			break
		}
	}
	q.log.Info("natsstore: stopped; partitions handed back")
	return nil
}

// runner is Run's state; only Run's goroutine touches it.
type runner struct {
	q        *Queue
	dispatch func(picoclaw.Inbound) bool
	parts    map[int]*partition // leases held, releasing ones included
	stopping bool
	members  int
	// instance tells this process's heartbeats from those of another
	// process with the same node name; memberRev is the last one's revision.
	instance  string
	memberRev uint64

	released chan *partition // drained, ready to hand back
	lost     chan *partition // its consumer was taken over
	poke     chan struct{}   // a lease was handed back somewhere: claim now
	exit     chan struct{}   // closed when Run returns
}

func (r *runner) memberKey() string { return "node." + queueToken(r.q.cfg.Node) }

// opContext bounds one lease operation well inside a refresh period.
func (r *runner) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), min(opTimeout, r.q.cfg.LeaseTTL/3))
}

// heartbeat renews this gateway's membership; members that stop doing so
// vanish from P_members after LeaseTTL. It writes by revision, so that a
// second process started with the same node name is noticed and logged:
// each would count the other as itself and take too large a share.
func (r *runner) heartbeat(ctx context.Context) {
	octx, cancel := r.opContext(ctx)
	defer cancel()
	key, val := r.memberKey(), []byte(r.q.cfg.Node+" "+r.instance)
	if r.memberRev != 0 {
		rev, err := r.q.member.Update(octx, key, val, r.memberRev)
		if err == nil {
			r.memberRev = rev
			return
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			r.q.log.Warn("natsstore: membership heartbeat", "err", err)
			return
		}
		if e, err := r.q.member.Get(octx, key); err == nil && string(e.Value()) != string(val) {
			r.q.log.Error("natsstore: another process heartbeats with this gateway's node name; node names must be unique", "node", r.q.cfg.Node)
		}
	}
	rev, err := r.q.member.Put(octx, key, val)
	if err != nil {
		r.q.log.Warn("natsstore: membership heartbeat", "err", err)
		return
	}
	r.memberRev = rev
}

// leave deletes this gateway's membership.
func (r *runner) leave(ctx context.Context) {
	octx, cancel := r.opContext(ctx)
	defer cancel()
	if err := r.q.member.Delete(octx, r.memberKey()); err != nil {
		r.q.log.Warn("natsstore: stopping: leave membership", "err", err)
	}
}

// watchReleases pokes the loop whenever a lease is handed back or a
// gateway leaves, so that a graceful stop's partitions are taken over at
// once, not at the next tick.
func (r *runner) watchReleases(ctx context.Context) {
	for _, kv := range []jetstream.KeyValue{r.q.leases, r.q.member} {
		r.watchDeletes(ctx, kv)
	}
}

func (r *runner) watchDeletes(ctx context.Context, kv jetstream.KeyValue) {
	w, err := kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		r.q.log.Warn("natsstore: watch bucket; takeovers wait for the next tick", "bucket", kv.Bucket(), "err", err)
		return
	}
	go func() {
		defer w.Stop()
		for e := range w.Updates() {
			if e != nil && e.Operation() != jetstream.KeyValuePut {
				select {
				case r.poke <- struct{}{}:
				default:
				}
			}
		}
	}()
}

// refresh renews every lease held, several at once (renewed one after
// the other, 32 leases at a few hundred milliseconds each would outlast a
// lease). A lease someone else now holds, or one not renewed for a whole
// LeaseTTL (NATS unreachable), stops its partition at once: another
// gateway may be working it.
func (r *runner) refresh() {
	parts := r.sorted()
	type renewal struct {
		rev  uint64
		sent time.Time
		err  error
	}
	done := make([]renewal, len(parts))
	var wg sync.WaitGroup
	slots := make(chan struct{}, refreshParallel)
	for i, p := range parts {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			ctx, cancel := r.opContext(context.Background())
			defer cancel()
			sent := time.Now()
			rev, err := r.q.leases.Update(ctx, p.leaseKey(), []byte(r.q.cfg.Node), p.rev)
			done[i] = renewal{rev: rev, sent: sent, err: err}
		})
	}
	wg.Wait()
	for i, p := range parts {
		switch err := done[i].err; {
		case err == nil:
			p.rev = done[i].rev
			p.setRefreshed(done[i].sent)
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound):
			r.q.log.Warn("natsstore: partition lease lost to another gateway", "partition", p.n)
			r.drop(p, false)
		case p.sinceRefreshed() >= r.q.cfg.LeaseTTL:
			r.q.log.Warn("natsstore: partition lease not renewed within its TTL; stopping it", "partition", p.n, "err", err)
			r.drop(p, false)
		default:
			r.q.log.Warn("natsstore: renew partition lease", "partition", p.n, "err", err)
		}
	}
}

// releaseCheck is how often a partition being handed back looks at its
// turns' progress.
const releaseCheck = time.Second

// refreshParallel bounds the lease renewals in flight at once.
const refreshParallel = 8

// balance claims free partitions up to this gateway's share and hands
// back those above it.
func (r *runner) balance(ctx context.Context) {
	n, err := r.liveMembers(ctx)
	if err != nil {
		r.q.log.Warn("natsstore: count live gateways", "err", err)
		return
	}
	r.members = n
	parts := r.q.cfg.Partitions
	share := (parts + n - 1) / n
	var active []*partition
	for _, p := range r.sorted() {
		if !p.releasing {
			active = append(active, p)
		}
	}
	if len(active) > share {
		extra := active[share:]
		for _, p := range extra {
			r.release(p)
		}
		r.q.log.Info("natsstore: handing back partitions above this gateway's share",
			"released", partNumbers(extra), "owned", share, "share", share, "members", n)
		return
	}
	var claimed []int
	start := int(fnv32(r.q.cfg.Node) % uint32(parts)) // spread concurrent claimers
	for i := 0; i < parts && len(active)+len(claimed) < share; i++ {
		pn := (start + i) % parts
		if r.parts[pn] != nil {
			continue
		}
		if r.claim(ctx, pn) {
			claimed = append(claimed, pn)
		}
	}
	if len(claimed) > 0 {
		sort.Ints(claimed)
		r.q.log.Info("natsstore: claimed partitions", "claimed", claimed, "owned", len(active)+len(claimed), "share", share, "members", n)
	}
}

// liveMembers counts the gateways whose heartbeat is alive (this one too).
func (r *runner) liveMembers(ctx context.Context) (int, error) {
	octx, cancel := r.opContext(ctx)
	defer cancel()
	keys, err := r.q.member.Keys(octx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	n := len(keys)
	self := r.memberKey()
	if !contains(keys, self) {
		n++
	}
	return n, nil
}

// claim tries to win partition pn's lease and start working it.
func (r *runner) claim(ctx context.Context, pn int) bool {
	p := &partition{n: pn}
	octx, cancel := r.opContext(ctx)
	sent := time.Now()
	rev, err := r.q.leases.Create(octx, p.leaseKey(), []byte(r.q.cfg.Node))
	cancel()
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false
	}
	if err != nil {
		r.q.log.Warn("natsstore: claim partition", "partition", pn, "err", err)
		return false
	}
	p.rev = rev
	p.setRefreshed(sent)
	if err := r.q.startPartition(ctx, p, r.dispatch, r.onLost); err != nil {
		if ctx.Err() != nil {
			r.deleteLease(p)
			return false
		}
		r.q.log.Error("natsstore: start partition; handing its lease back", "partition", pn, "err", err)
		r.deleteLease(p)
		return false
	}
	if r.parts == nil {
		r.parts = map[int]*partition{}
	}
	r.parts[pn] = p
	r.q.mu.Lock()
	r.q.owned[pn] = p
	r.q.mu.Unlock()
	return true
}

// onLost tells the loop that p's consumer was taken over by another gateway.
func (r *runner) onLost(p *partition) {
	select {
	case r.lost <- p:
	case <-r.exit:
	}
}

// release hands p back gracefully: it stops fetching at once, keeps the
// lease while its messages in flight are finished (so that nobody else
// answers a later message of the same chat first), then r.released gets it.
func (r *runner) release(p *partition) {
	if p.releasing {
		return
	}
	p.releasing = true
	p.cancel()
	go func() {
		<-p.exited
		r.q.mu.Lock()
		idle := p.idle
		r.q.mu.Unlock()
		// Bounded: turns that stop making progress (none finishing for
		// the longest a turn may take) must not hold a partition, and
		// every chat in it, forever. What it still holds then is
		// redelivered to the next owner. A chat's queued turns run one
		// after another, so each finished one restarts the wait.
		check := time.NewTicker(releaseCheck)
		defer check.Stop()
		r.q.mu.Lock()
		left := p.inFlight
		r.q.mu.Unlock()
		deadline := time.Now().Add(r.q.cfg.ReleaseWait)
	wait:
		for {
			select {
			case <-idle:
				break wait
			case <-check.C:
				r.q.mu.Lock()
				now := p.inFlight
				r.q.mu.Unlock()
				if now < left {
					left, deadline = now, time.Now().Add(r.q.cfg.ReleaseWait)
				}
				if time.Now().After(deadline) {
					r.q.log.Warn("natsstore: handing a partition back with messages still in flight; the next owner gets them again",
						"partition", p.n, "in_flight", now)
					break wait
				}
			case <-r.exit:
				return
			}
		}
		select {
		case r.released <- p:
		case <-r.exit:
		}
	}()
}

// forget stops working p and lets its lease run out, touching neither
// the lease nor the consumer, which may be another gateway's by now. It
// is false if p was no longer held.
func (r *runner) forget(p *partition) bool {
	if r.parts[p.n] != p {
		return false
	}
	delete(r.parts, p.n)
	r.q.mu.Lock()
	delete(r.q.owned, p.n)
	r.q.mu.Unlock()
	p.cancel()
	return true
}

// drop forgets p and deletes its lease. Handed back gracefully its
// consumer is deleted too, so the next owner knows nothing was left
// unfinished; otherwise the consumer stays and the next owner's takeover
// redelivers what it held.
func (r *runner) drop(p *partition, graceful bool) {
	if !r.forget(p) {
		return
	}
	if graceful {
		ctx, cancel := r.opContext(context.Background())
		if err := r.q.stream.DeleteConsumer(ctx, consumerName(p.n)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			r.q.log.Warn("natsstore: delete released partition's consumer", "partition", p.n, "err", err)
		}
		cancel()
	}
	r.deleteLease(p)
	if graceful && !r.stopping {
		r.q.log.Info("natsstore: released partition", "partition", p.n, "owned", len(r.parts))
	}
}

// deleteLease deletes p's lease if it is still this gateway's.
func (r *runner) deleteLease(p *partition) {
	ctx, cancel := r.opContext(context.Background())
	defer cancel()
	err := r.q.leases.Delete(ctx, p.leaseKey(), jetstream.LastRevision(p.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		r.q.log.Debug("natsstore: delete partition lease", "partition", p.n, "err", err)
	}
}

func (r *runner) sorted() []*partition {
	out := make([]*partition, 0, len(r.parts))
	for _, p := range r.parts {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out
}

func partNumbers(ps []*partition) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.n
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
