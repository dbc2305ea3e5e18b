package engine

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Session is another database session as pg_stat_activity shows it: who holds a lock the
// run needs, or who will likely block the pending DDL. Query is the start of its current or
// last statement with every literal replaced by a placeholder, so a password or a customer's
// data in a literal is never printed.
type Session struct {
	PID     int
	App     string
	User    string
	Client  string
	State   string
	XactAge time.Duration // 0 when no transaction is open
	Query   string
	Waiting bool // itself waiting for a lock (queued ahead of us)
}

func (s Session) String() string {
	app := s.App
	if app == "" {
		app = "(none)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d (application_name %q, user %q", s.PID, app, s.User)
	if s.Client != "" {
		fmt.Fprintf(&b, ", from %s", s.Client)
	}
	if s.State != "" {
		fmt.Fprintf(&b, ", %s", s.State)
	}
	if s.XactAge > 0 {
		fmt.Fprintf(&b, ", transaction open %s", s.XactAge.Round(time.Second))
	}
	if s.Waiting {
		b.WriteString(", itself waiting for a lock")
	}
	if s.Query != "" {
		fmt.Fprintf(&b, ", query: %s", s.Query)
	}
	b.WriteString(")")
	return b.String()
}

// sessions joins the descriptions of ss.
func sessions(ss []Session) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, "; ")
}

// sessionColumns reads a Session from pg_stat_activity a; the query text is cut server-side.
const sessionColumns = `a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),
  coalesce(host(a.client_addr), ''), coalesce(a.state, ''),
  coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8,
  coalesce(a.wait_event_type = 'Lock', false), left(coalesce(a.query, ''), 2000)`

func collectSessions(rows pgx.Rows) ([]Session, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Session, error) {
		var s Session
		var age float64
		err := r.Scan(&s.PID, &s.App, &s.User, &s.Client, &s.State, &age, &s.Waiting, &s.Query)
		s.XactAge = time.Duration(age * float64(time.Second))
		s.Query = SafeQuery(s.Query, 160)
		return s, err
	})
}

// Blockers returns the sessions that block pid's lock wait now (none when it is not
// waiting for a lock).
func Blockers(ctx context.Context, q *pgx.Conn, pid uint32) ([]Session, error) {
	rows, err := q.Query(ctx, `
SELECT `+sessionColumns+`
FROM pg_stat_activity me
CROSS JOIN LATERAL unnest(CASE WHEN me.wait_event_type = 'Lock' THEN pg_blocking_pids(me.pid) END) AS b(pid)
JOIN pg_stat_activity a ON a.pid = b.pid
WHERE me.pid = $1
ORDER BY a.xact_start NULLS LAST, a.pid`, int64(pid))
	if err != nil {
		return nil, err
	}
	return collectSessions(rows)
}

// LockHolders returns the sessions other than ours (and exclude) that hold a lock on one
// of the tables and are idle in a transaction or have had one open for at least minAge:
// the pending DDL will likely wait for them. tables are names as the migrations write them
// ("orders", "shop.orders"), resolved with the session's search_path; unknown ones (tables
// the migrations create) are skipped. nil tables means any table.
func LockHolders(ctx context.Context, q *pgx.Conn, tables []string, minAge time.Duration, exclude ...uint32) ([]Session, error) {
	ex := []int64{}
	for _, p := range exclude {
		ex = append(ex, int64(p))
	}
	rows, err := q.Query(ctx, `
WITH rel AS (
  SELECT DISTINCT to_regclass(n) AS oid FROM unnest($1::text[]) AS t(n)
)
SELECT DISTINCT ON (a.pid) `+sessionColumns+`
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.locktype = 'relation'
  AND ($1::text[] IS NULL OR l.relation IN (SELECT oid FROM rel))
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND a.pid <> pg_backend_pid() AND a.pid <> ALL($2::int8[])
  AND (a.state LIKE 'idle in transaction%' OR a.xact_start < now() - make_interval(secs => $3))
ORDER BY a.pid`, tables, ex, minAge.Seconds())
	if err != nil {
		return nil, err
	}
	return collectSessions(rows)
}

var (
	numberRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b[0-9][0-9._eE+-]*\b`) })
	spaceRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\s+`) })
)

// SafeQuery is the start of query, at most n bytes, with every string and numeric literal
// replaced by a placeholder ($1, $2, ...) by the Postgres parser's normalizer. A query the
// parser cannot read (cut by track_activity_query_size, say) is cut before its first quote
// and its numbers are replaced, so no literal survives either way.
func SafeQuery(query string, n int) string {
	query = strings.TrimSpace(query)
	if query == "" {
		return ""
	}
	// Normalize replaces the constants of plannable statements, NormalizeUtility those of
	// utility statements (ALTER ROLE ... PASSWORD '...').
	safe, err := pg_query.Normalize(query)
	if err == nil {
		safe, err = pg_query.NormalizeUtility(safe)
	}
	if err != nil {
		safe = query
		if i := strings.IndexAny(safe, `'$"`); i >= 0 {
			safe = safe[:i] + "…"
		}
		safe = numberRE().ReplaceAllString(safe, "?")
	}
	safe = spaceRE().ReplaceAllString(safe, " ")
	if len(safe) > n {
		cut := n
		for cut > 0 && !isRuneStart(safe[cut]) {
			cut--
		}
		safe = safe[:cut] + "…"
	}
	return safe
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
