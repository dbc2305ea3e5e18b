package argocd

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const examplesPath = "manifests/examples"

// examplesRepo is a Git repository holding manifests/examples at the path the example
// Applications name, as a user's GitOps repository would.
func examplesRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(repo, examplesPath), os.DirFS(filepath.Join(repoRoot, examplesPath))))
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

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, into), path)
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
// tracking label, and no namespace (Argo CD places objects in the destination namespace).
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
		require.Equal(t, appName, o.GetLabels()[AppLabelKey], "%s: %s/%s carries Argo CD's tracking label", appName, o.GetKind(), o.GetName())
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
func TestAppOfAppsChildrenRenderThroughThePlugin(t *testing.T) {
	s := startServer(t)
	repo := examplesRepo(t)
	ctx := context.Background()

	var root v1alpha1.Application
	readYAML(t, filepath.Join(repo, examplesPath, "app-of-apps", "root.yaml"), &root)
	children, sourceType, err := s.RenderApplication(ctx, repo, &root)
	require.NoError(t, err)
	require.Equal(t, v1alpha1.ApplicationSourceTypeDirectory, sourceType, "the root holds plain Application manifests")

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
		var child v1alpha1.Application
		require.NoError(t, json.Unmarshal(data, &child))
		w, ok := want[child.Name]
		require.True(t, ok, "unexpected child %s", child.Name)
		require.Nil(t, child.Spec.Source.Plugin, "%s relies on discovery, not a plugin name", child.Name)

		objs, sourceType, err := s.RenderApplication(ctx, repo, &child)
		require.NoError(t, err)
		require.Equal(t, v1alpha1.ApplicationSourceTypePlugin, sourceType, "%s: discovery picks the schemahook plugin", child.Name)
		checkDatabaseApp(t, child.Name, child.Spec.Destination.Namespace, w.name, w.secret, objs, filepath.Join(repo, child.Spec.Source.Path, "migrations"))
		require.Contains(t, byKindName(objs), "SealedSecret/"+w.secret, "%s: the credentials come sealed from Git", child.Name)
	}
}

// The ApplicationSet: one directory, several databases. Applications are generated with the
// ApplicationSet controller's own template rendering; each renders through the plugin with
// its parameters in ARGOCD_APP_PARAMETERS, built by Argo CD's code.
func TestApplicationSetStampsOneDirectoryOntoSeveralDatabases(t *testing.T) {
	s := startServer(t)
	repo := examplesRepo(t)
	ctx := context.Background()

	var appSet v1alpha1.ApplicationSet
	readYAML(t, filepath.Join(repo, examplesPath, "applicationset", "tenants.yaml"), &appSet)
	apps, err := GenerateApplications(&appSet)
	require.NoError(t, err)
	require.Len(t, apps, 3)

	seen := map[string]bool{}
	for _, app := range apps {
		tenant := strings.TrimSuffix(strings.TrimPrefix(app.Name, "tenant-"), "-db")
		objs, sourceType, err := s.RenderApplication(ctx, repo, app)
		require.NoError(t, err)
		require.Equal(t, v1alpha1.ApplicationSourceTypePlugin, sourceType)
		checkDatabaseApp(t, app.Name, app.Spec.Destination.Namespace, tenant, tenant+"-pg", objs, filepath.Join(repo, app.Spec.Source.Path, "migrations"))
		for _, o := range objs {
			key := o.GetKind() + "/" + o.GetName()
			require.False(t, seen[key], "%s is rendered for two tenants", key)
			seen[key] = true
		}
	}
}
