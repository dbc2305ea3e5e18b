package review

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The app directory every test starts from: two migrations on main. The second drops a
// table the directory never created, which lint flags whenever that file is linted, so a
// finding on it shows a base file was linted.
const (
	appConfig = "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata: {name: orders}\nspec:\n  url: {secretKeyRef: {name: orders-pg, key: url}}\n  apply: {lockTimeout: 5s}\n"
	base1     = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, note text);\n"
	base2     = "-- retire the old table\nDROP TABLE legacy_orders;\n"
	// dangerous builds an index on a table the base created: it blocks writes (SH301).
	dangerous = "-- speed up lookups\nCREATE INDEX orders_customer_idx ON orders (customer_id);\n"
	safe      = "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
)

// git runs git in dir with a fixed identity and no user or system config.
func git(t *testing.T, dir string, args ...string) string { return testfs.Git(t, dir, args...) }

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// hash writes the sum file of dir, as `schemahook hash` does.
func hash(t *testing.T, dir string) {
	t.Helper()
	r, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, migrations.WriteSum(r, migrations.Options{}))
}

// newRepo makes a repository whose main branch holds app directory db/orders with the two
// base files and their sum, and checks out branch "change" from it.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write(t, dir, map[string]string{
		"db/orders/schemahook.yaml":                           appConfig,
		"db/orders/migrations/20240101000000_create.sql":      base1,
		"db/orders/migrations/20240102000000_drop_legacy.sql": base2,
	})
	hash(t, filepath.Join(dir, "db/orders/migrations"))
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "base")
	git(t, dir, "checkout", "-q", "-b", "change")
	return dir
}

// commit commits everything on the current branch.
func commit(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "change")
}

func rulesOn(r *Report, file string) []string {
	var out []string
	for _, f := range r.Findings {
		if strings.HasSuffix(f.File, file) {
			out = append(out, f.Rule)
		}
	}
	return out
}

func TestCheckAgainstGitBase(t *testing.T) {
	mig := "db/orders/migrations"
	cases := []struct {
		name     string
		change   func(t *testing.T, repo string)
		wantExit failure.ExitCode
		// wantRules maps a file name (suffix) to a rule it must have a finding of.
		wantRules map[string]string
		changed   []string
	}{
		{
			name:      "a new dangerous file is linted, the base files are not",
			change:    func(t *testing.T, repo string) { addFile(t, repo, "20240103000000_index.sql", dangerous) },
			wantExit:  failure.ExitLint,
			wantRules: map[string]string{"20240103000000_index.sql": "SH301"},
			changed:   []string{mig + "/20240103000000_index.sql"},
		},
		{
			name:     "a new safe file passes",
			change:   func(t *testing.T, repo string) { addFile(t, repo, "20240103000000_customers.sql", safe) },
			wantExit: failure.ExitOK,
			changed:  []string{mig + "/20240103000000_customers.sql"},
		},
		{
			name: "an edited base file is an integrity error naming it",
			change: func(t *testing.T, repo string) {
				write(t, repo, map[string]string{mig + "/20240101000000_create.sql": base1 + "ALTER TABLE orders ADD COLUMN status text;\n"})
				hash(t, filepath.Join(repo, mig))
			},
			wantExit:  failure.ExitHistory,
			wantRules: map[string]string{"20240101000000_create.sql": "checksum-mismatch"},
			changed:   []string{},
		},
		{
			name: "a removed base file is an integrity error naming it",
			change: func(t *testing.T, repo string) {
				require.NoError(t, os.Remove(filepath.Join(repo, mig, "20240102000000_drop_legacy.sql")))
				hash(t, filepath.Join(repo, mig))
			},
			wantExit:  failure.ExitHistory,
			wantRules: map[string]string{"20240102000000_drop_legacy.sql": "applied-file-missing"},
			changed:   []string{},
		},
		{
			name:      "a new file older than the base's newest is out of order",
			change:    func(t *testing.T, repo string) { addFile(t, repo, "20240101120000_customers.sql", safe) },
			wantExit:  failure.ExitHistory,
			wantRules: map[string]string{"20240101120000_customers.sql": "out-of-order"},
			changed:   []string{mig + "/20240101120000_customers.sql"},
		},
		{
			name: "a file added without rehashing leaves the sum stale",
			change: func(t *testing.T, repo string) {
				write(t, repo, map[string]string{mig + "/20240103000000_customers.sql": safe})
			},
			wantExit:  failure.ExitHistory,
			wantRules: map[string]string{"schemahook.sum": "stale-sum"},
			changed:   []string{mig + "/20240103000000_customers.sql"},
		},
		{
			name: "a config the render refuses is exit 1 on schemahook.yaml",
			change: func(t *testing.T, repo string) {
				write(t, repo, map[string]string{"db/orders/schemahook.yaml": appConfig + "  colour: blue\n"})
			},
			wantExit:  failure.ExitUsage,
			wantRules: map[string]string{"schemahook.yaml": "config"},
		},
		{
			name: "a non-transactional new file under apply.txMode all is refused as the hook would",
			change: func(t *testing.T, repo string) {
				write(t, repo, map[string]string{"db/orders/schemahook.yaml": strings.Replace(appConfig, "apply: {", "apply: {txMode: all, ", 1)})
				addFile(t, repo, "20240103000000_index.sql", "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n")
			},
			wantExit:  failure.ExitUsage,
			wantRules: map[string]string{"20240103000000_index.sql": "tx-mode"},
			changed:   []string{mig + "/20240103000000_index.sql"},
		},
		{
			name: "a plaintext Secret beside the migrations is refused by the render",
			change: func(t *testing.T, repo string) {
				write(t, repo, map[string]string{"db/orders/pg.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: orders-pg}\nstringData: {url: postgres://x}\n"})
			},
			wantExit:  failure.ExitUsage,
			wantRules: map[string]string{"pg.yaml": "plaintext-secret"},
			changed:   []string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := newRepo(t)
			tc.change(t, repo)
			commit(t, repo)
			t.Chdir(repo)
			rep, err := Run([]string{"db/orders"}, Options{Base: "main"})
			require.NoError(t, err)
			assert.Equal(t, tc.wantExit, rep.ExitCode, "%+v", rep.Findings)
			for file, rule := range tc.wantRules {
				assert.Contains(t, rulesOn(rep, file), rule, "%+v", rep.Findings)
			}
			// Base files are history: never linted, whatever the change.
			for _, f := range rep.Findings {
				if f.Stage == StageLint {
					assert.NotContains(t, f.File, "20240102000000_drop_legacy.sql", "a base file was linted")
				}
			}
			if tc.changed != nil {
				require.Len(t, rep.Apps, 1)
				assert.Equal(t, tc.changed, rep.Apps[0].Changed)
			}
			if tc.wantExit == failure.ExitOK {
				assert.Empty(t, rep.Findings)
			}
		})
	}
}

func addFile(t *testing.T, repo, name, content string) {
	t.Helper()
	dir := filepath.Join(repo, "db/orders/migrations")
	write(t, dir, map[string]string{name: content})
	hash(t, dir)
}

// Without --git-base every file is the change, as `schemahook lint` has it: the base file
// that drops a table is flagged.
func TestCheckWithoutBaseLintsEverything(t *testing.T) {
	repo := newRepo(t)
	t.Chdir(repo)
	rep, err := Run([]string{"db/orders"}, Options{})
	require.NoError(t, err)
	assert.Contains(t, rulesOn(rep, "20240102000000_drop_legacy.sql"), "SH101")
	assert.Equal(t, failure.ExitLint, rep.ExitCode)
	assert.Len(t, rep.Apps[0].Changed, 2)

	rep, err = Run([]string{"db/orders"}, Options{Base: "main"})
	require.NoError(t, err)
	assert.Equal(t, failure.ExitOK, rep.ExitCode, "%+v", rep.Findings)
	assert.Len(t, rep.Apps[0].History, 2)
}

func TestBadBase(t *testing.T) {
	repo := newRepo(t)
	t.Chdir(repo)
	for _, ref := range []string{"no-such-branch", "origin/main", "0123456789abcdef0123456789abcdef01234567", "--output=x"} {
		_, err := Run([]string{"db/orders"}, Options{Base: ref})
		require.Error(t, err, ref)
		assert.Contains(t, err.Error(), ref)
	}
	// Outside a work tree.
	plain := t.TempDir()
	write(t, plain, map[string]string{"20240101000000_a.sql": safe})
	_, err := Run([]string{plain}, Options{Base: "main"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not in a Git work tree")
}

// Two app directories change in one pull request; a third, unchanged, is left alone by
// --changed. A directory new since the base is all change.
func TestMultipleAppDirectories(t *testing.T) {
	repo := newRepo(t)
	git(t, repo, "checkout", "-q", "main")
	write(t, repo, map[string]string{
		"db/billing/schemahook.yaml":                      strings.ReplaceAll(appConfig, "orders", "billing"),
		"db/billing/migrations/20240101000000_create.sql": base1,
		"db/untouched/schemahook.yaml":                    strings.ReplaceAll(appConfig, "orders", "untouched"),
		"db/untouched/migrations/20240101000000_drop.sql": base2,
		"docs/readme.md":                                  "not an app\n",
	})
	commit(t, repo)
	git(t, repo, "checkout", "-q", "-B", "change", "main")
	addFile(t, repo, "20240103000000_index.sql", dangerous)
	write(t, repo, map[string]string{"db/billing/migrations/20240102000000_drop.sql": "ALTER TABLE orders DROP COLUMN note;\n"})
	write(t, repo, map[string]string{
		"db/new/schemahook.yaml":                      strings.ReplaceAll(appConfig, "orders", "fresh"),
		"db/new/migrations/20240101000000_create.sql": safe,
	})
	commit(t, repo)
	t.Chdir(repo)

	rep, err := Run([]string{"db"}, Options{Base: "main", Changed: true})
	require.NoError(t, err)
	var dirs []string
	for _, a := range rep.Apps {
		dirs = append(dirs, a.Dir)
	}
	assert.Equal(t, []string{"db/billing", "db/new", "db/orders"}, dirs)
	assert.Contains(t, rulesOn(rep, "db/orders/migrations/20240103000000_index.sql"), "SH301")
	assert.Contains(t, rulesOn(rep, "db/billing/migrations/20240102000000_drop.sql"), "SH102")
	assert.Empty(t, rulesOn(rep, "db/new/migrations/20240101000000_create.sql"))
	assert.Equal(t, []string{"db/new/migrations/20240101000000_create.sql"}, rep.Apps[1].Changed)
	assert.Equal(t, failure.ExitLint, rep.ExitCode)
	for _, f := range rep.Findings {
		assert.True(t, strings.HasPrefix(f.File, f.App+"/"), "finding %s outside its app %s", f.File, f.App)
	}

	// An untracked file counts as a change (pre-commit runs before git add); an ignored
	// tree is never searched.
	write(t, repo, map[string]string{
		"db/untouched/migrations/20240102000000_more.sql": safe,
		".gitignore":                                  "vendor/\n",
		"vendor/db/x/schemahook.yaml":                 appConfig,
		"vendor/db/x/migrations/20240101000000_a.sql": "SELEC 1;\n",
	})
	rep, err = Run([]string{"."}, Options{Base: "HEAD", Changed: true})
	require.NoError(t, err)
	require.Len(t, rep.Apps, 1, "%+v", rep.Apps)
	assert.Equal(t, "db/untouched", rep.Apps[0].Dir)

	_, err = Run([]string{"db"}, Options{Changed: true})
	assert.ErrorContains(t, err, "--changed needs --git-base")
}

// The seam for schema.sql: called only when the file exists, its error is a finding on
// the file (exit 4), nil skips it.
func TestSchemaFreshness(t *testing.T) {
	repo := newRepo(t)
	t.Chdir(repo)
	calls := 0
	stale := func(appDir string) error {
		calls++
		assert.Equal(t, "db/orders", appDir)
		return errors.New("db/orders/schema.sql:1: built from directory checksum h1:aaa, the directory is now h1:bbb; run `schemahook schema db/orders` [stale-schema]")
	}
	fresh := func(string) error { calls++; return nil }

	rep, err := Run([]string{"db/orders"}, Options{Base: "main", SchemaFreshness: stale})
	require.NoError(t, err)
	assert.Equal(t, 0, calls, "called without a schema.sql")
	assert.Equal(t, "absent", rep.Apps[0].Schema)

	// A schema.sql the render accepts (its header names the directory's checksum), so what
	// is tested is the seam's verdict.
	dir, err := schema.ReadAppDir("db/orders")
	require.NoError(t, err)
	write(t, repo, map[string]string{"db/orders/schema.sql": schema.File(schema.DirSum(dir.ComputeSum()), "db/orders", "CREATE TABLE orders ();\n")})
	rep, err = Run([]string{"db/orders"}, Options{Base: "main", SchemaFreshness: stale})
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, failure.ExitHistory, rep.ExitCode)
	require.Len(t, rep.Findings, 1)
	f := rep.Findings[0]
	assert.Equal(t, []any{"db/orders/schema.sql", 1, "stale-schema"}, []any{f.File, f.Line, f.Rule})
	assert.Equal(t, "stale", rep.Apps[0].Schema)

	rep, err = Run([]string{"db/orders"}, Options{Base: "main", SchemaFreshness: fresh})
	require.NoError(t, err)
	assert.Equal(t, failure.ExitOK, rep.ExitCode)
	assert.Equal(t, "fresh", rep.Apps[0].Schema)

	rep, err = Run([]string{"db/orders"}, Options{Base: "main"})
	require.NoError(t, err)
	assert.Equal(t, failure.ExitOK, rep.ExitCode)
	assert.Equal(t, "not checked", rep.Apps[0].Schema)
}

// The lint variant keeps `schemahook lint`'s contract: only the lint policy, and a
// directory it cannot read is an error rather than a finding.
func TestLintOnly(t *testing.T) {
	repo := newRepo(t)
	t.Chdir(repo)
	// A stale sum and a config the render refuses are not lint's business.
	write(t, repo, map[string]string{"db/orders/migrations/20240103000000_index.sql": dangerous, "db/orders/pg.yaml": "kind: Secret\n"})
	rep, err := Run([]string{"db/orders"}, Options{LintOnly: true, Since: "20240102000000"})
	require.NoError(t, err)
	assert.Equal(t, failure.ExitLint, rep.ExitCode)
	for _, f := range rep.Findings {
		assert.Equal(t, StageLint, f.Stage, "%+v", f)
	}
	assert.Contains(t, rulesOn(rep, "20240103000000_index.sql"), "SH301")

	write(t, repo, map[string]string{"db/orders/migrations/20240101000000_dup.sql": safe})
	_, err = Run([]string{"db/orders"}, Options{LintOnly: true})
	assert.ErrorContains(t, err, "duplicate")
}
