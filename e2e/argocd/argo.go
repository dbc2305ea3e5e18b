package argocd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v2/util/argo"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/schemahook/schemahook/e2e/gitopssync"
	"github.com/schemahook/schemahook/e2e/stories"
)

// Code is this module's Argo CD code (the version go.mod requires: Version) for the stories.
var Code stories.ArgoCD = argoCD{}

type argoCD struct{}

func (argoCD) Version() string { return Version }

func (argoCD) TrackingMethod() string { return string(TrackingMethod) }

func (argoCD) TrackedApp(obj *unstructured.Unstructured) string {
	return argo.NewResourceTracking().GetAppName(obj, AppLabelKey, TrackingMethod, "")
}

func (argoCD) StartPlugin(pluginDir, binDir string) (stories.Plugin, error) {
	s, err := Start(Options{PluginDir: pluginDir, BinDir: binDir})
	if err != nil {
		return nil, err
	}
	return renderer{s}, nil
}

func (argoCD) GenerateApplications(appSetYAML []byte) ([][]byte, error) {
	var appSet v1alpha1.ApplicationSet
	if err := yaml.UnmarshalStrict(appSetYAML, &appSet); err != nil {
		return nil, fmt.Errorf("decode ApplicationSet: %w", err)
	}
	apps, err := GenerateApplications(&appSet)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(apps))
	for _, app := range apps {
		data, err := json.Marshal(app)
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}

func (argoCD) NewApp(config *rest.Config, name, namespace string) (stories.App, error) {
	a, err := gitopssync.NewApp(config, name, namespace, logr.Discard())
	if err != nil {
		return nil, err
	}
	return app{a}, nil
}

type renderer struct{ s *Server }

func (p renderer) Render(ctx context.Context, repoDir, appPath, appName, namespace string, params ...stories.Param) ([]*unstructured.Unstructured, error) {
	return p.s.Render(ctx, repoDir, appPath, appName, namespace, Params(params)...)
}

func (p renderer) RenderApplication(ctx context.Context, repoDir string, data []byte) ([]*unstructured.Unstructured, string, error) {
	var a v1alpha1.Application
	if err := yaml.Unmarshal(data, &a); err != nil {
		return nil, "", fmt.Errorf("decode Application: %w", err)
	}
	objs, t, err := p.s.RenderApplication(ctx, repoDir, &a)
	return objs, string(t), err
}

func (p renderer) AppType(ctx context.Context, repoDir, appPath string) (string, error) {
	return p.s.AppType(ctx, repoDir, appPath)
}

func (p renderer) Close() error { return p.s.Close() }

// Params are the stories' parameters as an Application's spec.source.plugin.parameters.
func Params(params []stories.Param) []v1alpha1.ApplicationSourcePluginParameter {
	out := make([]v1alpha1.ApplicationSourcePluginParameter, 0, len(params))
	for _, p := range params {
		q := v1alpha1.ApplicationSourcePluginParameter{Name: p.Name, String_: p.String}
		if p.Array != nil {
			q.OptionalArray = &v1alpha1.OptionalArray{Array: p.Array}
		}
		if p.Map != nil {
			q.OptionalMap = &v1alpha1.OptionalMap{Map: p.Map}
		}
		out = append(out, q)
	}
	return out
}

type app struct{ a *gitopssync.App }

func (a app) Close() { a.a.Close() }

func (a app) Sync(ctx context.Context, rendered []*unstructured.Unstructured, revision string) (stories.Result, error) {
	res, err := a.a.Sync(ctx, rendered, revision)
	out := stories.Result{Phase: string(res.Phase), Message: res.Message}
	for _, r := range res.Resources {
		out.Resources = append(out.Resources, stories.ResourceResult{
			Key:       stories.Key{Group: r.ResourceKey.Group, Kind: r.ResourceKey.Kind, Namespace: r.ResourceKey.Namespace, Name: r.ResourceKey.Name},
			HookType:  string(r.HookType),
			HookPhase: string(r.HookPhase),
			SyncPhase: string(r.SyncPhase),
			Status:    string(r.Status),
			Message:   r.Message,
		})
	}
	return out, err
}

func (a app) Diff(rendered []*unstructured.Unstructured) ([]stories.ResourceDiff, error) {
	diffs, err := a.a.Diff(rendered)
	if err != nil {
		return nil, err
	}
	out := make([]stories.ResourceDiff, 0, len(diffs))
	for _, d := range diffs {
		out = append(out, stories.ResourceDiff{
			Key:      stories.Key{Group: d.Key.Group, Kind: d.Key.Kind, Namespace: d.Key.Namespace, Name: d.Key.Name},
			Modified: d.Modified, Live: d.Live, Predicted: d.Predicted,
		})
	}
	return out, nil
}
