package argocd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/argoproj/argo-cd/v2/cmpserver/plugin"
	"github.com/stretchr/testify/require"
)

// startServer runs the plugin server with the repository's own plugin.yaml.
func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start(Options{PluginDir: repoRoot, BinDir: binDir})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// Argo CD's own reader accepts plugin.yaml, and the generate command is found through PATH,
// as in the image, where the binary is /usr/local/bin/schemahook.
func TestPluginConfigLoadsWithArgoCDReader(t *testing.T) {
	cfg, err := plugin.ReadPluginConfig(repoRoot)
	require.NoError(t, err)
	require.Equal(t, plugin.ConfigManagementPluginKind, cfg.Kind)
	require.NotEmpty(t, cfg.Metadata.Name)
	require.Equal(t, "schemahook", cfg.Spec.Generate.Command[0], "generate must run schemahook from PATH")
	require.True(t, cfg.Spec.Discover.IsDefined(), "discovery lets Applications omit the plugin name")
	require.NotEmpty(t, cfg.Spec.Parameters.Static, "the UI shows announced parameters")
}

// The repo-server's discovery hands a directory with schemahook.yaml to the plugin and
// leaves any other directory to Argo CD's plain-manifest handling.
func TestDiscoveryMatchesSchemahookDirectoriesOnly(t *testing.T) {
	s := startServer(t)
	repo := t.TempDir()
	write(t, repo, "db/orders/schemahook.yaml", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: orders\n")
	write(t, repo, "db/orders/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")
	write(t, repo, "apps/web/deployment.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n")
	write(t, repo, "apps/web/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")

	ctx := context.Background()
	got, err := s.AppType(ctx, repo, "db/orders")
	require.NoError(t, err)
	require.Equal(t, "Plugin", got)

	got, err = s.AppType(ctx, repo, "apps/web")
	require.NoError(t, err)
	require.Equal(t, "Directory", got)
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// Parameters reach the plugin the way Argo CD sends them (ARGOCD_APP_PARAMETERS, built by
// the repo-server's code from spec.source.plugin.parameters) and override schemahook.yaml.
func TestRenderPassesPluginParameters(t *testing.T) {
	s := startServer(t)
	repo := examplesRepo(t)
	ctx := context.Background()
	dir := examplesPath + "/db/tenant"

	objs, err := s.Render(ctx, repo, dir, "plain", "ns1")
	require.NoError(t, err)
	require.Contains(t, byKindName(objs), "ConfigMap/tenant-schema", "without parameters, schemahook.yaml names the objects")

	objs, err = s.Render(ctx, repo, dir, "custom-db", "ns1", StringParam("name", "custom"), StringParam("url-secret", "custom-pg"))
	require.NoError(t, err)
	got := byKindName(objs)
	require.Contains(t, got, "ConfigMap/custom-schema")
	require.NotContains(t, got, "ConfigMap/tenant-schema")
	require.Contains(t, got, "Job/custom-migrate")
}
