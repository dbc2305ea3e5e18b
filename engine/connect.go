package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/schemahook/schemahook/failure"
)

// ConnectOptions tune Connect.
type ConnectOptions struct {
	// Timeout bounds the retries while the server is starting or unreachable; 0 tries once.
	Timeout time.Duration
	// AppName is sent as application_name, so a waiting runner can say who holds the lock.
	AppName string
	// Log receives one line per retry state change (already redacted).
	Log func(string)
}

// Connect opens one connection to dbURL, retrying with backoff while the server is
// unreachable or starting up. Authentication, TLS and configuration errors fail at once,
// and so does a pooler that would not keep the connection on one server session
// (checkSession). All errors are *failure.Error (code 1 for a bad URL, 6 otherwise) and never
// contain the password.
func Connect(ctx context.Context, dbURL string, o ConnectOptions) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		if msg := tlsConfigProblem(err, dbURL); msg != "" {
			return nil, &failure.Error{Exit: failure.ExitUsage, Rule: "tls", Msg: fmt.Sprintf("database URL %s: %s", Redact(dbURL), RedactText(msg, dbURL))}
		}
		return nil, &failure.Error{Exit: failure.ExitUsage, Rule: "database-url",
			Msg: fmt.Sprintf("invalid database URL %s: %s", Redact(dbURL), RedactText(err.Error(), dbURL))}
	}
	if o.AppName != "" {
		cfg.RuntimeParams["application_name"] = o.AppName
	}
	// On cancel (SIGTERM, deadline) ask the server to cancel the running statement and wait
	// for its answer, so the session survives to record what happened.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 15 * time.Second}
	}
	where := Redact(dbURL)
	deadline := time.Now().Add(o.Timeout)
	backoff := 100 * time.Millisecond
	var lastMsg string
	for attempt := 1; ; attempt++ {
		attemptCfg := cfg.Copy()
		left := time.Until(deadline)
		attemptCfg.ConnectTimeout = min(max(left, time.Second), 10*time.Second)
		conn, err := pgx.ConnectConfig(ctx, attemptCfg)
		if err == nil {
			if err := checkSession(ctx, conn, attemptCfg, where); err != nil {
				conn.Close(context.Background())
				var e *failure.Error
				if errors.As(err, &e) {
					e.Msg = RedactText(e.Msg, dbURL)
				}
				return nil, err
			}
			// Postgres 14+: notice a vanished client (SIGKILLed pod) even in the middle of a
			// long statement, roll back and release the migration lock, instead of holding
			// it until the statement ends. Older servers refuse the setting; that is fine.
			conn.Exec(ctx, "SET client_connection_check_interval = 1000")
			return conn, nil
		}
		msg := RedactText(err.Error(), dbURL)
		if tlsMsg := tlsProblem(err, dbURL); tlsMsg != "" {
			return nil, &failure.Error{Exit: failure.ExitConnect, Rule: "tls", Msg: fmt.Sprintf("cannot connect to %s: %s", where, RedactText(tlsMsg, dbURL)), Err: err}
		}
		if permanent(err) {
			return nil, &failure.Error{Exit: failure.ExitConnect, Rule: "connect", Msg: fmt.Sprintf("cannot connect to %s: %s", where, msg), Err: err}
		}
		if ctx.Err() != nil {
			return nil, &failure.Error{Exit: failure.ExitConnect, Rule: "connect", Msg: fmt.Sprintf("interrupted while connecting to %s: %s", where, msg), Err: ctx.Err()}
		}
		if time.Now().Add(backoff).After(deadline) {
			return nil, &failure.Error{Exit: failure.ExitConnect, Rule: "connect",
				Msg: fmt.Sprintf("could not connect to %s within %v (%d attempts): %s", where, o.Timeout, attempt, msg), Err: err}
		}
		if o.Log != nil && msg != lastMsg {
			o.Log(fmt.Sprintf("waiting for the database %s (retrying for up to %v): %s", where, o.Timeout, msg))
			lastMsg = msg
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}

// permanent reports errors that retrying cannot fix: wrong password, unknown role or
// database, missing privilege, bad TLS setup.
func permanent(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "28"), // invalid_authorization_specification, invalid_password
			pe.Code == "3D000", // invalid_catalog_name: database does not exist
			pe.Code == "42501": // insufficient_privilege
			return true
		}
		return false // 57P03 cannot_connect_now (starting up), 53300 too_many_connections, ...
	}
	s := err.Error()
	return strings.Contains(s, "certificate") || strings.Contains(s, "server refused TLS")
}

// StripPassword returns dbURL without its password and the password, so external tools
// (pg_dump) get the password through PGPASSWORD rather than their command line.
func StripPassword(dbURL string) (stripped, password string) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dbURL, ""
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			password = pw
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if q.Has("password") {
		password = q.Get("password")
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), password
}
