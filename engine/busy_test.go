package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logs collects the log lines of a run; signal is closed on the first line containing want.
type logs struct {
	mu     sync.Mutex
	lines  []string
	want   string
	signal chan struct{}
}

func newLogs(want string) *logs { return &logs{want: want, signal: make(chan struct{})} }

func (l *logs) log(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if l.want != "" && strings.Contains(s, l.want) {
		close(l.signal)
		l.want = ""
	}
}

func (l *logs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// blocker is another application's session holding a lock on a table: it ran a query
// with a secret literal in an open transaction and went idle.
func blocker(t *testing.T, url, app string, sqls ...string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := Connect(ctx, url, ConnectOptions{AppName: app})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	_, err = c.Exec(ctx, "BEGIN")
	require.NoError(t, err)
	for _, sql := range sqls {
		_, err = c.Exec(ctx, sql)
		require.NoError(t, err)
	}
	return c
}

// busyDB is a target with table customers, applied as 001, and a watch session.
// applyBlocked applies files while a blocker holds their lock, with the given lock timeout and
// attempts, and returns the failure the apply must end in and what it logged.
func applyBlocked(t *testing.T, conn, watch *pgx.Conn, files map[string]string, lockTimeout time.Duration, attempts int) (*failure.Error, *logs) {
	t.Helper()
	l := newLogs("")
	_, err := run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch, LockTimeout: lockTimeout,
		Retry: RetryPolicy{Attempts: attempts, Wait: 10 * time.Millisecond}, Log: l.log})
	var e *failure.Error
	require.True(t, errors.As(err, &e), "%v", err)
	return e, l
}

func busyDB(t *testing.T) (url string, conn, watch *pgx.Conn, files map[string]string) {
	url = pgtest.URL(t)
	conn, watch = connect(t, url), connect(t, url)
	files = map[string]string{"001_customers.sql": "CREATE TABLE customers (id int PRIMARY KEY, note text);\n" +
		"INSERT INTO customers SELECT g, 'n' || g FROM generate_series(1, 100) g;\n"}
	_, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.NoError(t, err)
	return url, conn, watch, files
}

func TestLockTimeoutNamesBlockerAfterRetries(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		partial    bool
	}{
		{"transactional file", "ALTER TABLE customers ADD COLUMN tier int;\n", false},
		{"non-transactional statement", "-- a comment\nCREATE INDEX CONCURRENTLY customers_note ON customers (note);\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conn, watch, files := busyDB(t)
			// SHARE UPDATE EXCLUSIVE is the lock CREATE INDEX CONCURRENTLY takes first.
			b := blocker(t, url, "nightly-report", "LOCK TABLE customers IN SHARE UPDATE EXCLUSIVE MODE",
				"SELECT count(*) FROM customers WHERE note = 'sup3rsecret' AND id > 4242")
			bpid := int(b.PgConn().PID())
			files["002_busy.sql"] = tc.file
			e, l := applyBlocked(t, conn, watch, files, 200*time.Millisecond, 2)
			assert.Equal(t, failure.ExitApply, e.Exit)
			assert.Equal(t, "lock-timeout", e.Rule)
			assert.Equal(t, "55P03", e.SQLState)
			assert.Equal(t, "002_busy.sql", e.File)
			msg := e.Error()
			for _, want := range []string{"pid " + itoa(bpid), `application_name "nightly-report"`, "idle in transaction",
				"transaction open", "query: SELECT count(*) FROM customers WHERE note = $1", "gave up after 3 attempts"} {
				assert.Contains(t, msg, want)
			}
			assert.NotContains(t, msg+l.all(), "sup3rsecret")
			assert.NotContains(t, msg+l.all(), "4242")
			assert.Equal(t, 2, strings.Count(l.all(), "retrying in"), l.all())
			r, recorded := history(t, conn)["002"]
			assert.Equal(t, tc.partial, recorded)
			if tc.partial {
				assert.Equal(t, StatusPartial, r.Status)
				assert.Contains(t, r.LastError, "nightly-report")
				assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "a build that never got its lock leaves no index")
			}
		})
	}
}

func TestLockTimeoutRetriedUntilBlockerLetsGo(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"transactional file", "ALTER TABLE customers ADD COLUMN tier int;\n"},
		{"non-transactional statement", "CREATE INDEX CONCURRENTLY customers_note ON customers (note);\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conn, watch, files := busyDB(t)
			b := blocker(t, url, "nightly-report", "LOCK TABLE customers IN SHARE UPDATE EXCLUSIVE MODE")
			files["002_busy.sql"] = tc.file
			// The blocker lets go once the run has said it retries.
			l := newLogs("retrying in")
			go func() {
				<-l.signal
				b.Exec(context.Background(), "COMMIT")
			}()
			got, err := run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch, LockTimeout: 500 * time.Millisecond,
				Retry: RetryPolicy{Attempts: 50, Wait: 50 * time.Millisecond, MaxWait: 200 * time.Millisecond}, Log: l.log})
			require.NoError(t, err)
			assert.Equal(t, []string{"002"}, got)
			assert.Equal(t, StatusApplied, history(t, conn)["002"].Status)
			assert.Contains(t, l.all(), "blocked by pid")
			assert.Contains(t, l.all(), "nightly-report")
		})
	}
}

// A unique index built concurrently on duplicate data leaves an INVALID index: the error
// names it, and --resume-partial after the data is fixed drops it and builds a valid one.
func TestFailedConcurrentIndexResumes(t *testing.T) {
	_, conn, watch, files := busyDB(t)
	ctx := context.Background()
	_, err := conn.Exec(ctx, "UPDATE customers SET note = 'dup' WHERE id IN (1, 2)")
	require.NoError(t, err)
	files["002_unique.sql"] = "CREATE INDEX CONCURRENTLY customers_id_note ON customers (id, note);\n" +
		"CREATE UNIQUE INDEX CONCURRENTLY customers_note_key ON customers (note);\n"
	_, err = run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch})
	var e *failure.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "23505", e.SQLState)
	assert.Contains(t, e.Msg, "left INVALID index customers_note_key (oid ")
	assert.Contains(t, e.Msg, "--resume-partial 002")
	assert.Contains(t, history(t, conn)["002"].LastError, "INVALID index customers_note_key")
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid = 'customers_note_key'::regclass"))

	// The next run stops, naming the invalid index through the recorded error.
	_, err = run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch})
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "partial-migration", e.Rule)
	assert.Contains(t, e.Msg, "INVALID index customers_note_key")

	_, err = conn.Exec(ctx, "UPDATE customers SET note = 'n2' WHERE id = 2")
	require.NoError(t, err)
	l := newLogs("")
	got, err := run(t, conn, files, PlanOptions{ResumePartial: "002"}, ApplyOptions{Watch: watch, Log: l.log})
	require.NoError(t, err)
	assert.Equal(t, []string{"002"}, got)
	assert.Contains(t, l.all(), "dropping INVALID index customers_note_key")
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE indisvalid AND indisunique AND indexrelid = 'customers_note_key'::regclass"))
	assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"))
}

// An invalid index that is not the one the failed statement left (here: dropped by a
// human and made again) is not dropped by the resume; the statement then fails on it.
func TestResumeKeepsIndexItDidNotLeave(t *testing.T) {
	_, conn, watch, files := busyDB(t)
	ctx := context.Background()
	_, err := conn.Exec(ctx, "UPDATE customers SET note = 'dup' WHERE id IN (1, 2)")
	require.NoError(t, err)
	files["002_unique.sql"] = "CREATE UNIQUE INDEX CONCURRENTLY customers_note_key ON customers (note);\n"
	_, err = run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch})
	require.Error(t, err)
	_, err = conn.Exec(ctx, "DROP INDEX customers_note_key")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE UNIQUE INDEX CONCURRENTLY customers_note_key ON customers (note)")
	require.Error(t, err, "still duplicates: another invalid index of that name")
	_, err = run(t, conn, files, PlanOptions{ResumePartial: "002"}, ApplyOptions{Watch: watch})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"customers_note_key" already exists`)
}

func TestProgressOfIndexBuild(t *testing.T) {
	_, conn, watch, files := busyDB(t)
	_, err := conn.Exec(context.Background(), "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 300000) g")
	require.NoError(t, err)
	files["002_idx.sql"] = "CREATE INDEX CONCURRENTLY big_h ON big (h);\n"
	l := newLogs("")
	_, err = run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch, ProgressInterval: 20 * time.Millisecond, Log: l.log})
	require.NoError(t, err)
	assert.Contains(t, l.all(), "still running 002_idx.sql:1 (")
	assert.Contains(t, l.all(), "index build")
	assert.Contains(t, l.all(), ", phase ")
}

func TestSafeQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT * FROM t WHERE a = 'secret' AND b = 42", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"ALTER ROLE app PASSWORD 'secret'", "ALTER ROLE app PASSWORD $1"},
		{"INSERT INTO t1 VALUES (1, 'x')", "INSERT INTO t1 VALUES ($1, $2)"},
		{"SELECT * FROM t WHERE a = 'secr", "SELECT * FROM t WHERE a = …"},                    // cut by track_activity_query_size
		{"SELECT * FROM t2 WHERE a = 17 AND b = (", "SELECT * FROM t2 WHERE a = ? AND b = ("}, // unparsable
		{"  SELECT\n\t1  ", "SELECT $1"},
		{"", ""},
	} {
		got := SafeQuery(tc.in, 200)
		assert.Equal(t, tc.want, got, tc.in)
		assert.NotContains(t, got, "secret")
	}
	assert.Equal(t, "SELECT aaaaaaaa…", SafeQuery("SELECT aaaaaaaaaaaaaaaaaaaa", 15))
}

func TestTables(t *testing.T) {
	dir := readDir(t, map[string]string{
		"001_a.sql": "ALTER TABLE orders ADD COLUMN x int;\nCREATE INDEX CONCURRENTLY ON shop.items (x);\n",
		"002_b.sql": "UPDATE orders SET x = 1 WHERE id IN (SELECT id FROM \"Big Table\");\n",
	})
	assert.Equal(t, []string{`"orders"`, `"shop"."items"`, `"Big Table"`}, Tables(dir.Files))
}

// Sessions idle in a transaction with a lock on a table the pending files touch are
// named before the first statement; others are not.
func TestLockHolders(t *testing.T) {
	url, conn, _, _ := busyDB(t)
	ctx := context.Background()
	_, err := conn.Exec(ctx, "CREATE TABLE other (id int)")
	require.NoError(t, err)
	b := blocker(t, url, "idle-report", "SELECT 1 FROM customers LIMIT 1")
	blocker(t, url, "elsewhere", "SELECT 1 FROM other LIMIT 1")
	bpid := int(b.PgConn().PID())
	ss, err := LockHolders(ctx, conn, []string{"customers", "not_yet_created"}, time.Hour)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	assert.Equal(t, bpid, ss[0].PID)
	assert.Equal(t, "idle-report", ss[0].App)
	assert.Equal(t, "idle in transaction", ss[0].State)
	ss, err = LockHolders(ctx, conn, nil, time.Hour)
	require.NoError(t, err)
	assert.Len(t, ss, 2, "any table")
}

// A concurrent build that timed out after it created its index (waiting for a writer's
// transaction) has done work: it is not retried, the invalid index is named, and the
// printed --resume-partial drops it and builds the index once the writer is gone.
func TestConcurrentBuildTimedOutAfterWorkIsNotRetried(t *testing.T) {
	for _, tc := range []struct{ name, sql, left string }{
		{"create index", "CREATE INDEX CONCURRENTLY customers_note ON customers (note);\n", "customers_note"},
		{"reindex index", "REINDEX INDEX CONCURRENTLY customers_pkey;\n", "customers_pkey_ccnew"},
		{"reindex table", "REINDEX (VERBOSE false) TABLE CONCURRENTLY customers;\n", "customers_pkey_ccnew"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conn, watch, files := busyDB(t)
			b := blocker(t, url, "slow-writer", "UPDATE customers SET note = note WHERE id = 1")
			files["002_idx.sql"] = tc.sql
			e, l := applyBlocked(t, conn, watch, files, 300*time.Millisecond, 5)
			assert.Equal(t, "lock-timeout", e.Rule)
			assert.Contains(t, e.Msg, `application_name "slow-writer"`)
			assert.Contains(t, e.Msg, "not retried: the statement may have done part of its work")
			assert.Contains(t, e.Msg, "left INVALID index "+tc.left+" (oid ")
			assert.NotContains(t, l.all(), "retrying in")
			assert.Equal(t, StatusPartial, history(t, conn)["002"].Status)

			_, err := b.Exec(context.Background(), "COMMIT")
			require.NoError(t, err)
			_, err = run(t, conn, files, PlanOptions{ResumePartial: "002"}, ApplyOptions{Watch: watch, LockTimeout: 300 * time.Millisecond, Log: l.log})
			require.NoError(t, err)
			assert.Contains(t, l.all(), "dropping INVALID index "+tc.left)
			assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"))
			assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_class WHERE relname LIKE '%_ccnew%'"))
		})
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{Attempts: 10, Wait: time.Second, MaxWait: 5 * time.Second}
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 5 * time.Second}, {9, 5 * time.Second}} {
		for range 20 {
			d := p.backoff(tc.attempt)
			assert.GreaterOrEqual(t, d, tc.base/2, "attempt %d", tc.attempt)
			assert.LessOrEqual(t, d, tc.base, "attempt %d", tc.attempt)
		}
	}
	assert.LessOrEqual(t, RetryPolicy{}.backoff(1), time.Second, "defaults")
}

// A run that dies during a concurrent build records nothing after it; the note written
// before the build still lets --resume-partial drop the invalid index that build left.
func TestConcurrentBuildKilledResumes(t *testing.T) {
	url, conn, watch, files := busyDB(t)
	ctx := context.Background()
	b := blocker(t, url, "slow-writer", "UPDATE customers SET note = note WHERE id = 1")
	files["002_idx.sql"] = "CREATE INDEX CONCURRENTLY customers_note ON customers (note);\n"
	l := newLogs("still running")
	killer := connect(t, url)
	pid := conn.PgConn().PID()
	go func() {
		<-l.signal // the build waits for the writer, its index already created
		killer.Exec(context.Background(), "SELECT pg_terminate_backend($1)", int64(pid))
	}()
	_, err := run(t, conn, files, PlanOptions{}, ApplyOptions{Watch: watch, ProgressInterval: 50 * time.Millisecond, Log: l.log})
	require.Error(t, err)
	conn = connect(t, url)
	r := history(t, conn)["002"]
	assert.Equal(t, StatusPartial, r.Status)
	assert.Contains(t, r.LastError, "the run ended (killed or disconnected) while CREATE INDEX CONCURRENTLY ran")
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid = 'customers_note'::regclass"))

	_, err = b.Exec(ctx, "COMMIT")
	require.NoError(t, err)
	_, err = run(t, conn, files, PlanOptions{ResumePartial: "002"}, ApplyOptions{Watch: connect(t, url), Log: l.log})
	require.NoError(t, err)
	assert.Contains(t, l.all(), "dropping INVALID index customers_note")
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid = 'customers_note'::regclass"))
}
