package gitopssync

import (
	"github.com/argoproj/argo-cd/v2/util/argo"
	argokube "github.com/argoproj/argo-cd/v2/util/kube"
	gsync "github.com/argoproj/gitops-engine/pkg/sync"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What Argo CD v2 does differently from v3 (e2e/argocd3/gitopssync/version.go); the rest of
// the package is the same code for both.

// InstanceLabel is Argo CD's default tracking label: it marks the live objects an app manages.
const InstanceLabel = "app.kubernetes.io/instance"

// TrackingMethod is v2's default: the InstanceLabel label.
const TrackingMethod = argo.TrackingMethodLabel

// appName names the app a live object belongs to: its InstanceLabel.
func appName(un *unstructured.Unstructured) string { return un.GetLabels()[InstanceLabel] }

// setTracking marks a target as the app's: the InstanceLabel.
func (a *App) setTracking(c *unstructured.Unstructured) error {
	return argokube.SetAppInstanceLabel(c, InstanceLabel, a.Name)
}

// versionSyncOpts are the sync options v2's controller adds to the ones both set: none.
func (a *App) versionSyncOpts() []gsync.SyncOpt { return nil }
