package argocd

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v2/cmpserver/plugin"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/schemahook/schemahook/e2e/stories"
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

// renderOrdersApp renders a small app, orders-app in namespace shop, through the plugin
// server and the repo-server's code; the tracking tests (version_test.go) look at what the
// version's default tracking set on the objects.
func renderOrdersApp(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	s := startServer(t)
	repo := t.TempDir()
	stories.WriteFile(t, repo, "db/orders/schemahook.yaml", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: orders\n"+
		"spec:\n  url:\n    secretKeyRef: {name: pg-credentials, key: url}\n")
	stories.WriteFile(t, repo, "db/orders/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")
	out, err := exec.Command(filepath.Join(binDir, "schemahook"), "hash", filepath.Join(repo, "db/orders/migrations")).CombinedOutput()
	require.NoError(t, err, "schemahook hash: %s", out)
	objs, err := s.Render(context.Background(), repo, "db/orders", "orders-app", "shop")
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	return objs
}

func TestVersionIsTheRequiredOne(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/argoproj/argo-cd/v2").Output()
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(string(out)), argoCD{}.Version())
}
