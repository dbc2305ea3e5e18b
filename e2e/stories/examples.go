package stories

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const examplesPath = "manifests/examples"

func init() {
	register("Discovery", storyDiscovery)
	register("PluginParameters", storyPluginParameters)
	register("AppOfApps", storyAppOfApps)
	register("ApplicationSet", storyApplicationSet)
}

// examplesRepo is a Git repository holding manifests/examples at the path the example
// Applications name, as a user's GitOps repository would.
func examplesRepo(t *testing.T) string { return RepoWith(t, examplesPath) }

// openExample is the shared plugin server, a repository of the examples (examplesRepo) and
// the manifest at rel below manifests/examples in it.
func openExample(t *testing.T, rel string) (Plugin, string, []byte) {
	t.Helper()
	repo := examplesRepo(t)
	data, err := os.ReadFile(filepath.Join(repo, examplesPath, rel))
	require.NoError(t, err)
	return plugin(t).server, repo, data
}

// RepoWith is a Git repository holding the work tree's directory rel, at the same path and
// committed, as a user's GitOps repository would.
func RepoWith(t *testing.T, rel string) string {
	t.Helper()
	repo := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(repo, rel), os.DirFS(filepath.Join(RepoRoot, rel))))
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "."},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "examples"},
	} {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	return repo
}

// application is what the stories read of an Application manifest.
type application struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Source *struct {
			Path   string          `json:"path"`
			Plugin json.RawMessage `json:"plugin,omitempty"`
		} `json:"source"`
		Destination struct {
			Namespace string `json:"namespace"`
		} `json:"destination"`
	} `json:"spec"`
}

func readApplication(t *testing.T, data []byte) application {
	t.Helper()
	var app application
	require.NoError(t, yaml.Unmarshal(data, &app))
	require.NotNil(t, app.Spec.Source, "%s: spec.source", app.Metadata.Name)
	return app
}

// byKindName indexes rendered objects as "Kind/name".
func byKindName(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[o.GetKind()+"/"+o.GetName()] = o
	}
	return m
}

// checkDatabaseApp asserts what every rendered database app holds: the schema ConfigMap
// with the directory's SQL, the hook Job reading the URL from the expected Secret, Argo CD's
// resource tracking (by the version's default method: the label in v2, the annotation in
// v3), and no namespace (Argo CD places objects in the destination namespace).
func checkDatabaseApp(t *testing.T, appName, namespace, name, secret string, objs []*unstructured.Unstructured, sqlDir string) {
	t.Helper()
	got := byKindName(objs)
	schema := got["ConfigMap/"+name+"-schema"]
	require.NotNil(t, schema, "%s: ConfigMap %s-schema among %v", appName, name, keys(got))
	data, _, err := unstructured.NestedStringMap(schema.Object, "data")
	require.NoError(t, err)
	entries, err := os.ReadDir(sqlDir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		sql, err := os.ReadFile(filepath.Join(sqlDir, e.Name()))
		require.NoError(t, err)
		require.Contains(t, values(data), string(sql), "%s: the diff shows %s", appName, e.Name())
	}

	job := got["Job/"+name+"-migrate"]
	require.NotNil(t, job, "%s: Job %s-migrate among %v", appName, name, keys(got))
	require.Equal(t, "PreSync", job.GetAnnotations()["argocd.argoproj.io/hook"])
	containers, _, err := unstructured.NestedSlice(job.Object, "spec", "template", "spec", "containers")
	require.NoError(t, err)
	require.Len(t, containers, 1)
	env, _, err := unstructured.NestedSlice(containers[0].(map[string]any), "env")
	require.NoError(t, err)
	var urlSecret string
	for _, e := range env {
		e := e.(map[string]any)
		if e["name"] == "DATABASE_URL" {
			urlSecret, _, _ = unstructured.NestedString(e, "valueFrom", "secretKeyRef", "name")
		}
	}
	require.Equal(t, secret, urlSecret, "%s: DATABASE_URL comes from Secret %s", appName, secret)

	for _, o := range objs {
		if o.GetKind() == "SealedSecret" {
			// Passed through from the directory: sealed (strict scope) for the destination.
			require.Equal(t, namespace, o.GetNamespace(), "%s: %s is sealed for the destination namespace", appName, o.GetName())
		} else {
			require.Empty(t, o.GetNamespace(), "%s: %s/%s has a namespace", appName, o.GetKind(), o.GetName())
		}
		require.Equal(t, appName, argo.TrackedApp(o), "%s: %s/%s is tracked (%s) as the app's", appName, o.GetKind(), o.GetName(), argo.TrackingMethod())
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func values(m map[string]string) string {
	var b strings.Builder
	for _, v := range m {
		b.WriteString(v)
		b.WriteString("\n")
	}
	return b.String()
}

// The app-of-apps: the repo-server renders the root as plain manifests (its children), and
// every child, found by plugin discovery alone, through the schemahook sidecar.
func storyAppOfApps(t *testing.T) {
	s, repo, rootYAML := openExample(t, "app-of-apps/root.yaml")
	ctx := context.Background()
	children, sourceType, err := s.RenderApplication(ctx, repo, rootYAML)
	require.NoError(t, err)
	require.Equal(t, "Directory", sourceType, "the root holds plain Application manifests")

	// Each child's credentials are a SealedSecret in its directory.
	want := map[string]struct{ name, secret string }{
		"orders-db":  {"orders", "orders-pg"},
		"billing-db": {"billing", "billing-pg"},
	}
	require.Len(t, children, len(want))
	for _, obj := range children {
		require.Equal(t, "Application", obj.GetKind())
		data, err := obj.MarshalJSON()
		require.NoError(t, err)
		child := readApplication(t, data)
		name := child.Metadata.Name
		w, ok := want[name]
		require.True(t, ok, "unexpected child %s", name)
		require.Empty(t, child.Spec.Source.Plugin, "%s relies on discovery, not a plugin name", name)

		objs, sourceType, err := s.RenderApplication(ctx, repo, data)
		require.NoError(t, err)
		require.Equal(t, "Plugin", sourceType, "%s: discovery picks the schemahook plugin", name)
		checkDatabaseApp(t, name, child.Spec.Destination.Namespace, w.name, w.secret, objs, filepath.Join(repo, child.Spec.Source.Path, "migrations"))
		require.Contains(t, byKindName(objs), "SealedSecret/"+w.secret, "%s: the credentials come sealed from Git", name)
	}
}

// The ApplicationSet: one directory, several databases. Applications are generated with the
// ApplicationSet controller's own template rendering; each renders through the plugin with
// its parameters in ARGOCD_APP_PARAMETERS, built by Argo CD's code.
func storyApplicationSet(t *testing.T) {
	s, repo, appSet := openExample(t, "applicationset/tenants.yaml")
	ctx := context.Background()
	apps, err := argo.GenerateApplications(appSet)
	require.NoError(t, err)
	require.Len(t, apps, 3)

	seen := map[string]bool{}
	for _, data := range apps {
		app := readApplication(t, data)
		tenant := strings.TrimSuffix(strings.TrimPrefix(app.Metadata.Name, "tenant-"), "-db")
		objs, sourceType, err := s.RenderApplication(ctx, repo, data)
		require.NoError(t, err)
		require.Equal(t, "Plugin", sourceType)
		checkDatabaseApp(t, app.Metadata.Name, app.Spec.Destination.Namespace, tenant, tenant+"-pg", objs, filepath.Join(repo, app.Spec.Source.Path, "migrations"))
		for _, o := range objs {
			key := o.GetKind() + "/" + o.GetName()
			require.False(t, seen[key], "%s is rendered for two tenants", key)
			seen[key] = true
		}
	}
}

// The repo-server's discovery hands a directory with schemahook.yaml to the plugin and
// leaves any other directory to Argo CD's plain-manifest handling.
func storyDiscovery(t *testing.T) {
	s := plugin(t).server
	repo := t.TempDir()
	WriteFile(t, repo, "db/orders/schemahook.yaml", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: orders\n")
	WriteFile(t, repo, "db/orders/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")
	WriteFile(t, repo, "apps/web/deployment.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n")
	WriteFile(t, repo, "apps/web/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")

	ctx := context.Background()
	got, err := s.AppType(ctx, repo, "db/orders")
	require.NoError(t, err)
	require.Equal(t, "Plugin", got)

	got, err = s.AppType(ctx, repo, "apps/web")
	require.NoError(t, err)
	require.Equal(t, "Directory", got)
}

// WriteFile writes content to root/rel, creating the directories on the way.
func WriteFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// Parameters reach the plugin the way Argo CD sends them (ARGOCD_APP_PARAMETERS, built by
// the repo-server's code from spec.source.plugin.parameters) and override schemahook.yaml;
// a map parameter arrives as a map. The Application's plugin.env with an empty value (which
// v3 passes as ARGOCD_ENV_X="" and v2 leaves out) changes nothing.
func storyPluginParameters(t *testing.T) {
	s := plugin(t).server
	repo := examplesRepo(t)
	ctx := context.Background()
	dir := examplesPath + "/db/tenant"

	objs, err := s.Render(ctx, repo, dir, "plain", "ns1")
	require.NoError(t, err)
	require.Contains(t, byKindName(objs), "ConfigMap/tenant-schema", "without parameters, schemahook.yaml names the objects")

	objs, err = s.Render(ctx, repo, dir, "custom-db", "ns1", StringParam("name", "custom"), StringParam("url-secret", "custom-pg"),
		Param{Name: "pod-labels", Map: map[string]string{"team": "payments"}})
	require.NoError(t, err)
	got := byKindName(objs)
	require.Contains(t, got, "ConfigMap/custom-schema")
	require.NotContains(t, got, "ConfigMap/tenant-schema")
	job := got["Job/custom-migrate"]
	require.NotNil(t, job, "Job/custom-migrate among %v", keys(got))
	labels, _, err := unstructured.NestedStringMap(job.Object, "spec", "template", "metadata", "labels")
	require.NoError(t, err)
	assert.Equal(t, "payments", labels["team"], "the map parameter reached the pod's labels")

	app := `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"env-db"},
"spec":{"destination":{"namespace":"ns1"},"source":{"repoURL":"file://` + repo + `","path":"` + dir + `",
"plugin":{"env":[{"name":"EMPTY","value":""},{"name":"TEAM","value":"payments"}]}}}}`
	objs, sourceType, err := s.RenderApplication(ctx, repo, []byte(app))
	require.NoError(t, err)
	require.Equal(t, "Plugin", sourceType)
	require.Contains(t, byKindName(objs), "ConfigMap/tenant-schema")
}
