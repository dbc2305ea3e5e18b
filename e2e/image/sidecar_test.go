package image

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schemahook/schemahook/e2e/argocd"
	"github.com/schemahook/schemahook/e2e/controlplane"
	"github.com/schemahook/schemahook/e2e/stories"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// hostDir makes a directory the container's uid 999 can use: owned by it when it writes
// there (as kubelet makes emptyDirs), else readable by all.
func hostDir(t *testing.T, parent, name string, writable bool) string {
	t.Helper()
	d := filepath.Join(parent, name)
	require.NoError(t, os.MkdirAll(d, 0o755))
	require.NoError(t, os.Chmod(d, 0o755))
	if writable {
		require.NoError(t, os.Chown(d, 999, 999))
	}
	return d
}

// shortTemp is a temporary directory others may enter, with a short path: unix sockets live
// below it.
func shortTemp(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "img")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(d, 0o755))
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// The sidecar contract: Argo CD's argocd-cmp-server (as copyutil provides it) runs in the
// image with the install's securityContext and mounts (uid 999, read-only root, the
// plugin.yaml ConfigMap, /tmp an emptyDir), and what the repo-server renders through it
// matches what it renders through a plugin server on this machine running the schemahook
// binary built from the same source with the same version.
func TestSidecarRendersThroughArgoCDPluginServer(t *testing.T) {
	tmp := shortTemp(t)

	// Argo CD's binary is static: copyutil copies it into any sidecar image.
	varFiles := hostDir(t, tmp, "var-files", false)
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(varFiles, "argocd-cmp-server"), "./argocd-cmp-server")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build argocd-cmp-server: %s", out)

	// The sidecar container exactly as the kustomize install adds it, plus the volumes
	// Argo CD's own repo-server deployment defines (var-files, plugins).
	var patch appsv1.Deployment
	data, err := os.ReadFile(filepath.Join(repoRoot, "manifests", "install", "sidecar", "repo-server-patch.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, &patch))
	var sidecar *corev1.Container
	for i, c := range patch.Spec.Template.Spec.Containers {
		if c.Name == "schemahook" {
			sidecar = &patch.Spec.Template.Spec.Containers[i]
		}
	}
	require.NotNil(t, sidecar, "the install adds a schemahook container")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-repo-server"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{*sidecar},
			Volumes: append(patch.Spec.Template.Spec.Volumes,
				corev1.Volume{Name: "var-files", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				corev1.Volume{Name: "plugins", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}),
		},
	}
	config := hostDir(t, tmp, "config", false)
	pluginYAML, err := os.ReadFile(filepath.Join(repoRoot, "manifests", "install", "sidecar", "plugin.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(config, "plugin.yaml"), pluginYAML, 0o644))
	plugins := hostDir(t, tmp, "plugins", true)
	name := "schemahook-sidecar-" + strings.ToLower(filepath.Base(tmp))
	args, err := controlplane.RunArgs(controlplane.ContainerRun{
		Engine: engine, Name: name, Detach: true, Pod: pod, Image: image,
		VolumeDirs: map[string]string{
			"var-files":             varFiles,
			"plugins":               plugins,
			"schemahook-cmp-plugin": config,
			"schemahook-tmp":        hostDir(t, tmp, "tmp", true),
		},
	})
	require.NoError(t, err)
	_, err = runImage(t, args...)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command(engine, "logs", name).CombinedOutput()
			t.Logf("sidecar log:\n%s", logs)
		}
		_ = exec.Command(engine, "rm", "-f", name).Run()
	})

	// Argo CD names the socket after the plugin and its version.
	sock := filepath.Join(plugins, "schemahook-v1.sock")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command(engine, "logs", name).CombinedOutput()
			t.Fatalf("argocd-cmp-server in the image made no socket %s in 60s:\n%s", sock, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	repo := stories.RepoWith(t, "examples")
	examples := []string{"native", "golang-migrate", "goose", "flyway", "dbmate"}
	ctx := context.Background()
	inImage := map[string][]*unstructured.Unstructured{}
	srv, err := argocd.Attach(plugins)
	require.NoError(t, err)
	for _, ex := range examples {
		objs, err := srv.Render(ctx, repo, "examples/"+ex, "shop-"+ex, "shop")
		if err != nil {
			srv.Close()
			require.NoError(t, err)
		}
		inImage[ex] = objs
	}
	require.NoError(t, srv.Close())

	// The reference: the same plugin.yaml served on this machine, running the binary built
	// from this work tree with the image's version and repository.
	binDir := t.TempDir()
	mk := exec.Command("make", "-s", "-C", repoRoot, "build", "BIN="+filepath.Join(binDir, "schemahook"),
		"VERSION="+version, "REPOSITORY="+repository)
	out, err = mk.CombinedOutput()
	require.NoError(t, err, "make build: %s", out)
	local, err := argocd.Start(argocd.Options{PluginDir: config, BinDir: binDir})
	require.NoError(t, err)
	defer local.Close()
	for _, ex := range examples {
		want, err := local.Render(ctx, repo, "examples/"+ex, "shop-"+ex, "shop")
		require.NoError(t, err)
		require.Equal(t, asJSON(t, want), asJSON(t, inImage[ex]), "example %s: the sidecar in the image renders what the binary renders", ex)
		jobImage := ""
		for _, o := range inImage[ex] {
			if o.GetKind() == "Job" {
				cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
				require.Len(t, cs, 1)
				jobImage, _, _ = unstructured.NestedString(cs[0].(map[string]any), "image")
			}
		}
		require.Equal(t, repository+":"+version, jobImage, "example %s: the hook Job runs the sidecar's own image", ex)
	}
}

func asJSON(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	b, err := json.MarshalIndent(objs, "", "  ")
	require.NoError(t, err)
	return string(b)
}
