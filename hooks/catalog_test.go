package hooks

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catalogFuncs are applied before the pending file: flip_code is made STABLE by the pending
// file itself, which only the dev copy after the replay knows.
const catalogFuncs = `CREATE FUNCTION vol_code() RETURNS text LANGUAGE plpgsql VOLATILE AS 'BEGIN RETURN md5(random()::text); END';
CREATE FUNCTION stable_code() RETURNS text LANGUAGE plpgsql STABLE AS 'BEGIN RETURN current_user; END';
CREATE FUNCTION flip_code() RETURNS text LANGUAGE plpgsql VOLATILE AS 'BEGIN RETURN current_user; END';
`

const catalogPending = `ALTER FUNCTION flip_code() STABLE;
ALTER TABLE orders ADD COLUMN a text DEFAULT flip_code();
ALTER TABLE orders ADD COLUMN b text DEFAULT stable_code();
ALTER TABLE orders ADD COLUMN c text DEFAULT vol_code();
CREATE INDEX orders_customer_idx ON orders (customer_id);
`

// TestLintUsesCatalog: a hook run's lint takes function volatility from the dev copy after
// the pending files were replayed on it, and names the size of each existing table from the
// target's statistics; a refused run leaves the target as it was.
func TestLintUsesCatalog(t *testing.T) {
	type want struct {
		code, severity string
		line           int
		small          bool
	}
	cases := []struct {
		name     string
		setup    string // SQL on the target after the earlier files
		pending  string
		mode     Mode
		opts     func(o *Options)
		exit     failure.ExitCode
		findings []want // the SH301 and SH307 findings, in order
		table    string // of each of them
		msg      string // a part of the first one's message
		log      string // a part of stderr
	}{
		{name: "dev catalog and sizes", pending: catalogPending, mode: ModeApply, exit: failure.ExitLint,
			findings: []want{{"SH307", lint.SeverityError, 4, false}, {"SH301", lint.SeverityError, 5, false}},
			table:    "public.orders", msg: "vol_code() of new column public.orders.c is volatile: every existing row is rewritten; public.orders: ~1k rows, ",
			log: "function volatility of 3 name(s) from the dev copy after the pending files"},
		{name: "no dev replay and a small-table policy", pending: catalogPending, mode: ModePlan,
			opts:     func(o *Options) { o.DevURL = config.DevNone; o.LintSmallTable = "10000:10MB" },
			findings: []want{{"SH307", lint.SeverityWarning, 2, true}, {"SH307", lint.SeverityWarning, 4, true}, {"SH301", lint.SeverityWarning, 5, true}},
			table:    "public.orders", msg: "since the table is small (spec.lint.smallTable: at most 10000 rows and 10 MB)",
			log: "from the target (no dev replay"},
		{name: "the target's search_path", mode: ModePlan, exit: failure.ExitLint,
			setup: "CREATE SCHEMA app; CREATE TABLE app.orders (id bigint, customer_id bigint);\n" +
				"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = app, public', current_database()); END $$;",
			pending:  "CREATE INDEX orders_customer_idx ON orders (customer_id);\n",
			findings: []want{{"SH301", lint.SeverityError, 1, false}},
			table:    "app.orders", msg: "existing table app.orders while it builds; app.orders: rows not estimated (never analyzed), 0 bytes",
			log: "search_path app, public"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			earlier := with(base, "004_funcs.sql", catalogFuncs)
			require.Zero(t, apply(t, Options{Dir: writeDir(t, earlier), URL: url}).code)
			execSQL(t, url, `INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 1000) g;
INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;
ANALYZE customers, orders;`+tc.setup)
			o := Options{Dir: writeDir(t, with(earlier, "005_pending.sql", tc.pending)), URL: url, Lint: "error"}
			if tc.opts != nil {
				tc.opts(&o)
			}
			before := catalog(t, url)
			r := runMode(t, tc.mode, o)
			require.Equal(t, tc.exit, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, before, catalog(t, url), "the target changed")
			var got []want
			var first *lint.Finding
			for i, f := range r.report.Findings {
				if f.Code != "SH301" && f.Code != "SH307" {
					continue
				}
				got = append(got, want{f.Code, f.Severity, f.Line, f.SmallTable})
				if first == nil {
					first = &r.report.Findings[i]
				}
				assert.Equal(t, tc.table, f.Table)
				require.NotNil(t, f.Bytes, f.Message)
				if tc.table == "public.orders" {
					require.NotNil(t, f.Rows, f.Message)
					assert.Equal(t, int64(1000), *f.Rows)
					assert.Positive(t, *f.Bytes)
				}
			}
			assert.Equal(t, tc.findings, got, "%v", r.report.Findings)
			require.NotNil(t, first)
			assert.Contains(t, first.Message, tc.msg)
			assert.Contains(t, r.stderr, tc.log)
		})
	}
}

// TestLintSizesBehindALock: pg_total_relation_size waits for a lock; behind another
// session's ACCESS EXCLUSIVE lock the lint goes on without sizes, and without the
// small-table downgrade, instead of queueing behind it.
func TestLintSizesBehindALock(t *testing.T) {
	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)

	dir := writeDir(t, with(base, "004_idx.sql", "CREATE INDEX orders_customer_idx ON orders (customer_id);\n"))
	r := runMode(t, ModePlan, Options{Dir: dir, URL: url, Lint: "error", DevURL: config.DevNone, LintSmallTable: "10000:10MB"})
	require.Equal(t, failure.ExitLint, r.code, "%v\n%s", r.err, r.stderr)
	assert.Contains(t, r.stderr, "table sizes left out")
	assert.Equal(t, "public.orders", r.report.Findings[0].Table)
	assert.Nil(t, r.report.Findings[0].Bytes)
	assert.False(t, r.report.Findings[0].SmallTable)
	assert.NotContains(t, r.report.Findings[0].Message, "public.orders:", "no size is named")
}

// BenchmarkLintCatalog is the lint's catalog snapshot of the target (search_path, tables,
// columns, functions, sizes) for a pending file that mentions 3 of 5,000 tables of 10
// columns each: the queries read only the mentioned names.
func BenchmarkLintCatalog(b *testing.B) {
	url := pgtest.URL(b)
	for n := 0; n < 5000; n += 500 { // in steps: one transaction's locks are bounded
		execSQL(b, url, fmt.Sprintf(`DO $$ BEGIN FOR i IN %d..%d LOOP
			EXECUTE format('CREATE TABLE t%%s (id bigint PRIMARY KEY, a text, b text, c int, d int, e timestamptz, f jsonb, g numeric, h bool, i uuid)', i);
		END LOOP; END $$`, n+1, n+500))
	}
	ctx := context.Background()
	r, pending := catalogRun(b, url, "CREATE INDEX t1_a ON t1 (a);\nALTER TABLE t2 ADD COLUMN x text DEFAULT gen_random_uuid()::text;\nALTER TABLE t3 ALTER COLUMN c TYPE bigint;\n")
	for b.Loop() {
		cat, err := r.lintCatalog(ctx, pending)
		require.NoError(b, err)
		require.Len(b, cat.Tables, 3)
	}
}

// TestTableSizes: a plain table's size is its own, a partitioned table's the sum of its
// leaf partitions', and a table never analyzed has no row estimate.
func TestTableSizes(t *testing.T) {
	url := pgtest.URL(t)
	execSQL(t, url, `CREATE TABLE plain (id int); INSERT INTO plain SELECT generate_series(1, 500); ANALYZE plain;
CREATE TABLE fresh (id int); INSERT INTO fresh VALUES (1);
CREATE TABLE parted (id int) PARTITION BY RANGE (id);
CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (0) TO (1000) PARTITION BY RANGE (id);
CREATE TABLE parted_a1 PARTITION OF parted_a FOR VALUES FROM (0) TO (1000);
CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (1000) TO (2000);
INSERT INTO parted SELECT generate_series(1, 1999); ANALYZE parted;
CREATE TABLE empty_parted (id int) PARTITION BY RANGE (id);`)
	ctx := context.Background()
	r, pending := catalogRun(t, url, "VACUUM FULL plain, fresh, parted, empty_parted;\n")
	conn := r.target
	cat, err := r.lintCatalog(ctx, pending)
	require.NoError(t, err)
	assert.Equal(t, []string{"public"}, cat.SearchPath)
	var plainBytes, partBytes int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_total_relation_size('plain'),
		pg_total_relation_size('parted_a1') + pg_total_relation_size('parted_b')`).Scan(&plainBytes, &partBytes))
	assert.Equal(t, map[string]lint.TableStats{
		"public.plain":        {Rows: 500, Bytes: plainBytes},
		"public.fresh":        {Rows: -1, Bytes: 8192},
		"public.parted":       {Rows: 1999, Bytes: partBytes},
		"public.empty_parted": {Rows: 0, Bytes: 0},
	}, cat.Tables)
	assert.Equal(t, "integer", cat.Columns["public.plain.id"])
}

// catalogRun is a run on the target at url, for calling its catalog reads directly, and
// the pending file of sql.
func catalogRun(t testing.TB, url, sql string) (*run, []*migrations.File) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	d, err := migrations.Read(os.DirFS(writeDir(t, map[string]string{"001_p.sql": sql})), migrations.Options{})
	require.NoError(t, err)
	return &run{o: Options{Stderr: io.Discard}, target: conn}, d.Files
}
