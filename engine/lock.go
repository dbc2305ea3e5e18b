package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The lock is a session-level advisory lock keyed by (hashtext('schemahook'),
// hashtext(revisions schema)). Advisory locks are per database, so the key is per target
// and revisions schema. It needs a real session: behind PgBouncer in transaction pooling
// mode the lock would be taken on one server connection and the migrations run on others.
const lockKeySQL = `hashtext('schemahook'), hashtext($1)`

// Holder describes the session holding the lock, from pg_stat_activity.
type Holder struct {
	PID     int
	App     string
	Client  string
	Since   time.Time
	State   string
	Query   string
	Elapsed time.Duration
}

func (h Holder) String() string {
	app := h.App
	if app == "" {
		app = "(no application_name)"
	}
	return fmt.Sprintf("pid %d, %s from %s, connected %s ago, %s", h.PID, app, h.Client, h.Elapsed.Round(time.Second), h.State)
}

// Lock takes the migration lock for schema on conn, waiting up to wait while another
// runner holds it and logging who that is. It fails with code 6 when the time is up.
func Lock(ctx context.Context, conn *pgx.Conn, schema string, wait time.Duration, log func(string)) error {
	deadline := time.Now().Add(wait)
	interval := 50 * time.Millisecond
	var said string
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKeySQL+`)`, schema).Scan(&ok); err != nil {
			return &Error{Code: CodeConnect, Rule: "lock", Msg: "taking the migration lock: " + err.Error(), Err: err}
		}
		if ok {
			return nil
		}
		h, found, err := lockHolder(ctx, conn, schema)
		who := "a session that just released it"
		if err == nil && found {
			who = h.String()
		}
		if time.Now().After(deadline) {
			return &Error{Code: CodeConnect, Rule: "lock",
				Msg: fmt.Sprintf("another schemahook run holds the migration lock of revisions schema %q and did not release it within %v: %s", schema, wait, who)}
		}
		if log != nil && found && fmt.Sprint(h.PID) != said {
			log(fmt.Sprintf("waiting up to %v for the migration lock of revisions schema %q, held by %s", wait, schema, who))
			said = fmt.Sprint(h.PID)
		}
		select {
		case <-ctx.Done():
			return &Error{Code: CodeConnect, Rule: "lock", Msg: "interrupted while waiting for the migration lock", Err: ctx.Err()}
		case <-time.After(interval):
		}
		interval = min(interval*2, time.Second)
	}
}

// Unlock releases the lock (closing the session releases it too).
func Unlock(ctx context.Context, conn *pgx.Conn, schema string) error {
	_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+lockKeySQL+`)`, schema)
	return err
}

func lockHolder(ctx context.Context, conn *pgx.Conn, schema string) (Holder, bool, error) {
	var h Holder
	var elapsed float64
	err := conn.QueryRow(ctx, `
SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'),
       a.backend_start, coalesce(a.state, ''), left(coalesce(a.query, ''), 200),
       extract(epoch FROM now() - a.backend_start)::float8
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = hashtext('schemahook')::oid AND l.objid = hashtext($1)::oid
LIMIT 1`, schema).Scan(&h.PID, &h.App, &h.Client, &h.Since, &h.State, &h.Query, &elapsed)
	if err == pgx.ErrNoRows {
		return h, false, nil
	}
	h.Elapsed = time.Duration(elapsed * float64(time.Second))
	return h, err == nil, err
}
