package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/schemahook/schemahook/migrations"
)

// RetryPolicy says how often and how long to wait before running again a statement (or a
// transactional file) that failed only because it waited past lock_timeout. On a busy
// database a long report holds a lock now and then; a retry at a quieter moment succeeds
// where failing the sync would only move the retry to a human. A run's values come from
// config (DefaultLockRetries, DefaultLockRetryWait, DefaultLockRetryMaxWait) through the
// migrate flags; the zero-value waits below only keep a bare engine caller from spinning.
type RetryPolicy struct {
	Attempts int           // retries after the first attempt; 0 never retries
	Wait     time.Duration // wait before the first retry, doubled for each next one (0: 1s)
	MaxWait  time.Duration // cap of a single wait (0: 30s)
}

// lockTimedOut reports a lock wait cancelled by lock_timeout (or a NOWAIT lock refused):
// SQLSTATE 55P03 lock_not_available. Nothing of the statement ran.
func lockTimedOut(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// backoff is the wait before retry number attempt: Wait doubled per attempt, capped at
// MaxWait, with "equal jitter" (half fixed, half random) so that runners that collided on
// one lock do not come back at the same moment.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	wait, maxWait := p.Wait, p.MaxWait
	if wait <= 0 {
		wait = time.Second
	}
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	d := wait
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}

// pause logs the lock timeout and waits before attempt+1 when the policy and the run's
// deadline allow one more attempt that could wait its full lock_timeout. It returns "" when
// the caller should retry, else why not (appended to the error).
func (a *applier) pause(ctx context.Context, attempt int, what string, blockers []Session, undone string) string {
	p := a.o.Retry
	if attempt > p.Attempts {
		if p.Attempts == 0 {
			return "; not retried (apply.lockRetries.attempts is 0)"
		}
		return fmt.Sprintf("; gave up after %d attempts (apply.lockRetries.attempts: %d retries)", attempt, p.Attempts)
	}
	wait := p.backoff(attempt)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+a.o.LockTimeout {
		return fmt.Sprintf("; gave up after %d attempt(s): the run's timeout leaves no time for another", attempt)
	}
	a.o.Log(fmt.Sprintf("%s: waited past lock_timeout (%v)%s; %s; retrying in %s (retry %d of %d)",
		what, a.o.LockTimeout, a.blockedBy(blockers), undone, wait.Round(10*time.Millisecond), attempt, p.Attempts))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return "; interrupted while waiting to retry"
	case <-t.C:
		return ""
	}
}

// blockedBy names the blockers for an error or log line.
func (a *applier) blockedBy(ss []Session) string {
	if a.w == nil {
		return "" // nobody watched
	}
	if len(ss) == 0 {
		return "; no blocking session was seen (it may have let go just as the wait timed out)"
	}
	return "; blocked by " + sessions(ss)
}

// warnBlockers logs, before the first statement, the sessions that hold locks on the
// tables the pending files touch and are idle in a transaction or in a long one: the DDL
// will likely wait for them.
func (a *applier) warnBlockers(ctx context.Context, files []*migrations.File) {
	minAge := max(a.o.LockTimeout, time.Second)
	var exclude []uint32
	if a.w != nil {
		exclude = append(exclude, a.o.Watch.PgConn().PID())
	}
	// Parsing every pending statement for its tables costs more than asking the server
	// once whether any such session exists at all; usually none does.
	ss, err := LockHolders(ctx, a.conn, nil, minAge, exclude...)
	if err != nil || len(ss) == 0 {
		return
	}
	tables := Tables(files)
	if len(tables) == 0 {
		return
	}
	ss, err = LockHolders(ctx, a.conn, tables, minAge, exclude...)
	if err != nil || len(ss) == 0 {
		return
	}
	a.o.Log(fmt.Sprintf("warning: %d session(s) hold locks on tables the pending migrations touch and are idle in a transaction or have had one open for over %v; the migrations will likely wait for them (lock_timeout %v): %s",
		len(ss), minAge, a.o.LockTimeout, sessions(ss)))
}
