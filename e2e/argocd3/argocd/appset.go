package argocd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/argoproj/argo-cd/v3/applicationset/utils"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
)

// GenerateApplications does what the ApplicationSet controller does for list generators
// with goTemplate: each element is the parameter map (generators.ListGenerator's goTemplate
// branch), and the controller's own utils.Render fills the template, made an Application as
// template.GetTempApplication does. The full generators package is left out: it compiles
// every SCM provider's client.
func GenerateApplications(appSet *v1alpha1.ApplicationSet) ([]*v1alpha1.Application, error) {
	if !appSet.Spec.GoTemplate {
		return nil, errors.New("only goTemplate ApplicationSets are supported")
	}
	var apps []*v1alpha1.Application
	for i, g := range appSet.Spec.Generators {
		if g.List == nil {
			return nil, fmt.Errorf("generator %d: only list generators are supported", i)
		}
		for _, el := range g.List.Elements {
			var params map[string]any
			if err := json.Unmarshal(el.Raw, &params); err != nil {
				return nil, fmt.Errorf("generator %d: element %s: %w", i, el.Raw, err)
			}
			tmpl := appSet.Spec.Template
			tmplApp := &v1alpha1.Application{Spec: *tmpl.Spec.DeepCopy()}
			tmplApp.Name, tmplApp.Namespace = tmpl.Name, tmpl.Namespace
			tmplApp.Labels, tmplApp.Annotations = tmpl.Labels, tmpl.Annotations
			app, err := (&utils.Render{}).RenderTemplateParams(tmplApp, appSet.Spec.SyncPolicy, params, true, appSet.Spec.GoTemplateOptions)
			if err != nil {
				return nil, fmt.Errorf("render %s with %s: %w", appSet.Name, el.Raw, err)
			}
			apps = append(apps, app)
		}
	}
	return apps, nil
}
