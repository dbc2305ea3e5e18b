package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/schemahook/schemahook/failure"
)

// A run needs one server session for its whole life: the migration lock is a session
// advisory lock, settings are SET per session, and a non-transactional file records its
// progress between statements. A pooler in transaction (or statement) pooling mode, such
// as PgBouncer with pool_mode = transaction, hands each transaction whichever server
// connection is free, so the lock would be held by one server session while the
// migrations ran on others, and two runners could both go ahead. checkSession refuses
// such a connection.
//
// How it tells, without trusting anything a pooler says about itself (SHOW pool_mode only
// reaches PgBouncer's admin console; application_name and reset queries tell nothing):
//
//  1. Postgres sends every client its backend's pid in BackendKeyData. Poolers send a key
//     of their own, since they hand out server sessions. When that pid is the backend's
//     (pg_backend_pid()), the connection is direct and nothing more is checked.
//  2. Otherwise a second connection opens a transaction, which pins a server session to it
//     for as long as the transaction is open, and our connection asks again which backend
//     it runs on. Behind session pooling (or a plain TCP proxy) our connection keeps its
//     backend and the second one gets another. Behind transaction pooling our connection
//     holds no backend between transactions: the second one is handed the backend we
//     just used (PgBouncer reuses the most recently released server first), or our next
//     statement lands on another one (or waits for one). This is done three times, so
//     that other clients of the pool reshuffling its server connections cannot hide it.
//
// The check costs one query on a direct connection and a second connection behind a
// pooler: a session pool needs one spare server connection while a run starts.
func checkSession(ctx context.Context, conn *pgx.Conn, cfg *pgx.ConnConfig, where string) error {
	pid, err := backendPID(ctx, conn)
	if err != nil {
		return &failure.Error{Exit: failure.ExitConnect, Rule: "connect", Msg: fmt.Sprintf("cannot query %s: %v", where, err), Err: err}
	}
	if pid == conn.PgConn().PID() {
		return nil
	}
	refuse := func(why string) error {
		return &failure.Error{Exit: failure.ExitConnect, Rule: "pooler", Msg: fmt.Sprintf(
			"%s is a connection pooler that does not keep one server session per client (PgBouncer pool_mode = transaction or statement): %s. "+
				"schemahook needs one session for the whole run (session advisory lock, SET, progress of non-transactional files): "+
				"point DATABASE_URL at the Postgres server directly, or at a pooler database or port with pool_mode = session; keep the transaction-pooled URL for the application",
			where, why)}
	}
	probeCfg := cfg.Copy()
	probeCfg.RuntimeParams["application_name"] = "schemahook pooler check"
	probeCfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	probe, err := pgx.ConnectConfig(pctx, probeCfg)
	if err != nil {
		return &failure.Error{Exit: failure.ExitConnect, Rule: "pooler", Err: err, Msg: fmt.Sprintf(
			"%s is behind a connection pooler, and a second connection to check its pooling mode failed: %v", where, err)}
	}
	defer probe.Close(context.Background())
	for range 3 {
		before, err := timedPID(ctx, conn)
		if err != nil {
			return refuse(err.Error())
		}
		if before != pid {
			return refuse(fmt.Sprintf("the same connection ran on backend pid %d, then on pid %d", pid, before))
		}
		tx, err := probe.Begin(pctx)
		if err != nil {
			return &failure.Error{Exit: failure.ExitConnect, Rule: "pooler", Err: err, Msg: fmt.Sprintf(
				"%s is behind a connection pooler, and a second connection to check its pooling mode got no server session (is the pool full? a run needs one spare): %v", where, err)}
		}
		other, err := backendPID(pctx, tx)
		if err != nil {
			tx.Rollback(context.Background())
			return &failure.Error{Exit: failure.ExitConnect, Rule: "pooler", Err: err, Msg: fmt.Sprintf(
				"%s is behind a connection pooler, and a second connection to check its pooling mode got no server session (is the pool full? a run needs one spare): %v", where, err)}
		}
		after, err := timedPID(ctx, conn)
		tx.Rollback(context.Background())
		switch {
		case other == pid:
			return refuse(fmt.Sprintf("another client was given the backend (pid %d) this connection had just used", pid))
		case err != nil:
			return refuse(err.Error())
		case after != pid:
			return refuse(fmt.Sprintf("the same connection ran on backend pid %d, then on pid %d", pid, after))
		}
	}
	return nil
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// backendPID asks which server process runs the statement. The simple protocol keeps it
// one message, so a pooler cannot split it across server connections.
func backendPID(ctx context.Context, q rowQuerier) (uint32, error) {
	var pid uint32
	err := q.QueryRow(ctx, "SELECT pg_backend_pid()", pgx.QueryExecModeSimpleProtocol).Scan(&pid)
	return pid, err
}

// timedPID is backendPID on our own connection while the probe may hold the pool's only
// free server connection: a connection with its own session answers at once, while one
// without waits for a server, which is itself the answer.
func timedPID(ctx context.Context, conn *pgx.Conn) (uint32, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pid, err := backendPID(ctx, conn)
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return 0, errors.New("this connection had no server session of its own while another client held one")
	}
	return pid, err
}
