package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// watcher looks at the statement running on the apply session from a second session: it
// notes who blocks a lock wait (the apply session cannot ask while it waits, and once
// lock_timeout cancelled the wait the blockers are gone from pg_locks), and logs the
// progress of long statements, so a Job's log is not silent for the length of an index build.
type watcher struct {
	conn     *pgx.Conn // the second session; nil watches nothing
	pid      uint32    // the apply session's backend pid
	sample   time.Duration
	progress time.Duration
	log      func(string)
	mu       sync.Mutex // conn is used by one watch at a time
}

// watch runs fn (a statement on the apply session) and returns its error and the last
// blockers seen while it ran. what names the statement in progress lines.
func (w *watcher) watch(what string, fn func() error) (error, []Session) {
	if w == nil {
		return fn(), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return fn(), nil
	}
	done := make(chan struct{})
	result := make(chan []Session, 1)
	conn, start := w.conn, time.Now()
	// Most statements end before the first sample: for them a timer is all it costs, with
	// no goroutine to start and wait for.
	t := time.AfterFunc(w.sample, func() { result <- w.loop(conn, what, start, done) })
	err := fn()
	if t.Stop() {
		return err, nil
	}
	close(done)
	select {
	case b := <-result:
		return err, b
	case <-time.After(2 * time.Second):
		// The watch session hangs (server gone?): stop watching rather than hold up the
		// run; its query gives up on its own timeout.
		w.log("warning: the watch session does not answer; lock blockers and progress are no longer reported")
		w.conn = nil
		return err, nil
	}
}

// loop samples the statement started at start, now and every w.sample until done.
func (w *watcher) loop(conn *pgx.Conn, what string, start time.Time, done <-chan struct{}) []Session {
	next := w.progress
	var last []Session
	t := time.NewTicker(w.sample)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if b, err := Blockers(ctx, conn, w.pid); err == nil && len(b) > 0 {
			last = b
		}
		running := time.Since(start)
		if w.log != nil && w.progress > 0 && running >= next {
			next += w.progress
			w.log(w.describe(ctx, conn, what, running))
		}
		cancel()
		select {
		case <-done:
			return last
		case <-t.C:
		}
	}
}

// describe is one progress line: an index build's phase and blocks from
// pg_stat_progress_create_index, a lock wait's blockers, or just how long it runs.
func (w *watcher) describe(ctx context.Context, conn *pgx.Conn, what string, running time.Duration) string {
	line := fmt.Sprintf("still running %s (%s)", what, running.Round(time.Second))
	var phase, index string
	var done, total, tdone, ttotal int64
	err := conn.QueryRow(ctx, `
SELECT coalesce(phase, ''), CASE WHEN index_relid = 0 THEN '' ELSE index_relid::regclass::text END,
       coalesce(blocks_done, 0), coalesce(blocks_total, 0), coalesce(tuples_done, 0), coalesce(tuples_total, 0)
FROM pg_stat_progress_create_index WHERE pid = $1`, int64(w.pid)).Scan(&phase, &index, &done, &total, &tdone, &ttotal)
	if err == nil {
		line += ": index build"
		if index != "" {
			line += " of " + index
		}
		line += ", phase " + phase
		switch { // the phase counts either tuples (sorting, loading) or blocks (scanning)
		case ttotal > 0:
			line += fmt.Sprintf(", tuples %d of %d (%d%%)", tdone, ttotal, tdone*100/ttotal)
		case total > 0:
			line += fmt.Sprintf(", blocks %d of %d (%d%%)", done, total, done*100/total)
		}
	}
	if b, err := Blockers(ctx, conn, w.pid); err == nil && len(b) > 0 {
		line += ": waiting for a lock held by " + sessions(b)
	}
	return line
}
