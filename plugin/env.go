// Package plugin is the Argo CD config-management-plugin contract: the environment Argo CD
// gives a plugin, the parameters that override schemahook.yaml, their announcement for the
// Argo CD UI, and generate, which turns an app directory into the manifest stream.
package plugin

import (
	"sort"
	"strings"
)

// Env is what Argo CD passes a CMP through the environment (see Argo CD's "config
// management plugins" docs). Nothing here is trusted: parameters are parsed strictly.
type Env struct {
	AppName         string   // ARGOCD_APP_NAME
	AppNamespace    string   // ARGOCD_APP_NAMESPACE
	Revision        string   // ARGOCD_APP_REVISION: the commit being rendered
	RepoURL         string   // ARGOCD_APP_SOURCE_REPO_URL
	SourcePath      string   // ARGOCD_APP_SOURCE_PATH: the app dir relative to the repo root
	TargetRevision  string   // ARGOCD_APP_SOURCE_TARGET_REVISION
	KubeVersion     string   // KUBE_VERSION
	KubeAPIVersions []string // KUBE_API_VERSIONS, comma-separated
	// Parameters is ARGOCD_APP_PARAMETERS verbatim (JSON); ParseParameters reads it.
	Parameters string
	// Vars holds ARGOCD_ENV_* variables (the Application's plugin.env) without the prefix.
	Vars map[string]string
}

// EnvFrom reads an Env from os.Environ-style "KEY=value" pairs. Later duplicates win, as
// in a shell, so the order of the list does not otherwise matter.
func EnvFrom(environ []string) Env {
	var e Env
	plain := map[string]*string{
		"ARGOCD_APP_NAME":                   &e.AppName,
		"ARGOCD_APP_NAMESPACE":              &e.AppNamespace,
		"ARGOCD_APP_REVISION":               &e.Revision,
		"ARGOCD_APP_SOURCE_REPO_URL":        &e.RepoURL,
		"ARGOCD_APP_SOURCE_PATH":            &e.SourcePath,
		"ARGOCD_APP_SOURCE_TARGET_REVISION": &e.TargetRevision,
		"KUBE_VERSION":                      &e.KubeVersion,
		"ARGOCD_APP_PARAMETERS":             &e.Parameters,
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if field, ok := plain[k]; ok {
			*field = v
			continue
		}
		switch k {
		case "KUBE_API_VERSIONS":
			e.KubeAPIVersions = nil
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					e.KubeAPIVersions = append(e.KubeAPIVersions, s)
				}
			}
			sort.Strings(e.KubeAPIVersions)
		default:
			if name, ok := strings.CutPrefix(k, "ARGOCD_ENV_"); ok && name != "" {
				if e.Vars == nil {
					e.Vars = map[string]string{}
				}
				e.Vars[name] = v
			}
		}
	}
	return e
}
