package gitopssync

import (
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/argo"
	gsync "github.com/argoproj/gitops-engine/pkg/sync"
	"github.com/argoproj/gitops-engine/pkg/sync/common"
	"github.com/argoproj/gitops-engine/pkg/utils/kube"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What Argo CD v3 does differently from v2 (e2e/gitopssync/version.go); the rest of the
// package is generated from e2e/gitopssync (go run ./gen): v3 tracks resources by the
// argocd.argoproj.io/tracking-id annotation, not the app.kubernetes.io/instance label, and
// its sync migrates client-side-applied fields.

// InstanceLabel is argocd-cm's application.instanceLabelKey default, which v3's default
// tracking does not use.
const InstanceLabel = "app.kubernetes.io/instance"

// TrackingMethod is v3's default: the tracking-id annotation marks the objects an app manages.
const TrackingMethod = v1alpha1.TrackingMethodAnnotation

var tracking = argo.NewResourceTracking()

// appName names the app a live object belongs to: the one its tracking annotation names.
func appName(un *unstructured.Unstructured) string {
	return tracking.GetAppName(un, InstanceLabel, TrackingMethod, "")
}

// setTracking marks a target as the app's: the tracking annotation.
func (a *App) setTracking(c *unstructured.Unstructured) error {
	return tracking.SetAppInstance(c, InstanceLabel, a.Name, a.Namespace, TrackingMethod, "")
}

// versionSyncOpts are the sync options v3.3's controller adds to the ones both set.
func (a *App) versionSyncOpts() []gsync.SyncOpt {
	return []gsync.SyncOpt{
		// The controller syncs only objects whose tracking id names them (a copied
		// annotation does not make an object the app's).
		gsync.WithResourcesFilter(func(_ kube.ResourceKey, target, live *unstructured.Unstructured) bool {
			return a.isSelfReferenced(live, target)
		}),
		// v3.3's controller default (no DisableClientSideApplyMigration sync option).
		gsync.WithClientSideApplyMigration(true, common.DefaultClientSideApplyMigrationManager),
	}
}

// isSelfReferenced is controller/state.go's isSelfReferencedObj for annotation tracking: the
// live object is the app's when its group, kind, name (and namespace, when it has one) are
// the ones the tracking id of the target (or, without a target, its own) names.
func (a *App) isSelfReferenced(live, target *unstructured.Unstructured) bool {
	if live == nil {
		return true
	}
	var aiv argo.AppInstanceValue
	if target != nil {
		aiv = argo.UnstructuredToAppInstanceValue(target, a.Name, "")
	} else if v := tracking.GetAppInstance(live, TrackingMethod, ""); v != nil {
		aiv = *v
	} else {
		return true
	}
	gvk := live.GroupVersionKind()
	return (live.GetNamespace() == aiv.Namespace || live.GetNamespace() == "") &&
		live.GetName() == aiv.Name && gvk.Group == aiv.Group && gvk.Kind == aiv.Kind
}
