// Package cron schedules messages for later: one-shot reminders ("at"),
// fixed intervals ("every") and cron expressions ("cron"), each delivered
// to a chat either verbatim or as a prompt run through the agent.
//
// Jobs live in <workspace>/cron/jobs.json, rewritten atomically (temporary
// file, fsync, rename) after every change. The gateway's Service and the
// `picoclaw cron` CLI both edit that file through a Service; the running
// gateway notices another process's edit by comparing the file's identity,
// modification time and size with what it last read or wrote, at every
// scheduler wake-up and at least every 30 seconds, and before each change
// it makes itself. So a job added from the CLI is picked up within 30 s.
//
// Several gateways of one bot share their jobs instead through a JobStore
// (NewServiceWith; package storage/natsstore keeps them in NATS): saves go
// by revision, so concurrent edits are made again on the other's jobs
// rather than lost, and each gateway looks for others' edits every
// Options.Poll. Every gateway evaluates the schedules; a firing runs only
// on the gateway whose Options.Claim for (job, slot) returns true, and
// that one saves the run state. "every" jobs then step from their previous
// slot, so all gateways name the same slots. A job still running on one
// gateway may be fired again by another when it is next due.
//
// Timing rules:
//   - "at" jobs run once and are then disabled (kept, so their outcome stays
//     visible); an "at" time in the past is refused when adding.
//   - A job whose next run passed while the gateway was down runs once at
//     start-up, then follows its schedule; missed runs are not replayed.
//   - A recurring job still running when it is due again skips that run.
//   - Cron expressions have five fields (minute hour day-of-month month
//     day-of-week) or a descriptor such as @daily, evaluated in the job's
//     tz (an IANA name) or else the process's local time zone.
package cron
