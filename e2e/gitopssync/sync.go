// Package gitopssync syncs and diffs an application the way Argo CD's application controller
// does, with the same libraries: gitops-engine's cluster cache, sync engine and diff, and Argo
// CD's own diff normalisation, resource tracking and built-in health checks (SealedSecret's
// among them).
//
// The source is e2e/gitopssync, written against Argo CD v2; e2e/argocd3 generates its v3
// twin from these files, with the Argo CD imports rewritten to v3. What differs between the
// versions lives in version.go, one per module: v2 tracks resources by the
// app.kubernetes.io/instance label, v3 by the argocd.argoproj.io/tracking-id annotation, and
// v3's sync migrates client-side-applied fields.
package gitopssync

import (
	"context"
	"fmt"
	"time"

	cdcommon "github.com/argoproj/argo-cd/v2/common"
	"github.com/argoproj/argo-cd/v2/util/argo/diff"
	"github.com/argoproj/argo-cd/v2/util/argo/normalizers"
	"github.com/argoproj/argo-cd/v2/util/lua"
	"github.com/argoproj/gitops-engine/pkg/cache"
	gsync "github.com/argoproj/gitops-engine/pkg/sync"
	"github.com/argoproj/gitops-engine/pkg/sync/common"
	"github.com/argoproj/gitops-engine/pkg/sync/hook"
	"github.com/argoproj/gitops-engine/pkg/utils/kube"
	"github.com/argoproj/gitops-engine/pkg/utils/tracing"
	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// App is one Argo CD Application's destination: its name and namespace on one cluster.
type App struct {
	Name      string
	Namespace string

	config  *rest.Config
	cache   cache.ClusterCache
	kubectl kube.Kubectl
	log     logr.Logger
}

// NewApp starts a cluster cache of the namespace (as the controller keeps one per cluster,
// naming each object's app by its tracking, controller/cache's populateNodeInfo) and waits
// until it has listed everything.
func NewApp(config *rest.Config, name, namespace string, log logr.Logger) (*App, error) {
	config = rest.CopyConfig(config)
	// The cache lists every resource type, deprecated ones (v1 Endpoints) too: no warnings.
	config.WarningHandler = rest.NoWarnings{}
	c := cache.NewClusterCache(config,
		cache.SetNamespaces([]string{namespace}),
		cache.SetLogr(log),
		cache.SetPopulateResourceInfoHandler(func(un *unstructured.Unstructured, _ bool) (any, bool) {
			app := appName(un)
			return app, app != ""
		}),
	)
	if err := c.EnsureSynced(); err != nil {
		return nil, fmt.Errorf("cluster cache for %s: %w", namespace, err)
	}
	return &App{Name: name, Namespace: namespace, config: config, cache: c,
		kubectl: &kube.KubectlCmd{Log: log, Tracer: tracing.NopTracer{}}, log: log}, nil
}

// Close stops the cache's watches.
func (a *App) Close() { a.cache.Invalidate() }

// Result is the end state of a sync operation.
type Result struct {
	Phase     common.OperationPhase
	Message   string
	Resources []common.ResourceSyncResult
}

// Sync runs one sync operation of the rendered objects (prune on, hooks on) to completion.
// Like Argo CD's controller, and unlike gitops-engine's engine.Sync, it builds a fresh sync
// context on every pass from the cache's live state, carrying the operation state forward:
// that is how a PreSync hook Job's progress is seen at all.
func (a *App) Sync(ctx context.Context, rendered []*unstructured.Unstructured, revision string) (Result, error) {
	targets, err := a.track(rendered)
	if err != nil {
		return Result{}, err
	}
	phase, message := common.OperationRunning, ""
	var results []common.ResourceSyncResult
	startedAt := metav1.Now()
	propagation := metav1.DeletePropagationForeground
	for {
		live, err := a.cache.GetManagedLiveObjs(targets, a.isManaged)
		if err != nil {
			return Result{}, fmt.Errorf("live objects of %s: %w", a.Name, err)
		}
		reconciled := gsync.Reconcile(targets, live, a.Namespace, a.cache)
		opts := append([]gsync.SyncOpt{
			gsync.WithLogr(a.log),
			gsync.WithHealthOverride(lua.ResourceHealthOverrides(nil)),
			gsync.WithOperationSettings(false, true, false, false),
			gsync.WithInitialState(phase, message, results, startedAt),
			gsync.WithPrunePropagationPolicy(&propagation),
			gsync.WithServerSideApplyManager(cdcommon.ArgoCDSSAManager),
		}, a.versionSyncOpts()...)
		syncCtx, cleanup, err := gsync.NewSyncContext(revision, reconciled, a.config, a.config, a.kubectl,
			a.Namespace, a.cache.GetOpenAPISchema(), opts...)
		if err != nil {
			return Result{}, fmt.Errorf("sync context for %s: %w", a.Name, err)
		}
		syncCtx.Sync()
		phase, message, results = syncCtx.GetState()
		cleanup()
		if phase.Completed() {
			return Result{Phase: phase, Message: message, Resources: results}, nil
		}
		select {
		case <-ctx.Done():
			return Result{Phase: phase, Message: message, Resources: results},
				fmt.Errorf("sync of %s still %s (%s): %w", a.Name, phase, message, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ResourceDiff is Argo CD's diff of one non-hook resource.
type ResourceDiff struct {
	Key       kube.ResourceKey
	Modified  bool
	Live      *unstructured.Unstructured // normalised live state; nil if it does not exist
	Predicted *unstructured.Unstructured // the live state a sync would produce; nil if pruned
}

// Diff compares the rendered objects with the live ones as Argo CD's app state comparison
// does: reconciled by the app's tracking, hooks left out, Argo CD's normalisation, a
// three-way diff against the last applied configuration.
func (a *App) Diff(rendered []*unstructured.Unstructured) ([]ResourceDiff, error) {
	targets, err := a.track(rendered)
	if err != nil {
		return nil, err
	}
	live, err := a.cache.GetManagedLiveObjs(targets, a.isManaged)
	if err != nil {
		return nil, fmt.Errorf("live objects of %s: %w", a.Name, err)
	}
	reconciled := gsync.Reconcile(targets, live, a.Namespace, a.cache)
	var lives, configs []*unstructured.Unstructured
	for i := range reconciled.Target {
		target, liveObj := reconciled.Target[i], reconciled.Live[i]
		if (target != nil && hook.IsHook(target)) || (target == nil && liveObj != nil && hook.IsHook(liveObj)) {
			continue // Argo CD gives hooks no sync status
		}
		lives = append(lives, liveObj)
		configs = append(configs, target)
	}
	cfg, err := diff.NewDiffConfigBuilder().
		WithDiffSettings(nil, nil, false, normalizers.IgnoreNormalizerOpts{}).
		WithTracking(InstanceLabel, string(TrackingMethod)).
		WithNoCache().
		WithManager(cdcommon.ArgoCDSSAManager).
		Build()
	if err != nil {
		return nil, fmt.Errorf("diff config: %w", err)
	}
	res, err := diff.StateDiffs(lives, configs, cfg)
	if err != nil {
		return nil, fmt.Errorf("diff of %s: %w", a.Name, err)
	}
	out := make([]ResourceDiff, 0, len(res.Diffs))
	for i, d := range res.Diffs {
		obj := configs[i]
		if obj == nil {
			obj = lives[i]
		}
		rd := ResourceDiff{Key: kube.GetResourceKey(obj), Modified: d.Modified}
		if rd.Key.Namespace == "" {
			rd.Key.Namespace = a.Namespace
		}
		if rd.Live, err = decode(d.NormalizedLive); err != nil {
			return nil, fmt.Errorf("diff of %s: live %s: %w", a.Name, rd.Key, err)
		}
		if rd.Predicted, err = decode(d.PredictedLive); err != nil {
			return nil, fmt.Errorf("diff of %s: predicted %s: %w", a.Name, rd.Key, err)
		}
		out = append(out, rd)
	}
	return out, nil
}

func decode(b []byte) (*unstructured.Unstructured, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return &u, nil
}

// track prepares deep copies of the rendered objects as the controller does before it diffs
// or syncs: the app's tracking (v3's controller/state.go normalizeClusterScopeTracking sets it
// again; the repo-server already did), and the destination namespace on namespaced objects
// that name none (DeduplicateTargetObjects).
func (a *App) track(rendered []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(rendered))
	for _, obj := range rendered {
		c := obj.DeepCopy()
		if err := a.setTracking(c); err != nil {
			return nil, fmt.Errorf("track %s/%s: %w", c.GetKind(), c.GetName(), err)
		}
		if c.GetNamespace() == "" {
			namespaced, err := a.cache.IsNamespaced(c.GroupVersionKind().GroupKind())
			if err != nil {
				return nil, fmt.Errorf("scope of %s: %w", c.GroupVersionKind().GroupKind(), err)
			}
			if namespaced {
				c.SetNamespace(a.Namespace)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func (a *App) isManaged(r *cache.Resource) bool {
	return r.Info == a.Name
}
