// Package manyapps is the many-apps story of issue 5: the example ApplicationSet stamps one
// migration directory onto several databases, each generated Application renders through the
// plugin server with its own parameters, and two of them sync against a real API server with
// the Job controller, each migrating its own Postgres database.
package manyapps

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/schemahook/schemahook/e2e/argocd"
	"github.com/schemahook/schemahook/e2e/controlplane"
	"github.com/schemahook/schemahook/e2e/postgres"
	"github.com/schemahook/schemahook/e2e/stories"
)

var repoRoot, _ = filepath.Abs("../..")

const examplesPath = "manifests/examples"

func TestApplicationSetSyncsTwoDatabasesFromOneDirectory(t *testing.T) {
	bins := controlplane.RequireBinaries(t)
	_, err := user.LookupId("999")
	require.NoError(t, err, "the hook runs as uid 999 and its dev Postgres needs a passwd entry (e2e/run.sh adds one)")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// Short paths that the hook's uid and the postgres user can reach: the dev Postgres puts
	// a unix socket under the pod's directory.
	dir, err := os.MkdirTemp("", "shma")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	pgBin, err := postgres.BinDir()
	require.NoError(t, err)
	binDir, cleanBin, err := stories.BuildBinary(repoRoot)
	require.NoError(t, err)
	t.Cleanup(cleanBin)
	binary := filepath.Join(dir, "schemahook")
	data, err := os.ReadFile(filepath.Join(binDir, "schemahook"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(binary, data, 0o755))

	cpDir := filepath.Join(dir, "cp")
	require.NoError(t, os.Mkdir(cpDir, 0o700))
	cp, err := controlplane.Start(ctx, cpDir, bins)
	require.NoError(t, err)
	t.Cleanup(cp.Stop)
	pg, err := postgres.Start(ctx, dir, pgBin)
	require.NoError(t, err)
	t.Cleanup(pg.Stop)
	cmp, err := argocd.Start(argocd.Options{PluginDir: repoRoot, BinDir: binDir})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cmp.Close()) })

	repo := stories.RepoWith(t, examplesPath)
	revision := strings.TrimSpace(git(t, repo, "rev-parse", "HEAD"))
	var appSet v1alpha1.ApplicationSet
	raw, err := os.ReadFile(filepath.Join(repo, examplesPath, "applicationset", "tenants.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(raw, &appSet))
	apps, err := argocd.GenerateApplications(&appSet)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(apps), 3, "the example stamps at least three tenants")

	// Two tenants sync; the platform provides each tenant's URL Secret in its namespace.
	tenants := apps[:2]
	for _, app := range tenants {
		tenant := tenantOf(app)
		ns := app.Spec.Destination.Namespace
		require.NoError(t, cp.CreateRestrictedNamespace(ctx, ns))
		require.NoError(t, pg.CreateDatabase(ctx, tenant))
		_, err := cp.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: tenant + "-pg"},
			StringData: map[string]string{"url": pg.URL(tenant)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		agentDir, err := os.MkdirTemp(dir, "a")
		require.NoError(t, err)
		require.NoError(t, os.Chmod(agentDir, 0o755))
		agent, err := controlplane.StartAgent(cp.Client, controlplane.AgentOptions{
			Namespace: ns, Binary: binary, Dir: agentDir,
			ImageEnv: []string{"PATH=" + pgBin + ":/usr/local/bin:/usr/bin:/bin"},
		})
		require.NoError(t, err)
		t.Cleanup(agent.Stop)
	}
	accounts := func(tenant string) string {
		got, err := pg.Psql(ctx, tenant, "select coalesce(to_regclass('public.accounts')::text, 'none')")
		require.NoError(t, err)
		return got
	}

	for i, app := range tenants {
		tenant := tenantOf(app)
		objs, sourceType, err := cmp.RenderApplication(ctx, repo, app)
		require.NoError(t, err)
		require.Equal(t, v1alpha1.ApplicationSourceTypePlugin, sourceType)
		live, err := argocd.Code.NewApp(cp.Config, app.Name, app.Spec.Destination.Namespace)
		require.NoError(t, err)
		t.Cleanup(live.Close)
		syncCtx, cancelSync := context.WithTimeout(ctx, 4*time.Minute)
		res, err := live.Sync(syncCtx, objs, revision)
		cancelSync()
		require.NoError(t, err)
		require.Equal(t, stories.Succeeded, res.Phase, "%s: %s", app.Name, res.Message)
		_, ok := res.Hook("Job", tenant+"-migrate")
		require.True(t, ok, "%s: the sync ran the tenant's own hook Job", app.Name)

		require.Equal(t, "accounts", accounts(tenant), "%s: its database is migrated", app.Name)
		got, err := pg.Psql(ctx, tenant, "select string_agg(version || '|' || status, ',') from schemahook.revisions")
		require.NoError(t, err)
		require.Equal(t, "20240201000000|applied", got)
		for _, later := range tenants[i+1:] {
			require.Equal(t, "none", accounts(tenantOf(later)), "%s's sync reached only its own database", app.Name)
		}

		stories.AssertInSync(t, live, objs)
	}
}

func tenantOf(app *v1alpha1.Application) string {
	return strings.TrimSuffix(strings.TrimPrefix(app.Name, "tenant-"), "-db")
}

func git(t *testing.T, repo string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return string(out)
}
