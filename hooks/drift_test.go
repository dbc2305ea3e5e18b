package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handMade are changes made on the target outside the migrations, and how the drift check
// must name each of them.
var handMade = []struct{ sql, want string }{
	{"ALTER TABLE orders ADD COLUMN note text", "column public.orders.note added"},
	{"CREATE INDEX orders_total_hotfix ON orders (total)", "index public.orders_total_hotfix added"},
	{"CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders'", "function public.order_count() added"},
}

const pendingFile = "004_status.sql"

// driftedTarget is a target on which base was applied, then changed by hand.
func driftedTarget(t *testing.T) string {
	t.Helper()
	url := pgtest.URL(t)
	r := apply(t, Options{Dir: writeDir(t, base), URL: url})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Empty(t, r.report.Drift, "a target built by its migrations has no drift")
	for _, h := range handMade {
		execSQL(t, url, h.sql)
	}
	return url
}

func driftNamesOf(r result) []string {
	var out []string
	for _, d := range r.report.Drift {
		out = append(out, d.String())
	}
	return out
}

func TestDriftBeforeApply(t *testing.T) {
	dir := with(base, pendingFile, "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n")
	for _, tc := range []struct {
		policy  string
		code    failure.ExitCode
		applied bool
	}{
		{"warn", 0, true},
		{"error", failure.ExitDrift, false},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			url := driftedTarget(t)
			tl := filepath.Join(t.TempDir(), "termination-log")
			r := apply(t, Options{Dir: writeDir(t, dir), URL: url, Drift: tc.policy, TerminationLog: tl})
			require.Equal(t, tc.code, r.code, "%v\n%s", r.err, r.stderr)
			msg, err := os.ReadFile(tl)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(msg), MaxTerminationMessage)
			for _, h := range handMade {
				assert.Contains(t, driftNamesOf(r), h.want)
				assert.Contains(t, r.stderr, "  "+h.want+"\n", "the log names each difference")
				assert.Contains(t, string(msg), h.want, "the termination message names each difference")
			}
			assert.Len(t, r.report.Drift, len(handMade), "%v", driftNamesOf(r))
			assert.Contains(t, r.stderr, "+++ the target's live schema\n")
			assert.Contains(t, r.stderr, "\n@@ column public.orders.note (added) @@\n+note text\n")
			if tc.applied {
				assert.Contains(t, string(msg), "drift: 3 difference(s) between the target and its migrations")
			} else {
				assert.Contains(t, string(msg), "differs from the schema the 3 applied migration(s) build in 3 object(s)")
			}
			hasStatus := queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'status'")
			if tc.applied {
				assert.Equal(t, 1, hasStatus)
				require.Len(t, r.report.Applied, 1)
				return
			}
			assert.Zero(t, hasStatus, "policy error leaves the pending migration unapplied")
			assert.Empty(t, r.report.Applied)
			assert.Equal(t, 1, r.report.Pending)
			assert.Equal(t, failure.StageDrift, r.err.Stage)
			assert.Contains(t, string(msg), "schemahook FAILED at stage drift (exit 7)")
			assert.Contains(t, string(msg), "the target database was not changed")
			assert.Equal(t, 3, queryInt(t, url, "SELECT count(*) FROM schemahook.revisions"))
		})
	}
}

func TestDriftOffAndClean(t *testing.T) {
	url := driftedTarget(t)
	dir := with(base, pendingFile, "ALTER TABLE orders ADD COLUMN status text;\n")
	r := apply(t, Options{Dir: writeDir(t, dir), URL: url, Drift: "off"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Empty(t, r.report.Drift)
	assert.NotContains(t, r.stderr, "drift")
}

func TestDriftSkippedOnBaseline(t *testing.T) {
	url := pgtest.URL(t)
	execSQL(t, url, base["001_customers.sql"]+base["002_orders.sql"]+"CREATE INDEX by_hand ON orders (id);")
	r := apply(t, Options{Dir: writeDir(t, base), URL: url, Baseline: "002", Drift: "error"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Contains(t, r.stderr, "drift check skipped: the history is baselined")
}

// TestDriftModeReadOnly: `migrate drift` reports the hand-made objects and applies nothing.
func TestDriftModeReadOnly(t *testing.T) {
	url := driftedTarget(t)
	dir := with(base, pendingFile, "ALTER TABLE orders ADD COLUMN status text;\n")
	r := runMode(t, ModeDrift, Options{Dir: writeDir(t, dir), URL: url, Drift: "error"})
	require.Equal(t, failure.ExitDrift, r.code, "%v\n%s", r.err, r.stderr)
	for _, h := range handMade {
		assert.Contains(t, driftNamesOf(r), h.want)
	}
	assert.Equal(t, 3, queryInt(t, url, "SELECT count(*) FROM schemahook.revisions"))
}

// TestSchemaFileAfterApply: after apply the target must match schema.sql; one that
// differs (here: edited by hand, the checksum kept) is reported under policy error with
// the applied files named.
func TestSchemaFileAfterApply(t *testing.T) {
	files := with(base, pendingFile, "ALTER TABLE orders ADD COLUMN status text;\n")
	dirPath := writeDir(t, files)
	d, err := migrations.Read(os.DirFS(dirPath), migrations.Options{})
	require.NoError(t, err)
	built, err := schema.Build(context.Background(), d, schema.BuildOptions{DevURL: pgtest.AdminURL(t)})
	require.NoError(t, err)
	good := schema.File(schema.DirSum(d.ComputeSum()), "app", built.Text())
	sf := filepath.Join(t.TempDir(), "schema.sql")

	require.NoError(t, os.WriteFile(sf, []byte(good), 0o644))
	url := pgtest.URL(t)
	r := apply(t, Options{Dir: dirPath, URL: url, SchemaFile: sf, Drift: "error"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Contains(t, r.stderr, "drift check after apply: the target's schema matches schema.sql")

	bad := strings.Replace(good, "    status text\n", "    status integer\n", 1)
	require.NotEqual(t, good, bad)
	require.NoError(t, os.WriteFile(sf, []byte(bad), 0o644))
	url = pgtest.URL(t)
	r = apply(t, Options{Dir: dirPath, URL: url, SchemaFile: sf, Drift: "error"})
	require.Equal(t, failure.ExitDrift, r.code, "%v\n%s", r.err, r.stderr)
	assert.Equal(t, []string{"column public.orders.status changed"}, driftNamesOf(r))
	assert.Len(t, r.report.Applied, 4, "the migrations were applied before the check")
	assert.Contains(t, r.err.Msg, "differs from schema.sql")
}
