package install

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
)

// The sidecar component works on Argo CD's own repo-server Deployments: the argo-cd/v2
// module's this module requires, the argo-cd/v3 module's e2e/argocd3 requires, and v3.2.0's
// vendored in testdata. The var-files and plugins volumes are the same in all; the copyutil
// init container copies the binary as argocd-cmp-server up to v3.2 and, from v3.3, copies it
// as argocd and links argocd-cmp-server to it (the name the binary dispatches on).
func TestSidecarOnUpstreamRepoServers(t *testing.T) {
	const deployment = "manifests/base/repo-server/argocd-repo-server-deployment.yaml"
	upstream := map[string]string{"v3.2.0": filepath.Join("testdata", "argocd-v3.2.0-repo-server-deployment.yaml")}
	for _, m := range []struct{ dir, path string }{{".", "github.com/argoproj/argo-cd/v2"}, {"../argocd3", "github.com/argoproj/argo-cd/v3"}} {
		// go mod download names the module's directory (fetching it if a cold cache lacks it).
		cmd := exec.Command("go", "mod", "download", "-json", m.path)
		cmd.Dir = m.dir
		out, err := cmd.Output()
		require.NoError(t, err, "locate %s", m.path)
		var mod struct{ Version, Dir string }
		require.NoError(t, json.Unmarshal(out, &mod), "%s", out)
		require.NotEmpty(t, mod.Dir, "%s", out)
		upstream[mod.Version] = filepath.Join(mod.Dir, deployment)
	}
	require.Len(t, upstream, 3)
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
				if ic.Name != "copyutil" {
					continue
				}
				cmd := strings.Join(append(append([]string{}, ic.Command...), ic.Args...), " ")
				if strings.HasSuffix(cmd, " "+cmpServer) {
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
