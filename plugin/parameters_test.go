package plugin

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/schemahook/schemahook/lint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestParseParameters(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    int    // parameters parsed
		wantErr string // substring of the error, "" for success
	}{
		{"empty", "", 0, ""},
		{"blank", "  \n", 0, ""},
		{"empty list", "[]", 0, ""},
		{"string and map", `[{"name":"url-secret","string":"pg"},{"name":"lint-rules","map":{"SH101":"off"}}]`, 2, ""},
		{"invalid JSON", `[{"name":"url-secret",`, 0, "ARGOCD_APP_PARAMETERS: invalid JSON"},
		{"not a list", `{"name":"x"}`, 0, "invalid JSON"},
		{"trailing data", `[] []`, 0, "data after the list"},
		{"unknown parameter", `[{"name":"urlsecret","string":"pg"}]`, 0, `unknown parameter "urlsecret"`},
		{"unknown field", `[{"name":"url-secret","strin":"pg"}]`, 0, `unknown field "strin"`},
		{"no name", `[{"string":"pg"}]`, 0, "parameter without a name"},
		{"twice", `[{"name":"dir","string":"a"},{"name":"dir","string":"b"}]`, 0, `parameter "dir" given twice`},
		{"map for string", `[{"name":"dir","map":{"a":"b"}}]`, 0, `parameter "dir" takes a string`},
		{"array for string", `[{"name":"dir","array":["a"]}]`, 0, `parameter "dir" takes a string`},
		{"string for map", `[{"name":"lint-rules","string":"x"}]`, 0, `parameter "lint-rules" takes a map`},
		{"array", `[{"name":"tolerations","array":["a:NoSchedule"]}]`, 1, ""},
		{"string for array", `[{"name":"tolerations","string":"a:NoSchedule"}]`, 0, `parameter "tolerations" takes an array`},
		{"map for array", `[{"name":"image-pull-secrets","map":{"a":"b"}}]`, 0, `parameter "image-pull-secrets" takes an array`},
		{"array for map", `[{"name":"node-selector","array":["a"]}]`, 0, `parameter "node-selector" takes a map`},
		{"two kinds", `[{"name":"dir","string":"a","array":["b"]}]`, 0, "more than one of"},
		{"too big", `[{"name":"dir","string":"` + strings.Repeat("a", MaxParametersSize) + `"}]`, 0, "byte limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := ParseParameters(tc.in)
			if testfs.WantErr(t, err, tc.wantErr) {
				return
			}
			assert.Len(t, ps, tc.want)
		})
	}
}

func FuzzParseParameters(f *testing.F) {
	for _, s := range []string{
		``, `[]`, `[{"name":"dir","string":"m"}]`, `[{"name":"lint-rules","map":{"A":"warn"}}]`,
		`[{"name":"timeout","string":"1h"},{"name":"out-of-order","string":"true"}]`, `[{"name":1}]`, `null`,
		`[{"name":"tolerations","array":["a=b:NoSchedule","*"]},{"name":"pod-annotations","map":{"a":"b"}}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseParameters(s)
		if err != nil {
			return
		}
		// Whatever parses names only known parameters, once each, and applies without panic;
		// the result either validates or is refused with an error.
		seen := map[string]bool{}
		for _, p := range ps {
			if lookup(p.Name) == nil || seen[p.Name] {
				t.Fatalf("accepted %q", p.Name)
			}
			seen[p.Name] = true
		}
		cfg := config.Default()
		cfg.Spec.URL.SecretKeyRef.Name = "pg"
		if err := ApplyParameters(cfg, ps); err == nil {
			_ = cfg.Validate()
		}
	})
}

// ordersSpec opens the schemahook.yaml of the parameter tests: the orders database, its URL
// from pg-credentials; the spec's other fields follow.
const ordersSpec = `apiVersion: schemahook.dev/v1alpha1
kind: Database
metadata: {name: orders}
spec:
  url: {secretKeyRef: {name: pg-credentials}}`

// TestPrecedence: defaults < schemahook.yaml < parameters.
func TestPrecedence(t *testing.T) {
	cfg, err := config.Load("schemahook.yaml", []byte(ordersSpec+`
  apply: {timeout: 10m}
  lint: {rules: {SH101: warn, SH102: off}}
`))
	require.NoError(t, err)
	assert.Equal(t, "10m", cfg.Spec.Apply.Timeout, "file over default")
	assert.Equal(t, "10s", cfg.Spec.Apply.LockTimeout, "default kept")
	assert.Equal(t, "url", cfg.Spec.URL.SecretKeyRef.Key, "default key kept")

	ps, err := ParseParameters(`[{"name":"timeout","string":"1h"},{"name":"url-key","string":"dsn"},
		{"name":"lint-rules","map":{"SH101":"error"}},{"name":"dev-url-secret","string":"pg-dev"},
		{"name":"memory-limit","string":"2Gi"},{"name":"name","string":""}]`)
	require.NoError(t, err)
	require.NoError(t, ApplyParameters(cfg, ps))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "1h", cfg.Spec.Apply.Timeout, "parameter over file")
	assert.Equal(t, "dsn", cfg.Spec.URL.SecretKeyRef.Key)
	assert.Equal(t, "pg-credentials", cfg.Spec.URL.SecretKeyRef.Name)
	assert.Equal(t, map[string]lint.Level{"SH101": "error", "SH102": "off"}, cfg.Spec.Lint.Rules, "maps merge")
	assert.Equal(t, "url", cfg.Spec.Dev.Mode, "dev-url-secret implies dev-mode url")
	assert.Equal(t, "pg-dev", cfg.Spec.Dev.URL.SecretKeyRef.Name)
	assert.Equal(t, "orders", cfg.Metadata.Name, "an empty parameter keeps the file's value")
	res := cfg.Spec.EffectiveResources()
	assert.Equal(t, "2Gi", res.Limits.Memory().String())
	assert.Equal(t, "1", res.Limits.Cpu().String(), "other defaults kept")
}

func TestApplyParametersBadValues(t *testing.T) {
	cases := []struct{ params, wantErr string }{
		{`[{"name":"out-of-order","string":"yes"}]`, `parameter "out-of-order": invalid value: want true or false`},
		{`[{"name":"cpu-limit","string":"lots"}]`, `parameter "cpu-limit": invalid value`},
	}
	for _, tc := range cases {
		ps, err := ParseParameters(tc.params)
		require.NoError(t, err)
		err = ApplyParameters(config.Default(), ps)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.wantErr)
	}
	// Values that parse but are invalid are refused by Validate, naming the field.
	cfg := config.Default()
	cfg.Spec.URL.SecretKeyRef.Name = "pg"
	ps, err := ParseParameters(`[{"name":"tx-mode","string":"sometimes"}]`)
	require.NoError(t, err)
	require.NoError(t, ApplyParameters(cfg, ps))
	require.ErrorContains(t, cfg.Validate(), `spec.apply.txMode: invalid value "sometimes"`)
}

func TestEnvFrom(t *testing.T) {
	env := EnvFrom([]string{
		"ARGOCD_APP_NAME=orders", "ARGOCD_APP_NAMESPACE=shop", "ARGOCD_APP_REVISION=abc",
		"ARGOCD_APP_SOURCE_REPO_URL=https://git/x", "ARGOCD_APP_SOURCE_PATH=db/orders",
		"ARGOCD_APP_SOURCE_TARGET_REVISION=main", "KUBE_VERSION=1.34",
		"KUBE_API_VERSIONS=v1, batch/v1,apps/v1", "ARGOCD_APP_PARAMETERS=[]",
		"ARGOCD_ENV_TEAM=a=b", "ARGOCD_ENV_=skip", "PATH=/bin", "BROKEN",
	})
	assert.Equal(t, Env{
		AppName: "orders", AppNamespace: "shop", Revision: "abc", RepoURL: "https://git/x",
		SourcePath: "db/orders", TargetRevision: "main", KubeVersion: "1.34",
		KubeAPIVersions: []string{"apps/v1", "batch/v1", "v1"}, Parameters: "[]",
		Vars: map[string]string{"TEAM": "a=b"},
	}, env)
}

// TestPluginYAMLMatchesAnnounce keeps plugin.yaml's static announcements and the dynamic
// ones in step: same names in the same order, same titles and tooltips.
func TestPluginYAMLMatchesAnnounce(t *testing.T) {
	data, err := os.ReadFile("../plugin.yaml")
	require.NoError(t, err)
	var cmp struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version  string `json:"version"`
			Generate struct {
				Command []string `json:"command"`
			} `json:"generate"`
			Discover struct {
				FileName string `json:"fileName"`
			} `json:"discover"`
			PreserveFileMode bool `json:"preserveFileMode"`
			Parameters       struct {
				Static  []ParameterAnnouncement `json:"static"`
				Dynamic struct {
					Command []string `json:"command"`
				} `json:"dynamic"`
			} `json:"parameters"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.UnmarshalStrict(data, &cmp))
	assert.Equal(t, "argoproj.io/v1alpha1", cmp.APIVersion)
	assert.Equal(t, "ConfigManagementPlugin", cmp.Kind)
	assert.Equal(t, []string{"schemahook", "generate"}, cmp.Spec.Generate.Command)
	assert.Equal(t, []string{"schemahook", "parameters"}, cmp.Spec.Parameters.Dynamic.Command)
	assert.Equal(t, "./schemahook.yaml", cmp.Spec.Discover.FileName)

	dynamic := announce(config.Default())
	require.Len(t, cmp.Spec.Parameters.Static, len(dynamic))
	for i, s := range cmp.Spec.Parameters.Static {
		d := dynamic[i]
		assert.Equal(t, d.Name, s.Name)
		assert.Equal(t, d.Title, s.Title, s.Name)
		assert.Equal(t, d.Tooltip, s.Tooltip, s.Name)
		assert.Equal(t, d.CollectionType, s.CollectionType, s.Name)
		if s.String != "" {
			assert.Equal(t, d.String, s.String, "static default of %s", s.Name)
		}
	}
}

func TestAnnounceShowsEffectiveValues(t *testing.T) {
	out, err := Announce("../examples/goose", Env{AppName: "shop", Parameters: `[{"name":"timeout","string":"2h"}]`})
	require.NoError(t, err)
	var as []ParameterAnnouncement
	require.NoError(t, json.Unmarshal(out, &as))
	got := map[string]string{}
	for _, a := range as {
		assert.NotEmpty(t, a.Title, a.Name)
		assert.NotEmpty(t, a.Tooltip, a.Name)
		got[a.Name] = a.String
	}
	assert.Equal(t, "orders-goose", got["name"], "metadata.name")
	assert.Equal(t, "goose", got["format"], "from schemahook.yaml")
	assert.Equal(t, "2h", got["timeout"], "from the parameters")
	assert.Equal(t, "10s", got["lock-timeout"], "default")
	assert.Equal(t, "ghcr.io/schemahook/schemahook:latest", got["image"])
	assert.Equal(t, Names(), func() []string {
		var n []string
		for _, a := range as {
			n = append(n, a.Name)
		}
		return n
	}())
}

// TestJobParameters: what teams set per Application or ApplicationSet element reaches
// spec.job, merged (maps) or replacing (arrays) what the file says, and bad values are
// refused naming the field.
func TestJobParameters(t *testing.T) {
	cfg, err := config.Load("schemahook.yaml", []byte(ordersSpec+`
  job:
    annotations: {team: payments}
    nodeSelector: {kubernetes.io/os: linux}
    tolerations: [{key: old, operator: Exists}]
`))
	require.NoError(t, err)
	ps, err := ParseParameters(`[{"name":"service-account","string":"orders-migrator"},
		{"name":"pod-annotations","map":{"eks.amazonaws.com/role-arn":"arn:aws:iam::1:role/x","sidecar.istio.io/inject":"true"}},
		{"name":"pod-labels","map":{"cost-center":"db"}},
		{"name":"node-selector","map":{"pool":"db-jobs"}},
		{"name":"tolerations","array":["dedicated=db:NoSchedule","spot","*:NoExecute"]},
		{"name":"priority-class","string":"platform-high"},
		{"name":"image-pull-secrets","array":["registry-creds"]}]`)
	require.NoError(t, err)
	require.NoError(t, ApplyParameters(cfg, ps))
	require.NoError(t, cfg.Validate())
	j := cfg.Spec.Job
	assert.Equal(t, "orders-migrator", j.ServiceAccountName)
	assert.Equal(t, map[string]string{"team": "payments", "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x", "sidecar.istio.io/inject": "true"}, j.Annotations, "maps merge")
	assert.Equal(t, map[string]string{"cost-center": "db"}, j.Labels)
	assert.Equal(t, map[string]string{"kubernetes.io/os": "linux", "pool": "db-jobs"}, j.NodeSelector)
	assert.Equal(t, []corev1.Toleration{
		{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule},
		{Key: "spot", Operator: corev1.TolerationOpExists},
		{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	}, j.Tolerations, "arrays replace")
	assert.Equal(t, "platform-high", j.PriorityClassName)
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "registry-creds"}}, j.ImagePullSecrets)

	// The announcement shows the effective values, the mesh defaults included, and reads
	// back as the same tolerations.
	got := map[string]ParameterAnnouncement{}
	for _, a := range announce(cfg) {
		got[a.Name] = a
	}
	assert.Equal(t, "orders-migrator", got["service-account"].String)
	assert.Equal(t, "disabled", got["pod-annotations"].Map["linkerd.io/inject"], "mesh default shown")
	assert.Equal(t, "true", got["pod-annotations"].Map["sidecar.istio.io/inject"], "override shown")
	assert.Equal(t, "array", got["tolerations"].CollectionType)
	assert.Equal(t, []string{"dedicated=db:NoSchedule", "spot", "*:NoExecute"}, got["tolerations"].Array)
	assert.Equal(t, []string{"registry-creds"}, got["image-pull-secrets"].Array)

	cases := []struct{ params, wantErr string }{
		{`[{"name":"tolerations","array":[":NoSchedule"]}]`, `parameter "tolerations": invalid value: ":NoSchedule": want KEY[=VALUE][:EFFECT]`},
		{`[{"name":"tolerations","array":["a:"]}]`, `parameter "tolerations": invalid value: "a:": empty effect`},
	}
	for _, tc := range cases {
		ps, err := ParseParameters(tc.params)
		require.NoError(t, err)
		assert.ErrorContains(t, ApplyParameters(config.Default(), ps), tc.wantErr)
	}
	// Values that parse are checked by Validate, naming the spec.job field.
	for params, wantErr := range map[string]string{
		`[{"name":"tolerations","array":["a:NoRun"]}]`:                          `spec.job.tolerations[0].effect: invalid value "NoRun"`,
		`[{"name":"service-account","string":"Bad_Name"}]`:                      `spec.job.serviceAccountName: invalid value "Bad_Name"`,
		`[{"name":"pod-annotations","map":{"x.io/dsn":"postgres://u:pw@h/d"}}]`: "spec.job.annotations.x.io/dsn: refused: the value is a URL with a password",
		`[{"name":"pod-labels","map":{"app.kubernetes.io/name":"x"}}]`:          "spec.job.labels.app.kubernetes.io/name: reserved",
		`[{"name":"image-pull-secrets","array":["Bad Name"]}]`:                  `spec.job.imagePullSecrets[0].name: invalid value "Bad Name"`,
	} {
		cfg := config.Default()
		cfg.Spec.URL.SecretKeyRef.Name = "pg"
		ps, err := ParseParameters(params)
		require.NoError(t, err)
		require.NoError(t, ApplyParameters(cfg, ps))
		assert.ErrorContains(t, cfg.Validate(), wantErr)
	}
}
