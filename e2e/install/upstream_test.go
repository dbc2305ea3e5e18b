package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
)

// The sidecar component works on Argo CD's own repo-server Deployments: v2.14.21's from the
// argo-cd module this module requires, and v3.2.0's vendored in testdata (the same
// copyutil init container, var-files and plugins volumes in both).
func TestSidecarOnUpstreamRepoServers(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-cd/v2").Output()
	require.NoError(t, err, "locate the argo-cd module")
	upstream := map[string]string{
		"v2.14.21": filepath.Join(strings.TrimSpace(string(out)), "manifests", "base", "repo-server", "argocd-repo-server-deployment.yaml"),
		"v3.2.0":   filepath.Join("testdata", "argocd-v3.2.0-repo-server-deployment.yaml"),
	}
	for version, path := range upstream {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "deployment.yaml"), data, 0o644))
			sidecar, err := filepath.Rel(dir, filepath.Join(installDir, "sidecar")) // kustomize wants it relative
			require.NoError(t, err)
			kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\n" +
				"resources:\n- deployment.yaml\ncomponents:\n- " + sidecar + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644))

			var dep *appsv1.Deployment
			for _, o := range build(t, dir) {
				if d, ok := o.(*appsv1.Deployment); ok && d.Name == repoServer {
					dep = d
				}
			}
			require.NotNil(t, dep)
			pod := dep.Spec.Template.Spec
			require.Equal(t, []string{"/usr/local/bin/argocd-repo-server"}, container(t, pod, repoServer).Args, "Argo CD's container is kept")

			// Argo CD's copyutil puts the plugin server where the sidecar runs it from, on the
			// volume the sidecar mounts.
			var copied bool
			for _, ic := range pod.InitContainers {
				if ic.Name == "copyutil" && len(ic.Command) > 0 && ic.Command[len(ic.Command)-1] == cmpServer {
					require.Equal(t, "var-files", mountPaths(ic)["/var/run/argocd"].Name)
					copied = true
				}
			}
			require.True(t, copied, "copyutil copies argocd-cmp-server to %s", cmpServer)
			c := container(t, pod, sidecarName)
			require.Equal(t, []string{cmpServer}, c.Command)
			require.Equal(t, "plugins", mountPaths(container(t, pod, repoServer))[pluginsDir].Name, "the repo-server looks for plugin sockets there")
			for _, name := range []string{"var-files", "plugins", mountPaths(c)[pluginConfig].Name, mountPaths(c)["/tmp"].Name} {
				volume(t, pod, name)
			}
		})
	}
}
