package natsstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"picoclaw/cron"
)

// jobsKey is the key of the jobs in the cron bucket.
const jobsKey = "jobs"

// jobsVersion is the "version" of the jobs value, as in jobs.json.
const jobsVersion = 1

type jobsValue struct {
	Version int        `json:"version"`
	Jobs    []cron.Job `json:"jobs"`
}

// CronJobs keeps the cron jobs in the P_cron bucket for every gateway
// (a cron.JobStore) and claims their firings (Claim is a cron.ClaimFunc).
type CronJobs struct {
	kv jetstream.KeyValue
	// claimant is written into claims: the gateway's name, to tell who
	// fired, and a random instance, so that a claim whose reply was lost
	// is recognised as this one's when it is retried.
	claimant []byte

	mu sync.Mutex
	// unsure holds the claim keys whose create failed without an answer
	// (it may have landed): only their retry may find its own claim and
	// win. A slot this gateway claimed and fired is never won again.
	unsure map[string]bool
}

// maxUnsure bounds unsure; past it every doubt is dropped (those slots
// are then left to whoever holds the claim, as if another gateway did).
const maxUnsure = 256

// CronJobs returns the store's shared cron jobs.
func (s *Store) CronJobs() *CronJobs {
	return &CronJobs{kv: s.cronKV, claimant: []byte(s.nc.Opts.Name + "/" + rand.Text()), unsure: map[string]bool{}}
}

// doubt records (on) or clears whether key's create may have landed unanswered.
func (c *CronJobs) doubt(key string, on bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.unsure[key]
	delete(c.unsure, key)
	if on {
		if len(c.unsure) >= maxUnsure {
			clear(c.unsure)
		}
		c.unsure[key] = true
	}
	return was
}

var _ cron.JobStore = (*CronJobs)(nil)

// Load returns the jobs and their revision; none and 0 before any Save.
func (c *CronJobs) Load(ctx context.Context) ([]cron.Job, uint64, error) {
	e, err := c.kv.Get(ctx, jobsKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("natsstore: load cron jobs: %w", err)
	}
	var v jobsValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return nil, 0, fmt.Errorf("natsstore: load cron jobs: revision %d is not a jobs value: %w", e.Revision(), err)
	}
	if v.Version > jobsVersion {
		return nil, 0, fmt.Errorf("natsstore: load cron jobs: version %d; this build reads version %d", v.Version, jobsVersion)
	}
	return v.Jobs, e.Revision(), nil
}

// Revision returns the jobs' current revision (0 before any Save).
func (c *CronJobs) Revision(ctx context.Context) (uint64, error) {
	e, err := c.kv.Get(ctx, jobsKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("natsstore: cron jobs revision: %w", err)
	}
	return e.Revision(), nil
}

// Save stores jobs if they are still at revision prev; otherwise it fails
// with cron.ErrConflict and the caller reloads.
func (c *CronJobs) Save(ctx context.Context, jobs []cron.Job, prev uint64) (uint64, error) {
	if jobs == nil {
		jobs = []cron.Job{}
	}
	data, err := json.Marshal(jobsValue{Version: jobsVersion, Jobs: jobs})
	if err != nil {
		return 0, fmt.Errorf("natsstore: save cron jobs: encode: %w", err)
	}
	var rev uint64
	if prev == 0 {
		rev, err = c.kv.Create(ctx, jobsKey, data)
	} else {
		rev, err = c.kv.Update(ctx, jobsKey, data, prev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("natsstore: save cron jobs over revision %d: %w", prev, cron.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("natsstore: save cron jobs: %w", err)
	}
	return rev, nil
}

// Claim creates the key fire.<job>.<unix-seconds> for job jobID's firing
// at at: exactly one gateway's create succeeds, and only that one fires.
// Claims expire after an hour.
func (c *CronJobs) Claim(ctx context.Context, jobID string, at time.Time) (bool, error) {
	key := "fire." + encodeToken(jobID) + "." + strconv.FormatInt(at.Unix(), 10)
	_, err := c.kv.Create(ctx, key, c.claimant, jetstream.KeyTTL(claimTTL))
	switch {
	case err == nil:
		c.doubt(key, false)
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		if !c.doubt(key, false) {
			return false, nil // another gateway's, or a slot fired here already
		}
		// Retrying a create whose answer was lost: if it landed, the
		// claim is this one's and the slot fires here.
		e, gerr := c.kv.Get(ctx, key)
		if gerr != nil {
			c.doubt(key, true)
			return false, fmt.Errorf("natsstore: claim cron job %q at %s: read the claim: %w", jobID, at.Format(time.RFC3339), gerr)
		}
		return bytes.Equal(e.Value(), c.claimant), nil
	default:
		c.doubt(key, true)
		return false, fmt.Errorf("natsstore: claim cron job %q at %s: %w", jobID, at.Format(time.RFC3339), err)
	}
}

// CronOptions are the cron.Options of a gateway sharing its jobs through
// this store: shared jobs, claimed firings, a look for others' edits every
// two seconds.
func (s *Store) CronOptions() cron.Options {
	jobs := s.CronJobs()
	return cron.Options{Jobs: jobs, Claim: jobs.Claim, Poll: 2 * time.Second}
}
