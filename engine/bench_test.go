package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func smallFiles(n int) map[string]string {
	files := map[string]string{}
	for i := 1; i <= n; i++ {
		files[fmt.Sprintf("%05d_t%d.sql", i, i)] = fmt.Sprintf("CREATE TABLE t%d (id int PRIMARY KEY, v text);\nCOMMENT ON TABLE t%d IS 'x';\n", i, i)
	}
	return files
}

// BenchmarkApply1000 applies 1,000 small migrations (one transaction each, with their
// revision rows) to a fresh database; "watched" as a run does it, with the second session
// that names lock blockers and logs progress, and the check for blocking sessions first.
func BenchmarkApply1000(b *testing.B) {
	dir := readDir(b, smallFiles(1000))
	ctx := context.Background()
	for _, watched := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "watched"}[watched], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				url := pgtest.URL(b)
				conn := connect(b, url)
				require.NoError(b, EnsureTable(ctx, conn, "schemahook"))
				o := ApplyOptions{Schema: "schemahook", Record: true, LockTimeout: 10 * time.Second}
				b.StartTimer()
				if watched {
					o.Watch = connect(b, url)
				}
				res, err := Apply(ctx, conn, nil, dir.Files, o)
				require.NoError(b, err)
				require.Len(b, res, 1000)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/1000, "ms/file")
		})
	}
}

// seedHistory records every file of dir as applied, in one statement.
func seedHistory(t testing.TB, conn *pgx.Conn, files map[string]string) {
	t.Helper()
	ctx := context.Background()
	dir := readDir(t, files)
	require.NoError(t, EnsureTable(ctx, conn, "schemahook"))
	var vs, sums []string
	for _, f := range dir.Files {
		vs, sums = append(vs, f.Version), append(sums, f.Checksum)
	}
	_, err := conn.Exec(ctx, `INSERT INTO schemahook.revisions (version, checksum, status) SELECT v, c, 'applied' FROM unnest($1::text[], $2::text[]) AS x(v, c)`, vs, sums)
	require.NoError(t, err)
}

// BenchmarkNothingPending10000 is a run's verify step with 10,000 applied and none pending.
func BenchmarkNothingPending10000(b *testing.B) {
	files := smallFiles(10000)
	conn := connect(b, pgtest.URL(b))
	seedHistory(b, conn, files)
	dir := readDir(b, files)
	ctx := context.Background()
	for b.Loop() {
		hist, _, err := LoadHistory(ctx, conn, "schemahook")
		require.NoError(b, err)
		p, err := Verify(dir, hist, PlanOptions{})
		require.NoError(b, err)
		require.Empty(b, p.Pending)
	}
}

// queryCounter counts round trips (queries) on a connection.
type queryCounter struct{ n int }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n++
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestNothingPendingConstantRoundTrips: reading and verifying the history costs the same
// number of queries with 10 or 3,000 applied migrations.
func TestNothingPendingConstantRoundTrips(t *testing.T) {
	ctx := context.Background()
	counts := map[int]int{}
	for _, n := range []int{10, 3000} {
		cfg, err := pgx.ParseConfig(pgtest.URL(t))
		require.NoError(t, err)
		qc := &queryCounter{}
		cfg.Tracer = qc
		conn, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
		defer conn.Close(ctx)
		files := smallFiles(n)
		seedHistory(t, conn, files)
		dir := readDir(t, files)
		qc.n = 0
		hist, _, err := LoadHistory(ctx, conn, "schemahook")
		require.NoError(t, err)
		require.Len(t, hist, n)
		p, err := Verify(dir, hist, PlanOptions{})
		require.NoError(t, err)
		require.Empty(t, p.Pending)
		counts[n] = qc.n
	}
	assert.Equal(t, counts[10], counts[3000], "round trips grow with the history: %v", counts)
	assert.LessOrEqual(t, counts[10], 2)
}

// BenchmarkTables1000 is the parse-tree walk that finds the tables 1,000 pending files
// touch, done once before the first statement to warn about blocking sessions.
func BenchmarkTables1000(b *testing.B) {
	dir := readDir(b, smallFiles(1000))
	for b.Loop() {
		require.Len(b, Tables(dir.Files), 1000)
	}
}
