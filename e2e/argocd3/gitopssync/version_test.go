package gitopssync

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func configMap(ns, name, trackingID string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace(ns)
	u.SetName(name)
	if trackingID != "" {
		u.SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": trackingID})
	}
	return u
}

// With annotation tracking the sync leaves alone a live object whose tracking id was copied
// from another object (the reason v3 made annotations its default), and takes its own.
func TestSelfReferencedByTrackingID(t *testing.T) {
	a := &App{Name: "orders", Namespace: "shop"}
	own := configMap("shop", "orders-schema", "orders:/ConfigMap:shop/orders-schema")
	require.True(t, a.isSelfReferenced(own, configMap("shop", "orders-schema", "")))
	require.True(t, a.isSelfReferenced(own, nil))
	require.True(t, a.isSelfReferenced(nil, own))

	copied := configMap("shop", "billing-schema", "orders:/ConfigMap:shop/orders-schema")
	require.False(t, a.isSelfReferenced(copied, nil), "a copied tracking id does not make it the app's")
}

// The targets get the app's tracking annotation, not the label.
func TestTrackAnnotates(t *testing.T) {
	a := &App{Name: "orders", Namespace: "shop"}
	c := configMap("shop", "orders-schema", "")
	require.NoError(t, tracking.SetAppInstance(c, InstanceLabel, a.Name, a.Namespace, TrackingMethod, ""))
	require.Equal(t, "orders:/ConfigMap:shop/orders-schema", c.GetAnnotations()["argocd.argoproj.io/tracking-id"])
	require.NotContains(t, c.GetLabels(), InstanceLabel)
	require.Equal(t, "orders", tracking.GetAppName(c, InstanceLabel, TrackingMethod, ""))
}
