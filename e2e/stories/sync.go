package stories

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/schemahook/schemahook/e2e/controlplane"
)

const (
	sqlCreateOrders = "-- Orders placed by customers.\nCREATE TABLE orders (\n  id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  total numeric(12,2) NOT NULL\n);\n"
	sqlAddCustomer  = "-- Who placed the order.\nALTER TABLE orders ADD COLUMN customer text;\n"
	sqlBroken       = "-- Refers to a table that does not exist: the dev replay refuses it.\nALTER TABLE order_lines ADD COLUMN note text;\n"
)

func init() { register("SyncAndDiff", storySyncAndDiff) }

// The sync and diff stories of one app, in the order a team lives them: the first sync of a
// new app (credentials from a SealedSecret), a second migration shown by the diff and then
// applied alone, and a failing migration that leaves everything as it was and stays visible.
func storySyncAndDiff(t *testing.T) {
	e := environment(t)
	const app, ns, db = "orders", "shop", "orders"
	ctx, agent, live := openApp(t, e, 15*time.Minute, app, ns, db)
	// Trust authentication ignores the password; it is there to prove it never leaks.
	const password = "e2e-s3cret-pw"
	url := strings.Replace(e.pg.URL(db), "postgres@", "postgres:"+password+"@", 1)
	repo := newAppRepo(t, e, app, ns, url)

	// 1. The first sync of a new app: the Secret exists only once the SealedSecret hook is
	// unsealed, the Job migrates the target, then the schema ConfigMap is applied.
	v1 := repo.addMigration(t, "20240101120000_create_orders.sql", sqlCreateOrders)
	objs := repo.render(t, ctx)
	res := syncApp(t, ctx, live, objs, v1)
	require.Equal(t, Succeeded, res.Phase, "first sync: %s", res.Message)
	secret, err := e.cp.Client.CoreV1().Secrets(ns).Get(ctx, "pg-credentials", metav1.GetOptions{})
	require.NoError(t, err, "the unsealed credentials Secret")
	assert.Equal(t, url, string(secret.Data["url"]))
	assert.Equal(t, "orders", psql(t, e, db, "select to_regclass('public.orders')::text"))
	assert.Equal(t, "20240101120000|applied|"+v1, psql(t, e, db,
		"select version || '|' || status || '|' || git_revision from schemahook.revisions order by version"))
	assert.Contains(t, hookMessage(t, e, ns, "orders-migrate"), "20240101120000_create_orders.sql")
	AssertInSync(t, live, objs)

	// 2. A new migration in Git: before the sync the diff shows exactly its SQL in the schema
	// ConfigMap; the sync applies it and only it.
	appliedAt := psql(t, e, db, "select applied_at::text from schemahook.revisions where version = '20240101120000'")
	v2, objs, res := syncNewMigration(t, ctx, repo, live, "20240102090000_add_customer.sql", sqlAddCustomer)
	require.Equal(t, Succeeded, res.Phase, "second sync: %s", res.Message)
	assert.Equal(t, "20240101120000|applied|"+v1+"\n20240102090000|applied|"+v2, psql(t, e, db,
		"select version || '|' || status || '|' || git_revision from schemahook.revisions order by version"))
	assert.Equal(t, appliedAt, psql(t, e, db, "select applied_at::text from schemahook.revisions where version = '20240101120000'"),
		"the first migration is not applied again")
	assert.Equal(t, "customer", psql(t, e, db,
		"select column_name from information_schema.columns where table_name = 'orders' and column_name = 'customer'"))
	msg := hookMessage(t, e, ns, "orders-migrate")
	assert.Contains(t, msg, "20240102090000_add_customer.sql")
	assert.NotContains(t, msg, "20240101120000_create_orders.sql", "only the new migration runs")
	AssertInSync(t, live, objs)

	// 3. A migration that fails: the hook fails with our message, the target and the schema
	// ConfigMap stay as they were, and the diff keeps showing the pending SQL.
	schemaBefore := schemaOf(t, e, db)
	liveSchemaCM := configMapData(t, e, ns, "orders-schema")
	_, objs, res = syncNewMigration(t, ctx, repo, live, "20240103090000_broken.sql", sqlBroken)
	require.Equal(t, Failed, res.Phase, "a failing migration fails the sync: %s", res.Message)
	job, ok := res.Hook("Job", "orders-migrate")
	require.True(t, ok, "the sync ran the migrate hook: %+v", res.Resources)
	assert.Equal(t, Failed, job.HookPhase, "hook: %s", job.Message)
	_, applied := res.Resource("ConfigMap", "orders-schema")
	assert.False(t, applied, "the Sync phase never ran, so the schema ConfigMap was not applied")
	term := hookTermination(t, e, ns, "orders-migrate")
	assert.EqualValues(t, 2, term.ExitCode, "exit 2: the dev replay refused it; message: %s", term.Message)
	assert.Contains(t, term.Message, "schemahook FAILED")
	assert.Contains(t, term.Message, "20240103090000_broken.sql")
	assert.Contains(t, term.Message, "order_lines")
	assert.Contains(t, term.Message, "the target database was not changed")
	require.Len(t, agent.Pods(), 3, "one hook pod per sync")
	for _, pod := range agent.Pods() {
		log, err := agent.PodLog(pod)
		require.NoError(t, err)
		assert.NotContains(t, log, password, "the hook's output never shows the database password")
	}
	assert.NotContains(t, term.Message, password)
	assert.Equal(t, schemaBefore, schemaOf(t, e, db), "the target is unchanged")
	assert.Equal(t, "0", psql(t, e, db, "select count(*) from schemahook.revisions where version = '20240103090000'"))
	assert.Equal(t, liveSchemaCM, configMapData(t, e, ns, "orders-schema"), "the schema ConfigMap is unapplied")
	assertPendingSQL(t, live, objs, "orders-schema", "20240103090000_broken.sql", sqlBroken)
}

// openApp opens a story of one app: a deadline d from now, the restricted namespace ns with
// its node agent (which runs the hook pods), the database db, and the app's live state.
func openApp(t *testing.T, e *env, d time.Duration, app, ns, db string) (context.Context, *controlplane.Agent, App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	require.NoError(t, e.cp.CreateRestrictedNamespace(ctx, ns))
	require.NoError(t, e.pg.CreateDatabase(ctx, db))
	return ctx, startAgent(t, e, ns), newApp(t, e, app, ns)
}

// startAgent runs the node agent for ns. The hook pods run in the image built from the
// Dockerfile (SCHEMAHOOK_E2E_IMAGE, set by e2e/run.sh) with podman or docker, from the pod
// spec the API server holds; without it, the schemahook binary stands in for the image,
// with the Postgres server binaries on its PATH (as the image has them).
func startAgent(t *testing.T, e *env, ns string) *controlplane.Agent {
	t.Helper()
	dir, err := os.MkdirTemp(e.dir, "a")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	opts := controlplane.AgentOptions{
		Namespace: ns,
		Binary:    e.binary,
		ImageEnv:  []string{"PATH=" + e.pgBin + ":/usr/local/bin:/usr/bin:/bin"},
		Dir:       dir,
		Logf:      t.Logf,
	}
	if e.image != "" {
		opts.Engine = controlplane.Engine()
		require.NotEmpty(t, opts.Engine, "SCHEMAHOOK_E2E_IMAGE is set but no container engine answers")
		opts.Images = map[string]string{e.renders: e.image}
	}
	agent, err := controlplane.StartAgent(e.cp.Client, opts)
	require.NoError(t, err)
	t.Cleanup(agent.Stop)
	return agent
}

// newApp is the controller's view of app in ns, closed at the end of the test.
func newApp(t *testing.T, e *env, app, ns string) App {
	t.Helper()
	live, err := argo.NewApp(e.cp.Config, app, ns)
	require.NoError(t, err)
	t.Cleanup(live.Close)
	return live
}

// appRepo is a Git repository holding one app directory, as a team's repo would.
type appRepo struct {
	e       *env
	dir     string
	appPath string
	app, ns string
}

// newAppRepo creates the repository with the app's schemahook.yaml and its credentials
// sealed by `schemahook seal` with the test controller's certificate: the URL is in Git
// only encrypted.
func newAppRepo(t *testing.T, e *env, app, ns, url string) *appRepo {
	t.Helper()
	r := &appRepo{e: e, dir: t.TempDir(), appPath: "db/" + app, app: app, ns: ns}
	appDir := filepath.Join(r.dir, r.appPath)
	require.NoError(t, os.MkdirAll(filepath.Join(appDir, "migrations"), 0o755))
	config := "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: " + app + "\nspec:\n" +
		"  url:\n    secretKeyRef: {name: pg-credentials, key: url}\n"
	require.NoError(t, os.WriteFile(filepath.Join(appDir, "schemahook.yaml"), []byte(config), 0o644))
	sealed, err := sealURL(e.binary, e.sealCert, ns, "pg-credentials", url)
	require.NoError(t, err)
	require.NotContains(t, string(sealed), url)
	require.NoError(t, os.WriteFile(filepath.Join(appDir, "pg-credentials.sealed.yaml"), sealed, 0o644))
	r.git(t, "init", "-q", "-b", "main")
	return r
}

// addMigration writes a migration, updates the sum file with `schemahook hash` and commits;
// it returns the commit.
func (r *appRepo) addMigration(t *testing.T, name, sql string) string {
	t.Helper()
	migDir := filepath.Join(r.dir, r.appPath, "migrations")
	require.NoError(t, os.WriteFile(filepath.Join(migDir, name), []byte(sql), 0o644))
	out, err := exec.Command(r.e.binary, "hash", migDir).CombinedOutput()
	require.NoError(t, err, "schemahook hash: %s", out)
	r.git(t, "add", "-A")
	r.git(t, "commit", "-q", "-m", "add "+name)
	return strings.TrimSpace(r.git(t, "rev-parse", "HEAD"))
}

func (r *appRepo) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return string(out)
}

// render produces the app's manifests exactly as the repo-server does, through the plugin.
func (r *appRepo) render(t *testing.T, ctx context.Context) []*unstructured.Unstructured {
	t.Helper()
	objs, err := r.e.cmp.Render(ctx, r.dir, r.appPath, r.app, r.ns)
	require.NoError(t, err)
	return objs
}

// syncApp runs one sync operation to its end, with a limit well above its usual seconds.
func syncApp(t *testing.T, ctx context.Context, live App, objs []*unstructured.Unstructured, revision string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	started := time.Now()
	res, err := live.Sync(ctx, objs, revision)
	require.NoError(t, err)
	t.Logf("sync of %s: %s in %s: %s", revision[:7], res.Phase, time.Since(started).Round(time.Millisecond), res.Message)
	return res
}

// AssertInSync checks Argo CD's diff finds nothing to sync. The cluster cache learns of the
// sync's writes through its watches, a moment after the sync ends, so it asks again for a
// while before it reports a difference, as the controller's next refresh would.
func AssertInSync(t *testing.T, live App, objs []*unstructured.Unstructured) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		diffs, err := live.Diff(objs)
		require.NoError(t, err)
		require.NotEmpty(t, diffs, "the diff covers the app's normal resources")
		modified := Modified(diffs)
		if len(modified) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("OutOfSync after the sync: %v", keysOf(modified))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// syncNewMigration adds a migration to the app's repository, checks that the diff shows it
// pending in the orders-schema ConfigMap, then syncs the new revision.
func syncNewMigration(t *testing.T, ctx context.Context, repo *appRepo, live App, file, sql string) (rev string, objs []*unstructured.Unstructured, res Result) {
	t.Helper()
	rev = repo.addMigration(t, file, sql)
	objs = repo.render(t, ctx)
	assertPendingSQL(t, live, objs, "orders-schema", file, sql)
	return rev, objs, syncApp(t, ctx, live, objs, rev)
}

// assertPendingSQL checks that the only difference Argo CD shows is in the schema ConfigMap:
// the new file's SQL, byte for byte, plus the sum file that covers it.
func assertPendingSQL(t *testing.T, live App, objs []*unstructured.Unstructured, cm, file, sql string) {
	t.Helper()
	before, after := schemaConfigMapDiff(t, live, objs, cm)
	assert.Equal(t, []string{file, "schemahook.sum"}, changedKeys(before, after), "the diff shows the new file and the sum, nothing else")
	assert.Equal(t, sql, after[file], "the diff shows the new SQL as written")
	_, wasThere := before[file]
	assert.False(t, wasThere, "the new file is not live yet")
}

func keysOf(diffs []ResourceDiff) []string {
	var out []string
	for _, d := range diffs {
		out = append(out, d.Key.String())
	}
	return out
}

func psql(t *testing.T, e *env, db, query string) string {
	t.Helper()
	out, err := e.pg.Psql(context.Background(), db, query)
	require.NoError(t, err)
	return out
}

// schemaOf lists the target's tables and columns outside the system schemas.
func schemaOf(t *testing.T, e *env, db string) string {
	return psql(t, e, db, `select string_agg(table_schema || '.' || table_name || '.' || column_name || ':' || data_type, E'\n'
		order by table_schema, table_name, column_name) from information_schema.columns
		where table_schema not in ('pg_catalog', 'information_schema')`)
}

func configMapData(t *testing.T, e *env, ns, name string) map[string]string {
	t.Helper()
	cm, err := e.cp.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return cm.Data
}

// jobPods are the pods of the current Job jobName, found by its uid.
func jobPods(t *testing.T, e *env, ns, jobName string) []corev1.Pod {
	t.Helper()
	ctx := context.Background()
	job, err := e.cp.Client.BatchV1().Jobs(ns).Get(ctx, jobName, metav1.GetOptions{})
	require.NoError(t, err)
	pods, err := e.cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: "batch.kubernetes.io/controller-uid=" + string(job.UID)})
	if apierrors.IsNotFound(err) {
		t.Fatalf("no pods of job %s", jobName)
	}
	require.NoError(t, err)
	return pods.Items
}

// hookTermination is how the current migrate Job's pod ended: what `kubectl describe` and
// Argo CD's resource view show.
func hookTermination(t *testing.T, e *env, ns, jobName string) corev1.ContainerStateTerminated {
	t.Helper()
	pods := jobPods(t, e, ns, jobName)
	require.Len(t, pods, 1, "backoffLimit 0: one pod per run")
	st := pods[0].Status.ContainerStatuses
	require.Len(t, st, 1)
	require.NotNil(t, st[0].State.Terminated, "the hook's container has ended")
	return *st[0].State.Terminated
}

func hookMessage(t *testing.T, e *env, ns, jobName string) string {
	t.Helper()
	term := hookTermination(t, e, ns, jobName)
	require.EqualValues(t, 0, term.ExitCode, "hook failed: %s", term.Message)
	return term.Message
}
