package install

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/schemahook/schemahook/e2e/controlplane"
)

// The built install is accepted by a real API server: server-side apply with dry run, so
// the server validates every field (unknown fields are errors) and defaults the objects.
func TestInstallAppliesToAnAPIServer(t *testing.T) {
	bins := controlplane.RequireBinaries(t)
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, t.TempDir(), bins)
	require.NoError(t, err)
	t.Cleanup(cp.Stop)

	_, _, objs := installed(t)
	_, err = cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, applied := range dryRunApply(t, cp.Config, "argocd", objs) {
		if applied.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(applied.Object, "spec", "template", "spec", "containers")
		require.NoError(t, err)
		var names []string
		for _, c := range containers {
			names = append(names, c.(map[string]any)["name"].(string))
		}
		require.Contains(t, names, sidecarName, "the server's view of the Deployment holds the sidecar")
	}
}

// dryRunApply server-side applies objs with dryRun=All and returns what the server would store.
func dryRunApply(t *testing.T, cfg *rest.Config, ns string, objs []runtime.Object) []*unstructured.Unstructured {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	kc, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kc.Discovery()))
	var out []*unstructured.Unstructured
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		require.NoError(t, err)
		u := &unstructured.Unstructured{Object: m}
		u.SetNamespace(ns)
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		require.NoError(t, err, "%s", gvk)
		res, err := dyn.Resource(mapping.Resource).Namespace(ns).Apply(context.Background(), u.GetName(), u,
			metav1.ApplyOptions{FieldManager: "schemahook-install-test", DryRun: []string{metav1.DryRunAll}, Force: true})
		require.NoError(t, err, "dry-run apply %s %s", gvk.Kind, u.GetName())
		out = append(out, res)
	}
	return out
}
