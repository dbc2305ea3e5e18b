package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/failure"
)

// The lock is a session-level advisory lock keyed by (hashtext('schemahook'),
// hashtext(revisions schema)). Advisory locks are per database, so the key is per target
// and revisions schema. It needs a real session: behind PgBouncer in transaction pooling
// mode the lock would be taken on one server connection and the migrations run on others.
const lockKeySQL = `hashtext('schemahook'), hashtext($1)`

// Lock takes the migration lock for schema on conn, waiting up to wait while another
// runner holds it and logging who that is. It fails with code 6 when the time is up.
func Lock(ctx context.Context, conn *pgx.Conn, schema string, wait time.Duration, log func(string)) error {
	deadline := time.Now().Add(wait)
	interval := 50 * time.Millisecond
	var said string
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKeySQL+`)`, schema).Scan(&ok); err != nil {
			return &failure.Error{Exit: failure.ExitConnect, Rule: "lock", Msg: "taking the migration lock: " + err.Error(), Err: err}
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
			return &failure.Error{Exit: failure.ExitConnect, Rule: "lock",
				Msg: fmt.Sprintf("another schemahook run holds the migration lock of revisions schema %q and did not release it within %v: %s", schema, wait, who)}
		}
		if log != nil && found && fmt.Sprint(h.PID) != said {
			log(fmt.Sprintf("waiting up to %v for the migration lock of revisions schema %q, held by %s", wait, schema, who))
			said = fmt.Sprint(h.PID)
		}
		select {
		case <-ctx.Done():
			return &failure.Error{Exit: failure.ExitConnect, Rule: "lock", Msg: "interrupted while waiting for the migration lock", Err: ctx.Err()}
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

// lockHolder is the session holding the migration lock, if any.
func lockHolder(ctx context.Context, conn *pgx.Conn, schema string) (Session, bool, error) {
	rows, err := conn.Query(ctx, `
SELECT `+sessionColumns+`
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = hashtext('schemahook')::oid AND l.objid = hashtext($1)::oid
LIMIT 1`, schema)
	if err != nil {
		return Session{}, false, err
	}
	ss, err := collectSessions(rows)
	if err != nil || len(ss) == 0 {
		return Session{}, false, err
	}
	return ss[0], true, nil
}
