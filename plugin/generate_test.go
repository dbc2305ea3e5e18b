package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseManifests(t *testing.T) {
	cases := []struct {
		name    string
		data    string
		want    []string // kind/name of each object
		wantErr string
	}{
		{"one", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", []string{"ConfigMap/a"}, ""},
		{"stream with empty docs and comments", "---\n# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- # next\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\n", []string{"ConfigMap/a", "Deployment/b"}, ""},
		{"JSON", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}`, []string{"Service/s"}, ""},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", nil, "f.yaml:1: not a Kubernetes object"},
		{"scalar", "just text\n", nil, "f.yaml:1: not a Kubernetes object"},
		{"error line in second doc", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [\n", nil, "f.yaml:6"},
		{"plaintext secret", "# creds\napiVersion: v1\nkind: Secret\nmetadata: {name: pg}\n", nil, `f.yaml:2: Secret "pg" in plaintext refused`},
		{"sealed secret without data", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: pg}\nspec: {}\n", nil, "has no spec.encryptedData"},
		{"sealed secret wrong type", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: pg}\nspec: {template: []}\n", nil, `SealedSecret "pg"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := parseManifests("f.yaml", []byte(tc.data))
			if testfs.WantErr(t, err, tc.wantErr) {
				return
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Object["kind"].(string)+"/"+m.Object["metadata"].(map[string]any)["name"].(string))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestGeneratePassesManifestsThrough: other manifests come out with their values intact
// (big integers exact, namespaces kept), after the rendered objects, in file order.
func TestGeneratePassesManifestsThrough(t *testing.T) {
	app := t.TempDir()
	writeApp(t, app, 2)
	files := map[string]string{
		"b-deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: keep}\nspec: {replicas: 3, revisionHistoryLimit: 9007199254740993}\n",
		"a-svc.json":    `{"apiVersion":"v1","kind":"Service","metadata":{"name":"api"},"spec":{"ports":[{"port":5432}]}}`,
		"notes.txt":     "ignored",
		"pg.yaml":       "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: pg}\nspec: {encryptedData: {url: AgB}}\n",
	}
	for n, c := range files {
		require.NoError(t, os.WriteFile(filepath.Join(app, n), []byte(c), 0o644))
	}
	var out bytes.Buffer
	require.NoError(t, Generate(&out, app, Env{AppName: "shop"}))
	s := out.String()
	assert.Contains(t, s, "revisionHistoryLimit: 9007199254740993")
	assert.Contains(t, s, "namespace: keep")
	assert.NotContains(t, s, "ignored")
	iSealed := strings.Index(s, "kind: SealedSecret")
	iJob := strings.Index(s, "kind: Job")
	iSvc := strings.Index(s, "kind: Service")
	iDeploy := strings.Index(s, "kind: Deployment")
	assert.True(t, iSealed < iJob && iJob < iSvc && iSvc < iDeploy, "order: credentials, hooks, passthrough by file name")
}
