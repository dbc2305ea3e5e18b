// Package install checks manifests/install: the kustomization built with the kustomize
// library, every object decoded strictly, the sidecar as Argo CD requires it, the Helm values
// snippets equal to it, and (install_apply_test.go) the result accepted by an API server.
package install

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v2/cmpserver/plugin"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var (
	repoRoot, _ = filepath.Abs("../..")
	installDir  = filepath.Join(repoRoot, "manifests", "install")
	update      = flag.Bool("update", false, "rewrite the Helm values files from plugin.yaml and the sidecar patch")
)

// The paths Argo CD's plugin server and the repo-server agree on.
const (
	cmpServer     = "/var/run/argocd/argocd-cmp-server"
	pluginsDir    = "/home/argocd/cmp-server/plugins"
	pluginConfig  = "/home/argocd/cmp-server/config/plugin.yaml"
	sidecarName   = "schemahook"
	repoServer    = "argocd-repo-server"
	generatedName = "schemahook-cmp-plugin"
)

// build runs kustomize (the library kubectl and Argo CD embed) on dir, offline.
func build(t *testing.T, dir string) []runtime.Object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{Strict: true})
	var objs []runtime.Object
	for _, r := range rm.Resources() {
		data, err := r.MarshalJSON()
		require.NoError(t, err)
		obj, _, err := strict.Decode(data, nil, nil)
		require.NoError(t, err, "strict decode of %s %s", r.GetKind(), r.GetName())
		objs = append(objs, obj)
	}
	return objs
}

// installed builds manifests/install and returns its repo-server Deployment and the plugin
// config ConfigMap.
func installed(t *testing.T) (*appsv1.Deployment, *corev1.ConfigMap, []runtime.Object) {
	t.Helper()
	objs := build(t, installDir)
	var dep *appsv1.Deployment
	var cm *corev1.ConfigMap
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			if o.Name == repoServer {
				dep = o
			}
		case *corev1.ConfigMap:
			if strings.HasPrefix(o.Name, generatedName+"-") {
				cm = o
			}
		}
	}
	require.NotNil(t, dep, "the build holds argocd-repo-server")
	require.NotNil(t, cm, "the build holds the plugin ConfigMap (with its content hash suffix)")
	return dep, cm, objs
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	return named(t, "container", spec.Containers, name, func(c corev1.Container) string { return c.Name })
}

// named is the item called name, failing the test when there is none.
func named[T any](t *testing.T, what string, items []T, name string, nameOf func(T) string) T {
	t.Helper()
	for _, it := range items {
		if nameOf(it) == name {
			return it
		}
	}
	t.Fatalf("no %s %q", what, name)
	var zero T
	return zero
}

func mountPaths(c corev1.Container) map[string]corev1.VolumeMount {
	m := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		m[vm.MountPath] = vm
	}
	return m
}

func volume(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	return named(t, "volume", spec.Volumes, name, func(v corev1.Volume) string { return v.Name })
}

func TestKustomizationAddsTheSidecarToTheRepoServer(t *testing.T) {
	dep, cm, _ := installed(t)
	pod := dep.Spec.Template.Spec

	// Argo CD's own containers are untouched: the patch merges, it does not replace.
	require.Equal(t, []string{"/usr/local/bin/argocd-repo-server"}, container(t, pod, repoServer).Args)
	require.Len(t, pod.InitContainers, 1)
	require.Equal(t, "copyutil", pod.InitContainers[0].Name)

	c := container(t, pod, sidecarName)
	require.Equal(t, []string{cmpServer}, c.Command, "the sidecar runs Argo CD's plugin server, copied in by copyutil")
	require.True(t, strings.HasPrefix(c.Image, "ghcr.io/schemahook/schemahook:"), c.Image)
	sc := c.SecurityContext
	require.NotNil(t, sc)
	require.Equal(t, int64(999), *sc.RunAsUser, "Argo CD requires plugin sidecars to run as 999")
	require.True(t, *sc.RunAsNonRoot)
	require.True(t, *sc.ReadOnlyRootFilesystem)
	require.False(t, *sc.AllowPrivilegeEscalation)
	require.NotEmpty(t, c.Resources.Requests.Cpu().String())
	require.False(t, c.Resources.Limits.Memory().IsZero(), "a memory limit")

	mounts := mountPaths(c)
	require.Equal(t, "var-files", mounts["/var/run/argocd"].Name)
	require.Equal(t, "plugins", mounts[pluginsDir].Name)
	require.Contains(t, mounts, "/tmp", "the plugin server unpacks repositories under /tmp")
	require.True(t, volume(t, pod, mounts["/tmp"].Name).EmptyDir != nil)
	cfgMount := mounts[pluginConfig]
	require.Equal(t, "plugin.yaml", cfgMount.SubPath)
	v := volume(t, pod, cfgMount.Name)
	require.NotNil(t, v.ConfigMap)
	require.Equal(t, cm.Name, v.ConfigMap.Name, "the volume names the generated ConfigMap, hash suffix included")

	// The ConfigMap carries the repository's plugin.yaml byte for byte, and Argo CD's reader
	// accepts it from the mounted location.
	own, err := os.ReadFile(filepath.Join(repoRoot, "plugin.yaml"))
	require.NoError(t, err)
	require.Equal(t, string(own), cm.Data["plugin.yaml"],
		"manifests/install/sidecar/plugin.yaml differs from plugin.yaml: cp plugin.yaml manifests/install/sidecar/")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.yaml"), []byte(cm.Data["plugin.yaml"]), 0o644))
	cfg, err := plugin.ReadPluginConfig(dir)
	require.NoError(t, err)
	require.Equal(t, sidecarName, cfg.Metadata.Name)
}

// helmValues is the values snippet for the argo-cd chart, derived from the sidecar the
// kustomization adds and from plugin.yaml: the chart's configs.cmp.plugins renders
// ConfigMap argocd-cmp-cm with one <name>.yaml key per plugin.
func helmValues(t *testing.T) map[string]any {
	t.Helper()
	dep, _, _ := installed(t)
	c := container(t, dep.Spec.Template.Spec, sidecarName)
	for i, vm := range c.VolumeMounts {
		if vm.MountPath == pluginConfig {
			c.VolumeMounts[i] = corev1.VolumeMount{Name: "argocd-cmp-cm", MountPath: pluginConfig, SubPath: sidecarName + ".yaml"}
		}
	}
	var tmp string
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/tmp" {
			tmp = vm.Name
		}
	}
	own, err := os.ReadFile(filepath.Join(repoRoot, "plugin.yaml"))
	require.NoError(t, err)
	var pluginDoc map[string]any
	require.NoError(t, yaml.Unmarshal(own, &pluginDoc))
	require.Equal(t, map[string]any{"name": sidecarName}, pluginDoc["metadata"], "the chart names the plugin by its key")

	values := map[string]any{
		"configs": map[string]any{"cmp": map[string]any{
			"create":  true,
			"plugins": map[string]any{sidecarName: pluginDoc["spec"]},
		}},
		"repoServer": map[string]any{
			"extraContainers": []any{toMap(t, c)},
			"volumes": []any{
				toMap(t, corev1.Volume{Name: "argocd-cmp-cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "argocd-cmp-cm"}}}}),
				toMap(t, corev1.Volume{Name: tmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}),
			},
		},
	}
	return values
}

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := yaml.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(data, &m))
	return m
}

const argoCDHeader = `# Values for the argo-cd Helm chart (https://argoproj.github.io/argo-helm, Argo CD v2.x and
# v3.x): the schemahook sidecar on the repo-server, its plugin config in argocd-cmp-cm.
#
#   helm upgrade --install argocd argo/argo-cd -n argocd --create-namespace -f argo-cd-values.yaml
#
# Generated from plugin.yaml and manifests/install/sidecar by
# 'go test ./install -run TestHelmValues -update' in e2e/; a test keeps them equal.
`

const runtimeHeader = `# Values for the Codefresh GitOps runtime Helm chart (gitops-runtime), which bundles Argo CD
# as its argo-cd subchart: the same sidecar values as argo-cd-values.yaml, nested under argo-cd.
#
#   helm upgrade --install cf-gitops-runtime oci://quay.io/codefresh/gitops-runtime \
#     -n codefresh --create-namespace -f gitops-runtime-values.yaml   # plus your runtime values
#
# Generated like argo-cd-values.yaml; a test keeps them equal.
`

func TestHelmValuesMatchTheKustomization(t *testing.T) {
	values := helmValues(t)
	files := map[string][]byte{
		"argo-cd-values.yaml":        marshal(t, argoCDHeader, values),
		"gitops-runtime-values.yaml": marshal(t, runtimeHeader, map[string]any{"argo-cd": values}),
	}
	for name, want := range files {
		path := filepath.Join(installDir, "helm", name)
		if *update {
			require.NoError(t, os.WriteFile(path, want, 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s is stale: run 'go test ./install -run TestHelmValues -update' in e2e/", name)
	}
}

func marshal(t *testing.T, header string, v any) []byte {
	t.Helper()
	data, err := yaml.Marshal(v)
	require.NoError(t, err)
	return append([]byte(header), data...)
}
