package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var writeDir = testfs.WriteDir

// result is one in-process run: its exit code (0 on success), JSON report and stderr.
type result struct {
	code   failure.ExitCode
	err    *failure.Error
	report Report
	stderr string
}

func runMode(t testing.TB, mode Mode, o Options) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o.Stdout, o.Stderr, o.Output = &stdout, &stderr, "json"
	if o.DevURL == "" {
		o.DevURL = pgtest.AdminURL(t) // an external dev server: fast, and still a real replay
	}
	if o.Lint == "" {
		o.Lint = "warn"
	}
	err := Run(context.Background(), mode, o)
	res := result{stderr: stderr.String()}
	if err != nil {
		require.True(t, errors.As(err, &res.err), "%T %v", err, err)
		res.code = res.err.Exit
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res.report), stdout.String())
	return res
}

func apply(t testing.TB, o Options) result { t.Helper(); return runMode(t, ModeApply, o) }

var base = map[string]string{
	"001_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL);\n",
	"002_orders.sql":    "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  customer_id bigint NOT NULL REFERENCES customers (id)\n);\n",
	"003_total.sql":     "ALTER TABLE orders ADD COLUMN total numeric;\n",
}

func with(files map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

var (
	execSQL  = pgtest.Exec
	queryInt = pgtest.QueryInt
)

func TestApplyThenUpToDate(t *testing.T) {
	url := pgtest.URL(t)
	dir := writeDir(t, base)
	tl := filepath.Join(t.TempDir(), "termination-log")
	r := apply(t, Options{Dir: dir, URL: url, TerminationLog: tl, App: "orders", GitRevision: "abc"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Equal(t, "applied", r.report.Status)
	require.Len(t, r.report.Applied, 3)
	assert.Equal(t, "001", r.report.Applied[0].Version)
	assert.Equal(t, 0, r.report.Pending)
	assert.Empty(t, r.report.PendingFiles)
	assert.Nil(t, r.report.Error)
	for _, f := range []string{"001_customers.sql", "002_orders.sql", "003_total.sql"} {
		assert.Contains(t, r.stderr, "applied "+filepath.Join(dir, f)+" in ", "per-file progress line")
	}
	msg, err := os.ReadFile(tl)
	require.NoError(t, err)
	assert.Contains(t, string(msg), "applied 3 migration(s)")
	assert.Equal(t, 1, queryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE app = 'orders' AND git_revision = 'abc' AND version = '003'"))

	r = apply(t, Options{Dir: dir, URL: url, TerminationLog: tl})
	require.Zero(t, r.code, "%v", r.err)
	assert.Equal(t, "up-to-date", r.report.Status)
	assert.Empty(t, r.report.Applied)
	msg, _ = os.ReadFile(tl)
	assert.Contains(t, string(msg), "up-to-date")

	// plan with a new file applies nothing.
	dir2 := writeDir(t, with(base, "004_note.sql", "ALTER TABLE orders ADD COLUMN note text;\n"))
	r = runMode(t, ModePlan, Options{Dir: dir2, URL: url})
	require.Zero(t, r.code, "%v", r.err)
	assert.Equal(t, "planned", r.report.Status)
	assert.Equal(t, 1, r.report.Pending)
	assert.Equal(t, []string{filepath.Join(dir2, "004_note.sql")}, r.report.PendingFiles)
	assert.Equal(t, 0, queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'"))
}

// TestExitCodes reaches every exit code (failure.ExitCode, docs/architecture.md) through a real scenario.
func TestExitCodes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "postgres://app:pw1234@" + l.Addr().String() + "/x?sslmode=disable"
	l.Close()

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, url string) // runs on the target before the run
		files map[string]string
		opts  func(o *Options)
		code  failure.ExitCode
		stage string
		rule  string
		file  string
		line  int
	}{
		{name: "bad tx mode", files: base, opts: func(o *Options) { o.TxMode = "some" }, code: 1, stage: "config"},
		{name: "missing directory", files: base, opts: func(o *Options) { o.Dir = "/nonexistent/migrations" }, code: 1, stage: "config"},
		{name: "unknown lint rule", files: base, opts: func(o *Options) { o.LintRules = []string{"SH999=off"} }, code: 1, stage: "config"},
		{name: "bad small-table policy", files: base, opts: func(o *Options) { o.LintSmallTable = "10MB" }, code: 1, stage: "config"},
		{name: "dev replay fails", files: with(base, "003_total.sql", "ALTER TABLE orders ADD COLUMN total numeric;\nALTER TABLE orderz ADD COLUMN x int;\n"),
			code: 2, stage: "dev", file: "003_total.sql", line: 2},
		{name: "syntax error", files: with(base, "003_total.sql", "ALTER TABLE orders ADD COLUMN total numeric;\nALTER TABLE orders ADD COLUM x int;\n"),
			code: 2, stage: "verify", rule: "syntax", file: "003_total.sql", line: 2},
		{name: "lint blocks", setup: func(t *testing.T, url string) {
			r := apply(t, Options{Dir: writeDir(t, base), URL: url})
			require.Zero(t, r.code)
		}, files: with(base, "004_drop.sql", "DROP TABLE orders;\n"), opts: func(o *Options) { o.Lint = "error" },
			code: 3, stage: "lint", rule: "SH101", file: "004_drop.sql", line: 1},
		{name: "checksum mismatch", setup: func(t *testing.T, url string) {
			require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
		}, files: with(base, "002_orders.sql", base["002_orders.sql"]+"-- edited\n"), code: 4, stage: "verify", rule: "checksum-mismatch", file: "002_orders.sql"},
		{name: "applied file removed", setup: func(t *testing.T, url string) {
			require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
		}, files: with(base, "003_total.sql", ""), code: 4, stage: "verify", rule: "applied-file-missing"},
		{name: "out of order", setup: func(t *testing.T, url string) {
			require.Zero(t, apply(t, Options{Dir: writeDir(t, with(base, "002_orders.sql", "", "003_total.sql", "")), URL: url}).code)
			require.Zero(t, apply(t, Options{Dir: writeDir(t, with(base, "002_orders.sql", "", "003_total.sql", "", "010_x.sql", "SELECT 1;\n")), URL: url}).code)
		}, files: with(base, "010_x.sql", "SELECT 1;\n"), code: 4, stage: "verify", rule: "out-of-order", file: "002_orders.sql"},
		{name: "stale sum file", files: with(base, "schemahook.sum", "h1:AAAA\n001_customers.sql h1:AAAA\n"), code: 4, stage: "verify"},
		{name: "apply fails on data the dev copy has not", setup: func(t *testing.T, url string) {
			require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
			execSQL(t, url, "INSERT INTO customers VALUES (1, 'a@x'), (2, 'a@x')")
		}, files: with(base, "004_unique.sql", "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);\n"),
			code: 5, stage: "apply", file: "004_unique.sql", line: 1},
		{name: "unreachable target", files: base, opts: func(o *Options) { o.URL = closed; o.ConnectTimeout = 200 * time.Millisecond }, code: 6, stage: "verify", rule: "connect"},
		// The connection is made while the directory is read; the directory's refusal still
		// wins, at once, and the retries meanwhile are not logged.
		{name: "stale sum file, unreachable target", files: with(base, "schemahook.sum", "h1:AAAA\n001_customers.sql h1:AAAA\n"),
			opts: func(o *Options) { o.URL = closed; o.ConnectTimeout = time.Minute }, code: 4, stage: "verify", rule: "stale-sum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			if tc.setup != nil {
				tc.setup(t, url)
			}
			dir := writeDir(t, tc.files)
			o := Options{Dir: dir, URL: url}
			if tc.opts != nil {
				tc.opts(&o)
			}
			before := catalog(t, url)
			r := apply(t, o)
			// Invariants 2 and 4: a refused or failed run leaves the target as it was.
			assert.Equal(t, before, catalog(t, url), "the target changed")
			require.Equal(t, tc.code, r.code, "%v\n%s", r.err, r.stderr)
			require.NotNil(t, r.report.Error)
			assert.Equal(t, "failed", r.report.Status)
			assert.Equal(t, tc.stage, r.report.Error.Stage)
			assert.NotEmpty(t, r.report.Error.Msg)
			if tc.rule != "" {
				assert.Equal(t, tc.rule, r.report.Error.Rule)
			}
			if tc.file != "" {
				assert.Equal(t, filepath.Join(dir, tc.file), r.report.Error.File)
			}
			if tc.line != 0 {
				assert.Equal(t, tc.line, r.report.Error.Line)
			}
			assert.NotContains(t, r.stderr+r.err.Error(), "pw1234", "a password was printed")
			if tc.code != failure.ExitConnect {
				assert.NotContains(t, r.stderr, "waiting for the database")
			}
		})
	}
}

// TestLockHeldExits6: a second runner waits for the lock, says who holds it, and gives up
// after --lock-timeout with exit 6.
func TestLockHeldExits6(t *testing.T) {
	url := pgtest.URL(t)
	conn, err := pgx.Connect(context.Background(), url+"&application_name=other-runner")
	if strings.Contains(url, "?") == false {
		conn, err = pgx.Connect(context.Background(), url+"?application_name=other-runner")
	}
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "SELECT pg_advisory_lock(hashtext('schemahook'), hashtext('schemahook'))")
	require.NoError(t, err)
	r := apply(t, Options{Dir: writeDir(t, base), URL: url, LockTimeout: 500 * time.Millisecond})
	require.Equal(t, failure.ExitConnect, r.code, "%v", r.err)
	assert.Equal(t, "lock", r.report.Error.Rule)
	assert.Contains(t, r.report.Error.Msg, "other-runner")
	assert.Contains(t, r.stderr, "waiting up to")
	assert.Equal(t, 0, queryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'customers'"))
}

// TestUpToDateWithoutLock: with every file applied, a run ends "up to date" at once while
// another session holds the migration lock (a runner applying another directory's files,
// or one about to find the same); with a file pending it waits for the lock as before.
func TestUpToDateWithoutLock(t *testing.T) {
	url := pgtest.URL(t)
	dir := writeDir(t, base)
	require.Zero(t, apply(t, Options{Dir: dir, URL: url}).code)
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "SELECT pg_advisory_lock(hashtext('schemahook'), hashtext('schemahook'))")
	require.NoError(t, err)

	r := apply(t, Options{Dir: dir, URL: url, LockTimeout: 300 * time.Millisecond})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Equal(t, "up-to-date", r.report.Status)
	assert.NotContains(t, r.stderr, "waiting up to")

	r = apply(t, Options{Dir: writeDir(t, with(base, "004_tier.sql", "ALTER TABLE customers ADD COLUMN tier int;\n")), URL: url, LockTimeout: 300 * time.Millisecond})
	require.Equal(t, failure.ExitConnect, r.code, "%v\n%s", r.err, r.stderr)
	assert.Equal(t, "lock", r.report.Error.Rule)
	assert.Equal(t, 0, queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'tier'"))
}

// A session of another application idle in a transaction that read customers: the run
// warns about it before the first statement, retries, and fails (exit 5) naming it.
func TestLockTimeoutNamesBlocker(t *testing.T) {
	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	b, err := pgx.Connect(context.Background(), url+sep+"application_name=nightly-report")
	require.NoError(t, err)
	defer b.Close(context.Background())
	_, err = b.Exec(context.Background(), "BEGIN; SELECT count(*) FROM customers WHERE email = 'ceo@example.com'")
	require.NoError(t, err)

	files := with(base, "004_tier.sql", "ALTER TABLE customers ADD COLUMN tier int;\n")
	r := apply(t, Options{Dir: writeDir(t, files), URL: url, LockTimeout: 300 * time.Millisecond,
		LockRetries: 1, LockRetryWait: 10 * time.Millisecond})
	require.Equal(t, failure.ExitApply, r.code, "%v\n%s", r.err, r.stderr)
	e := r.report.Error
	assert.Equal(t, failure.StageApply, e.Stage)
	assert.Equal(t, "lock-timeout", e.Rule)
	assert.Equal(t, "55P03", e.SQLState)
	assert.Contains(t, e.File, "004_tier.sql")
	assert.Contains(t, e.Msg, `application_name "nightly-report"`)
	assert.Contains(t, e.Msg, "idle in transaction")
	assert.Contains(t, e.Msg, "gave up after 2 attempts")
	assert.Contains(t, r.stderr, "warning: 1 session(s) hold locks on tables the pending migrations touch")
	assert.Contains(t, r.stderr, "retrying in")
	assert.NotContains(t, r.stderr+e.Msg, "ceo@example.com")
	assert.Equal(t, 1, r.report.Pending)
	assert.Equal(t, 0, queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'tier'"))
}

// catalog is a snapshot of everything a migration can change: relations, columns,
// constraints, indexes, functions, types, schemas, plus the revisions rows.
func catalog(t testing.TB, url string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var hasRevisions bool
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT to_regclass('schemahook.revisions') IS NOT NULL").Scan(&hasRevisions))
	revs := ""
	if hasRevisions {
		revs = "UNION ALL SELECT 'rev ' || r::text FROM (SELECT version, checksum, status, statements_applied FROM schemahook.revisions) r"
	}
	rows, err := conn.Query(context.Background(), `
SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
UNION ALL SELECT 'fn ' || p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
UNION ALL SELECT 'type ' || t.oid::regtype FROM pg_type t WHERE t.typnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)
UNION ALL SELECT 'ns ' || nspname FROM pg_namespace
`+revs+`
ORDER BY 1`)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

// TestBrokenThirdFileLeavesTargetUnchanged: the dev replay (a real throwaway server)
// catches a broken file; the target's catalog is proven unchanged.
func TestBrokenThirdFileLeavesTargetUnchanged(t *testing.T) {
	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, with(base, "003_total.sql", "")), URL: url}).code)
	before := catalog(t, url)
	require.Contains(t, before, "rev (002,")

	broken := with(base,
		"003_total.sql", "ALTER TABLE orders ADD COLUMN total numeric;\n",
		"004_more.sql", "CREATE TABLE items (id int);\n\nCREATE VIEW items_v AS\nSELECT id,\n  nope\nFROM items;\n",
		"005_after.sql", "CREATE TABLE after_broken (id int);\n")
	dir := writeDir(t, broken)
	r := apply(t, Options{Dir: dir, URL: url, DevURL: "ephemeral"})
	require.Equal(t, failure.ExitDev, r.code, "%v\n%s", r.err, r.stderr)
	e := r.report.Error
	assert.Equal(t, "dev", e.Stage)
	assert.Equal(t, filepath.Join(dir, "004_more.sql"), e.File)
	assert.Equal(t, 5, e.Line, "the line of the bad column inside the statement")
	assert.Equal(t, 3, e.Col)
	assert.Equal(t, "42703", e.SQLState)
	assert.Contains(t, e.Msg, "target was not touched")
	assert.Empty(t, r.report.Applied)
	assert.Equal(t, before, catalog(t, url), "the target's catalog changed")
}

// TestSchemaConflictCaughtOnCopy: a table created by hand on the target (drift) makes the
// pending file fail on the schema-only copy, not on the target.
func TestSchemaConflictCaughtOnCopy(t *testing.T) {
	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, with(base, "003_total.sql", "")), URL: url}).code)
	execSQL(t, url, "CREATE TABLE items (id int)")
	before := catalog(t, url)
	dir := writeDir(t, with(base, "003_total.sql", "CREATE TABLE items (id int);\n"))
	r := apply(t, Options{Dir: dir, URL: url})
	require.Equal(t, failure.ExitDev, r.code, "%v", r.err)
	assert.Contains(t, r.report.Error.Msg, "copy of the target's schema")
	assert.Equal(t, "42P07", r.report.Error.SQLState)
	assert.Equal(t, before, catalog(t, url))
}

// TestPartialFileBlocksThenResumes drives invariant 4 through the hook.
func TestPartialFileBlocksThenResumes(t *testing.T) {
	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
	execSQL(t, url, "INSERT INTO customers VALUES (1, 'a@x'), (2, 'a@x')")
	files := with(base, "004_idx.sql",
		"CREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);\nCREATE UNIQUE INDEX CONCURRENTLY customers_email ON customers (email);\n")
	dir := writeDir(t, files)
	r := apply(t, Options{Dir: dir, URL: url})
	require.Equal(t, failure.ExitApply, r.code, "%v\n%s", r.err, r.stderr)
	assert.Contains(t, r.report.Error.Msg, "recorded as partial")
	assert.Contains(t, r.report.Error.Msg, "left INVALID index customers_email (oid ")
	assert.Equal(t, 2, r.report.Error.Line)

	r = apply(t, Options{Dir: dir, URL: url})
	require.Equal(t, failure.ExitHistory, r.code)
	assert.Equal(t, "partial-migration", r.report.Error.Rule)
	assert.Contains(t, r.report.Error.Msg, "--resume-partial 004")

	var st bytes.Buffer
	err := Status(context.Background(), Options{Dir: dir, URL: url, Stdout: &st, Stderr: &bytes.Buffer{}})
	require.Error(t, err)
	assert.Regexp(t, `004\s+partial\s+.*1/2`, st.String())

	// Fixing the data is enough: the resume drops the invalid index the build left.
	execSQL(t, url, "UPDATE customers SET email = 'b@x' WHERE id = 2")
	r = apply(t, Options{Dir: dir, URL: url, ResumePartial: "004"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Contains(t, r.stderr, "dropping INVALID index customers_email")
	assert.Equal(t, 0, queryInt(t, url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"))
	assert.Equal(t, 2, queryInt(t, url, "SELECT count(*) FROM pg_indexes WHERE indexname IN ('orders_customer', 'customers_email')"))
	assert.Equal(t, 1, queryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE version = '004' AND status = 'applied' AND statements_applied = 2"))
}

func TestBaseline(t *testing.T) {
	url := pgtest.URL(t)
	execSQL(t, url, base["001_customers.sql"]+base["002_orders.sql"]) // created before schemahook
	r := apply(t, Options{Dir: writeDir(t, base), URL: url, Baseline: "002"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	require.Len(t, r.report.Applied, 1)
	assert.Equal(t, "003", r.report.Applied[0].Version)
	assert.Equal(t, 2, queryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE status = 'baseline'"))
}

func TestStatusJSON(t *testing.T) {
	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, with(base, "003_total.sql", "")), URL: url}).code)
	var out bytes.Buffer
	require.NoError(t, Status(context.Background(), Options{Dir: writeDir(t, base), URL: url, Output: "json", Stdout: &out, Stderr: &bytes.Buffer{}}))
	var st struct {
		Migrations []StatusEntry
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	var states []string
	for _, m := range st.Migrations {
		states = append(states, m.Version+"="+m.State)
	}
	assert.Equal(t, []string{"001=applied", "002=applied", "003=pending"}, states)
}

func TestTerminationMessageBounded(t *testing.T) {
	files := map[string]string{}
	for i := 1; i <= 300; i++ {
		files[fmt.Sprintf("%03d_a_rather_long_migration_name_to_fill_the_message.sql", i)] = fmt.Sprintf("CREATE TABLE t%d (id int);\n", i)
	}
	tl := filepath.Join(t.TempDir(), "tl")
	r := apply(t, Options{Dir: writeDir(t, files), URL: pgtest.URL(t), TerminationLog: tl, DevURL: "none"})
	require.Zero(t, r.code, "%v", r.err)
	msg, err := os.ReadFile(tl)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(msg), MaxTerminationMessage)
	assert.Contains(t, string(msg), "truncated")
	assert.Contains(t, string(msg), "applied 300 migration(s)")
}
