package stories

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func init() { register("SchemaInTheDiffAndDrift", storySchemaInTheDiffAndDrift) }

// The schema story (issue 11): an app that commits schema.sql. Argo CD's diff, through the
// real plugin server and repo-server code, shows the structural change of a new migration
// (which table gains which column) beside its SQL; after a sync the app is in sync again;
// a hand-made index on the target stops the next sync under drift policy error, named, with
// the target untouched.
func storySchemaInTheDiffAndDrift(t *testing.T) {
	e := environment(t)
	const app, ns, db = "catalog", "catalog", "catalog"
	ctx, _, live := openApp(t, e, 15*time.Minute, app, ns, db)
	repo := newAppRepo(t, e, app, ns, e.pg.URL(db))

	// 1. First sync with schema.sql: the hook checks the target against it after applying.
	v1 := repo.addMigrationWithSchema(t, "20240101120000_create_products.sql",
		"CREATE TABLE products (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  name text NOT NULL\n);\n")
	objs := repo.render(t, ctx)
	res := syncApp(t, ctx, live, objs, v1)
	require.Equal(t, Succeeded, res.Phase, "first sync: %s", res.Message)
	assert.NotContains(t, hookMessage(t, e, ns, "catalog-migrate"), "drift")
	assert.Contains(t, configMapData(t, e, ns, "catalog-schema")["schema.sql"], "CREATE TABLE public.products (")
	AssertInSync(t, live, objs)

	// 2. A new column: the diff shows the SQL file, the sum, and schema.sql gaining the column.
	const file = "20240102090000_add_price.sql"
	v2 := repo.addMigrationWithSchema(t, file, "ALTER TABLE products ADD COLUMN price numeric(12,2);\n")
	objs = repo.render(t, ctx)
	before, after := schemaConfigMapDiff(t, live, objs, "catalog-schema")
	assert.Equal(t, []string{file, "schema.sql", "schemahook.sum"}, changedKeys(before, after))
	assert.NotContains(t, before["schema.sql"], "price")
	assert.Contains(t, after["schema.sql"], "    name text NOT NULL,\n    price numeric(12,2)\n);",
		"the diff shows which table gains which column")
	res = syncApp(t, ctx, live, objs, v2)
	require.Equal(t, Succeeded, res.Phase, "second sync: %s", res.Message)
	AssertInSync(t, live, objs)

	// 3. Drift: an index made by hand on the target. With policy error the next sync stops
	// before applying, exit 7, naming the index; the pending migration is not applied.
	psql(t, e, db, "CREATE INDEX products_name_hotfix ON products (name)")
	cfg := filepath.Join(repo.dir, repo.appPath, "schemahook.yaml")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, append(b, []byte("  drift: {policy: error}\n")...), 0o644))
	v3 := repo.addMigrationWithSchema(t, "20240103090000_add_sku.sql", "ALTER TABLE products ADD COLUMN sku text;\n")
	objs = repo.render(t, ctx)
	res = syncApp(t, ctx, live, objs, v3)
	require.Equal(t, Failed, res.Phase, "drift fails the sync: %s", res.Message)
	term := hookTermination(t, e, ns, "catalog-migrate")
	assert.EqualValues(t, 7, term.ExitCode, "exit 7: drift under policy error; message: %s", term.Message)
	assert.Contains(t, term.Message, "schemahook FAILED at stage drift (exit 7)")
	assert.Contains(t, term.Message, "index public.products_name_hotfix added")
	assert.Contains(t, term.Message, "the target database was not changed")
	assert.Equal(t, "0", psql(t, e, db, "select count(*) from information_schema.columns where table_name = 'products' and column_name = 'sku'"))
}

// addMigrationWithSchema writes a migration, refreshes the sum file and schema.sql as a
// developer would (`schemahook hash`, `schemahook schema` replaying on the test's Postgres)
// and commits; it returns the commit.
func (r *appRepo) addMigrationWithSchema(t *testing.T, name, sql string) string {
	t.Helper()
	appDir := filepath.Join(r.dir, r.appPath)
	migDir := filepath.Join(appDir, "migrations")
	require.NoError(t, os.WriteFile(filepath.Join(migDir, name), []byte(sql), 0o644))
	out, err := exec.Command(r.e.binary, "hash", migDir).CombinedOutput()
	require.NoError(t, err, "schemahook hash: %s", out)
	cmd := exec.Command(r.e.binary, "schema", appDir, "--dev-url="+r.e.pg.URL("postgres"))
	cmd.Env = append(os.Environ(), "SCHEMAHOOK_PG_PATH="+r.e.pgBin, "PATH="+r.e.pgBin+":"+os.Getenv("PATH"))
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "schemahook schema: %s", out)
	r.git(t, "add", "-A")
	r.git(t, "commit", "-q", "-m", "add "+name)
	return strings.TrimSpace(r.git(t, "rev-parse", "HEAD"))
}

// schemaConfigMapDiff is Argo CD's diff of the schema ConfigMap, the one OutOfSync resource.
func schemaConfigMapDiff(t *testing.T, live App, objs []*unstructured.Unstructured, cm string) (before, after map[string]string) {
	t.Helper()
	diffs, err := live.Diff(objs)
	require.NoError(t, err)
	modified := Modified(diffs)
	require.Len(t, modified, 1, "exactly one resource is OutOfSync: %v", keysOf(modified))
	d := modified[0]
	require.Equal(t, "ConfigMap/"+cm, d.Key.Kind+"/"+d.Key.Name)
	require.NotNil(t, d.Live)
	require.NotNil(t, d.Predicted)
	before, _, _ = unstructured.NestedStringMap(d.Live.Object, "data")
	after, _, _ = unstructured.NestedStringMap(d.Predicted.Object, "data")
	return before, after
}

func changedKeys(before, after map[string]string) []string {
	var changed []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return changed
}
