package stories

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// ArgoCD is one Argo CD version's code, as a module links it: its plugin server and the
// repo-server's manifest generation, the ApplicationSet controller's template rendering,
// and the application controller's sync and diff (gitops-engine). The e2e module implements
// it with argo-cd/v2 (e2e/argocd), the e2e/argocd3 module with argo-cd/v3; the stories use
// only this interface, so one set of stories proves both.
type ArgoCD interface {
	// Version is the argo-cd module version, e.g. v2.14.21.
	Version() string
	// StartPlugin loads plugin.yaml from pluginDir with Argo CD's reader and serves it as the
	// sidecar's argocd-cmp-server does; its commands find binDir first on PATH.
	StartPlugin(pluginDir, binDir string) (Plugin, error)
	// GenerateApplications renders an ApplicationSet (YAML) into its Applications (JSON) as
	// the ApplicationSet controller does.
	GenerateApplications(appSetYAML []byte) ([][]byte, error)
	// NewApp is the controller's view of one Application's destination namespace.
	NewApp(config *rest.Config, name, namespace string) (App, error)
	// TrackingMethod is the version's default resource tracking: "label" (v2) or
	// "annotation" (v3).
	TrackingMethod() string
	// TrackedApp is the Application an object belongs to by that tracking method; empty
	// when none.
	TrackedApp(obj *unstructured.Unstructured) string
}

// Plugin is the running plugin server with the repo-server's side of it.
type Plugin interface {
	// Render generates the manifests of appPath (relative to repoDir) for an Application
	// named appName with destination namespace, and fails unless the plugin rendered them.
	Render(ctx context.Context, repoDir, appPath, appName, namespace string, params ...Param) ([]*unstructured.Unstructured, error)
	// RenderApplication renders an Application (JSON or YAML) from the checkout repoDir and
	// says which source type the repo-server chose ("Plugin", "Directory", ...).
	RenderApplication(ctx context.Context, repoDir string, app []byte) ([]*unstructured.Unstructured, string, error)
	// AppType is the repo-server's source type discovery for appPath.
	AppType(ctx context.Context, repoDir, appPath string) (string, error)
	Close() error
}

// Param is one entry of an Application's spec.source.plugin.parameters.
type Param struct {
	Name   string
	String *string
	Array  []string
	Map    map[string]string
}

// StringParam is a string parameter.
func StringParam(name, value string) Param { return Param{Name: name, String: &value} }

// ArrayParam is an array parameter.
func ArrayParam(name string, values ...string) Param { return Param{Name: name, Array: values} }

// App syncs and diffs one Application as the application controller does.
type App interface {
	// Sync runs one sync operation (prune on, hooks on) of the rendered objects to its end.
	Sync(ctx context.Context, rendered []*unstructured.Unstructured, revision string) (Result, error)
	// Diff is the controller's comparison of the rendered objects with the live ones,
	// hooks left out.
	Diff(rendered []*unstructured.Unstructured) ([]ResourceDiff, error)
	Close()
}

// Operation and hook phases, as gitops-engine names them.
const (
	Running   = "Running"
	Succeeded = "Succeeded"
	Failed    = "Failed"
	Error     = "Error"
)

// Result is the end state of a sync operation.
type Result struct {
	Phase     string
	Message   string
	Resources []ResourceResult
}

// ResourceResult is one resource's line in a sync result.
type ResourceResult struct {
	Key       Key
	HookType  string // PreSync, Sync, ...; empty for a normal resource
	HookPhase string // for hooks: Running, Succeeded, Failed, ...
	SyncPhase string // PreSync, Sync, PostSync, ...
	Status    string // Synced, SyncFailed, Pruned, ...
	Message   string
}

// Hook returns the result of the hook with this kind and name, if the sync ran it.
func (r Result) Hook(kind, name string) (ResourceResult, bool) {
	for _, res := range r.Resources {
		if res.HookType != "" && res.Key.Kind == kind && res.Key.Name == name {
			return res, true
		}
	}
	return ResourceResult{}, false
}

// Resource returns the result of the normal (non-hook) resource with this kind and name.
func (r Result) Resource(kind, name string) (ResourceResult, bool) {
	for _, res := range r.Resources {
		if res.HookType == "" && res.Key.Kind == kind && res.Key.Name == name {
			return res, true
		}
	}
	return ResourceResult{}, false
}

// Key names a resource.
type Key struct {
	Group, Kind, Namespace, Name string
}

func (k Key) String() string {
	return fmt.Sprintf("%s/%s/%s/%s", k.Group, k.Kind, k.Namespace, k.Name)
}

// ResourceDiff is the controller's diff of one non-hook resource.
type ResourceDiff struct {
	Key       Key
	Modified  bool
	Live      *unstructured.Unstructured // normalised live state; nil if it does not exist
	Predicted *unstructured.Unstructured // the live state a sync would produce; nil if pruned
}

// Modified returns the diffs that are not in sync.
func Modified(diffs []ResourceDiff) []ResourceDiff {
	var out []ResourceDiff
	for _, d := range diffs {
		if d.Modified {
			out = append(out, d)
		}
	}
	return out
}
