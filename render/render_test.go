package render_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/plugin"
	"github.com/schemahook/schemahook/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yamlv2 "go.yaml.in/yaml/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.yaml from the current output")

// examples are the app directories of examples/, one per directory format.
var examples = []string{"native", "golang-migrate", "goose", "flyway", "dbmate"}

// goldenEnv is a fixed Argo CD environment, as the repo-server would give for an example.
func goldenEnv(example string) []string {
	return []string{
		"ARGOCD_APP_NAME=shop-orders",
		"ARGOCD_APP_NAMESPACE=shop",
		"ARGOCD_APP_REVISION=0123456789abcdef0123456789abcdef01234567",
		"ARGOCD_APP_SOURCE_REPO_URL=https://git.example.com/shop/db.git",
		"ARGOCD_APP_SOURCE_PATH=examples/" + example,
		"ARGOCD_APP_SOURCE_TARGET_REVISION=main",
		"KUBE_VERSION=1.34",
		"KUBE_API_VERSIONS=v1,batch/v1,bitnami.com/v1alpha1",
		"ARGOCD_ENV_TEAM=payments",
	}
}

func generate(t testing.TB, dir string, environ []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, plugin.Generate(&buf, dir, plugin.EnvFrom(environ)))
	return buf.Bytes()
}

// TestGolden renders every example and compares with testdata/golden/<example>.yaml
// (rewrite with `go test ./render -update`, review the diff).
func TestGolden(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			got := generate(t, filepath.Join("..", "examples", ex), goldenEnv(ex))
			golden := filepath.Join("testdata", "golden", ex+".yaml")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run `go test ./render -update` to create it")
			assert.Equal(t, string(want), string(got), "output differs from %s", golden)
		})
	}
}

// documents splits a rendered stream into its documents.
func documents(t testing.TB, stream []byte) []string {
	t.Helper()
	docs := strings.Split(string(stream), "\n---\n")
	require.NotEmpty(t, docs)
	return docs
}

func kindOf(t testing.TB, doc string) (string, string) {
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
	return meta.Kind, meta.Metadata.Name
}

// TestObjectsDecodeStrictly decodes every rendered object into its k8s.io/api or
// sealed-secrets type, refusing unknown fields, and checks the table of docs/architecture.md.
func TestObjectsDecodeStrictly(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			docs := documents(t, generate(t, filepath.Join("..", "examples", ex), goldenEnv(ex)))
			kinds := map[string][]string{}
			for _, doc := range docs {
				kind, name := kindOf(t, doc)
				kinds[kind] = append(kinds[kind], name)
				assert.Empty(t, validation.IsDNS1123Label(name), "name %q", name)
				switch kind {
				case "ConfigMap":
					var cm corev1.ConfigMap
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &cm), name)
					assert.Empty(t, cm.Namespace)
					assert.Contains(t, cm.Data, "schemahook.sum")
					for key := range cm.Data {
						assert.Empty(t, validation.IsConfigMapKey(key), key)
					}
					assert.Equal(t, "schemahook", cm.Labels["app.kubernetes.io/name"])
					assert.Equal(t, "shop-orders", cm.Labels["app.kubernetes.io/part-of"])
					if strings.HasSuffix(name, "-migrations") {
						assert.Equal(t, "PreSync", cm.Annotations[render.AnnotationHook])
						assert.Equal(t, "BeforeHookCreation", cm.Annotations[render.AnnotationHookDeletePolicy])
						assert.Equal(t, "migrations", cm.Labels["app.kubernetes.io/component"])
					} else {
						assert.Equal(t, "orders-"+ex+"-schema", name)
						assert.NotContains(t, cm.Annotations, render.AnnotationHook, "the schema ConfigMap is a normal resource")
						assert.Equal(t, "schema", cm.Labels["app.kubernetes.io/component"])
					}
				case "Job":
					var job batchv1.Job
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &job), name)
					assert.Equal(t, "orders-"+ex+"-migrate", name)
					assert.Empty(t, job.Namespace)
					assert.Equal(t, "PreSync", job.Annotations[render.AnnotationHook])
					assert.Equal(t, "BeforeHookCreation", job.Annotations[render.AnnotationHookDeletePolicy])
					assert.Equal(t, render.WaveMigrate, job.Annotations[render.AnnotationSyncWave])
					assert.Equal(t, int32(0), *job.Spec.BackoffLimit)
					assert.Equal(t, int64(35*60), *job.Spec.ActiveDeadlineSeconds, "30m timeout + 5m margin")
					assert.Nil(t, job.Spec.TTLSecondsAfterFinished)
					c := job.Spec.Template.Spec.Containers[0]
					assert.Equal(t, "ghcr.io/schemahook/schemahook:latest", c.Image)
					assert.Equal(t, []string{"schemahook", "migrate", "apply", "--dir=/migrations"}, c.Command[:4])
					assert.Contains(t, c.Command, "--dev-url=ephemeral")
					assert.Contains(t, c.Command, "--termination-log=/dev/termination-log")
					env := map[string]corev1.EnvVar{}
					for _, e := range c.Env {
						env[e.Name] = e
					}
					require.NotNil(t, env["DATABASE_URL"].ValueFrom)
					assert.Empty(t, env["DATABASE_URL"].Value, "the URL is never a value")
					assert.Equal(t, "pg-credentials", env["DATABASE_URL"].ValueFrom.SecretKeyRef.Name)
					assert.Equal(t, "url", env["DATABASE_URL"].ValueFrom.SecretKeyRef.Key)
					assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", env["SCHEMAHOOK_REVISION"].Value)
					assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", job.Annotations[render.AnnotationRevision])
				case "SealedSecret":
					var ss ssv1alpha1.SealedSecret
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &ss), name)
					assert.Equal(t, "pg-credentials", name)
					assert.Equal(t, "PreSync", ss.Annotations[render.AnnotationHook])
					assert.Equal(t, render.WaveCredentials, ss.Annotations[render.AnnotationSyncWave])
					assert.Equal(t, "true", ss.Spec.Template.Annotations["sealedsecrets.bitnami.com/skip-set-owner-references"])
					assert.Equal(t, "true", ss.Spec.Template.Annotations["sealedsecrets.bitnami.com/managed"])
					assert.NotEmpty(t, ss.Spec.EncryptedData["url"])
				default:
					t.Errorf("unexpected kind %s", kind)
				}
			}
			assert.Len(t, kinds["Job"], 1)
			assert.Len(t, kinds["ConfigMap"], 2)
			assert.Len(t, kinds["SealedSecret"], 1)
			// Order: credentials first (wave -1), then the hook ConfigMap and the Job.
			first, _ := kindOf(t, docs[0])
			assert.Equal(t, "SealedSecret", first)
		})
	}
}

func renderedJob(t *testing.T, environ []string) batchv1.Job {
	t.Helper()
	for _, doc := range documents(t, generate(t, filepath.Join("..", "examples", "native"), environ)) {
		if kind, _ := kindOf(t, doc); kind == "Job" {
			var job batchv1.Job
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &job))
			return job
		}
	}
	t.Fatal("no Job rendered")
	return batchv1.Job{}
}

// TestJobPodSecurityRestricted runs the real Pod Security admission checks of the
// "restricted" level on the Job's pod, and on mutated pods to prove the checks check.
func TestJobPodSecurityRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	job := renderedJob(t, goldenEnv("native"))
	restricted := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}

	cases := []struct {
		name    string
		mutate  func(*corev1.PodSpec)
		allowed bool
	}{
		{"as rendered", func(*corev1.PodSpec) {}, true},
		{"privilege escalation", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		}, false},
		{"capabilities kept", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities = nil }, false},
		{"no seccomp", func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile = nil }, false},
		{"root allowed", func(s *corev1.PodSpec) {
			s.SecurityContext.RunAsNonRoot = nil
			s.Containers[0].SecurityContext.RunAsNonRoot = nil
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := job.Spec.Template.Spec.DeepCopy()
			tc.mutate(spec)
			meta := job.Spec.Template.ObjectMeta
			result := policy.AggregateCheckResults(evaluator.EvaluatePod(restricted, &meta, spec))
			assert.Equal(t, tc.allowed, result.Allowed, "%s: %s", result.ForbiddenReason(), result.ForbiddenDetail())
		})
	}

	// What restricted does not check but docs/architecture.md requires of the pod.
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *spec.AutomountServiceAccountToken)
	assert.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)
	assert.Equal(t, corev1.TerminationMessageFallbackToLogsOnError, c.TerminationMessagePolicy)
	assert.False(t, c.Resources.Limits.Cpu().IsZero())
	assert.False(t, c.Resources.Requests.Memory().IsZero())
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	assert.Equal(t, map[string]string{"/migrations": "migrations", "/tmp": "tmp", "/dev/shm": "dshm"}, mounts)
	for _, v := range spec.Volumes {
		if v.Name == "dshm" {
			assert.Equal(t, corev1.StorageMediumMemory, v.EmptyDir.Medium)
			assert.Equal(t, "64Mi", v.EmptyDir.SizeLimit.String())
		}
	}
}

// TestDeterministic renders twice, the second time with the environment shuffled.
func TestDeterministic(t *testing.T) {
	for _, ex := range examples {
		env := goldenEnv(ex)
		first := generate(t, filepath.Join("..", "examples", ex), env)
		shuffled := append([]string{}, env...)
		rand.New(rand.NewSource(int64(len(ex)))).Shuffle(len(shuffled), func(i, j int) {
			shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
		})
		second := generate(t, filepath.Join("..", "examples", ex), shuffled)
		assert.Equal(t, string(first), string(second), ex)
	}
}

// TestNoSecretInOutput plants secret-looking values everywhere a user could put one next
// to the render (plugin env, parameters' unknown-to-render fields) and scans the output.
func TestNoSecretInOutput(t *testing.T) {
	const secret = "postgres://admin:s3cr3t-Pa55w0rd@db.internal:5432/orders"
	env := append(goldenEnv("native"),
		"DATABASE_URL="+secret,
		"SCHEMAHOOK_DEV_URL="+secret,
		"ARGOCD_ENV_DATABASE_URL="+secret,
		"PGPASSWORD=s3cr3t-Pa55w0rd",
		`ARGOCD_APP_PARAMETERS=[{"name":"url-secret","string":"pg-credentials"},{"name":"dev-url-secret","string":"pg-dev"}]`,
	)
	out := generate(t, filepath.Join("..", "examples", "native"), env)
	assert.NotContains(t, string(out), "s3cr3t")
	assert.NotContains(t, string(out), "db.internal")
	assert.NotContains(t, string(out), "--dev-url", "in url mode the runtime reads SCHEMAHOOK_DEV_URL itself")
	assert.Contains(t, string(out), "name: SCHEMAHOOK_DEV_URL")
}

func TestObjectName(t *testing.T) {
	long := strings.Repeat("a", 70)
	cases := []struct {
		name, suffix, want string
	}{
		{"orders", "migrate", "orders-migrate"},
		{strings.Repeat("x", 55), "migrate", strings.Repeat("x", 55) + "-migrate"}, // exactly 63
		{long, "migrate", strings.Repeat("a", 46) + "-" + hash8(long) + "-migrate"},
		{long, "migrations-12", strings.Repeat("a", 40) + "-" + hash8(long) + "-migrations-12"},
		{strings.Repeat("b-", 30) + "end", "schema", ""}, // checked for shape below
	}
	for _, tc := range cases {
		got := render.ObjectName(tc.name, tc.suffix)
		assert.LessOrEqual(t, len(got), 63, got)
		assert.Empty(t, validation.IsDNS1123Label(got), got)
		assert.True(t, strings.HasSuffix(got, "-"+tc.suffix), got)
		if tc.want != "" {
			assert.Equal(t, tc.want, got)
		}
	}
	// Two long names with a common prefix stay distinct.
	a := render.ObjectName(strings.Repeat("c", 60)+"-one", "migrate")
	b := render.ObjectName(strings.Repeat("c", 60)+"-two", "migrate")
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, render.ObjectName(strings.Repeat("c", 60)+"-one", "migrate"), "stable")
}

func hash8(s string) string {
	// The expected hash is computed independently of render's helper.
	return fmt.Sprintf("%x", sha256Sum([]byte(s)))[:8]
}

func TestLabelValue(t *testing.T) {
	v := render.LabelValue(strings.Repeat("app.", 30))
	assert.LessOrEqual(t, len(v), 63)
	assert.Empty(t, validation.IsValidLabelValue(v))
	assert.Equal(t, "short", render.LabelValue("short"))
}

func TestConfigMapKey(t *testing.T) {
	cases := map[string]string{
		"V1__init.sql":      "V1__init.sql",
		"sub/dir/1_a.sql":   "sub__dir__1_a.sql",
		"with space+é.sql":  "with-space---.sql",
		"schemahook.sum":    "schemahook.sum",
		"000001_x.down.sql": "000001_x.down.sql",
	}
	for in, want := range cases {
		assert.Equal(t, want, render.ConfigMapKey(in), in)
	}
}

func baseInput(files []render.File) render.Input {
	cfg := config.Default()
	cfg.Metadata.Name = "orders"
	cfg.Spec.URL.SecretKeyRef.Name = "pg-credentials"
	return render.Input{Name: "orders", PartOf: "orders", Image: "example.com/schemahook:test", Config: cfg, Files: files}
}

// TestSharding fills more than one ConfigMap's budget and checks every file lands in
// exactly one shard, each under the budget, mounted through one projected volume.
func TestSharding(t *testing.T) {
	var files []render.File
	body := strings.Repeat("SELECT 1;\n", 10_000) // 100,000 bytes
	for i := range 25 {
		files = append(files, render.File{Name: fmt.Sprintf("%03d_m.sql", i), Content: body})
	}
	files = append(files, render.File{Name: "schemahook.sum", Content: "h1:x\n"})
	objs, err := render.Render(baseInput(files))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, render.Encode(&buf, objs))

	seen := map[string]int{}
	var schemaNames, hookNames []string
	var job batchv1.Job
	for _, doc := range documents(t, buf.Bytes()) {
		kind, name := kindOf(t, doc)
		switch kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &cm))
			size := 0
			for k, v := range cm.Data {
				size += len(k) + len(v)
				if strings.Contains(name, "-schema-") {
					seen[k]++
				}
			}
			assert.LessOrEqual(t, size, render.ShardBudget, name)
			if strings.Contains(name, "-schema-") {
				schemaNames = append(schemaNames, name)
			} else {
				hookNames = append(hookNames, name)
			}
		case "Job":
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &job))
		}
	}
	assert.Equal(t, []string{"orders-schema-1", "orders-schema-2", "orders-schema-3"}, schemaNames)
	assert.Equal(t, []string{"orders-migrations-1", "orders-migrations-2", "orders-migrations-3"}, hookNames)
	assert.Len(t, seen, len(files))
	for k, n := range seen {
		assert.Equal(t, 1, n, k)
	}
	sources := job.Spec.Template.Spec.Volumes[0].Projected.Sources
	require.Len(t, sources, 3)
	for i, s := range sources {
		assert.Equal(t, hookNames[i], s.ConfigMap.Name)
		assert.Empty(t, s.ConfigMap.Items, "a flat directory's shard is projected whole")
	}
}

// TestSubdirectoryPathsMapBack checks a key with "/" mapped is mounted at its original path.
func TestSubdirectoryPathsMapBack(t *testing.T) {
	objs, err := render.Render(baseInput([]render.File{{Name: "a/1_x.sql", Content: "SELECT 1;"}}))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, render.Encode(&buf, objs))
	assert.Contains(t, buf.String(), "key: a__1_x.sql\n                path: a/1_x.sql")

	_, err = render.Render(baseInput([]render.File{{Name: "a/1_x.sql"}, {Name: "a__1_x.sql"}}))
	require.ErrorContains(t, err, "both map to ConfigMap key")
}

// TestPassThroughAndDevURL covers other manifests passing unchanged and the dev server mode.
func TestPassThroughAndDevURL(t *testing.T) {
	in := baseInput([]render.File{{Name: "1_a.sql", Content: "SELECT 1;"}})
	in.Config.Spec.Dev = config.Dev{Mode: "url", URL: &config.URLSource{SecretKeyRef: &config.SecretKeyRef{Name: "pg-dev", Key: "dsn"}}}
	in.Config.Spec.Lint.Rules = map[string]lint.Level{"SH102": "warn", "SH101": "off"}
	rows := int64(10000)
	in.Config.Spec.Lint.SmallTable = &config.SmallTable{Rows: &rows, Size: "10MB"}
	in.Config.Spec.Apply.OutOfOrder = true
	zero := 0
	in.Config.Spec.Apply.LockRetries = &config.LockRetries{Attempts: &zero, MaxWait: "1m"}
	in.Config.Spec.Apply.ProgressInterval = "30s"
	other := render.Object{"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
		"metadata": map[string]any{"name": "api-token"}, "spec": map[string]any{"encryptedData": map[string]any{"t": "AgB"}}}
	dev := render.Object{"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
		"metadata": map[string]any{"name": "pg-dev"}, "spec": map[string]any{"encryptedData": map[string]any{"dsn": "AgB"}}}
	cm := render.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app", "namespace": "keep"}}
	in.Manifests = []render.Manifest{{Object: other}, {Object: dev}, {Object: cm}}
	objs, err := render.Render(in)
	require.NoError(t, err)
	var order []string
	for _, o := range objs {
		order = append(order, o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"SealedSecret/pg-dev", "ConfigMap/orders-migrations", "Job/orders-migrate",
		"ConfigMap/orders-schema", "SealedSecret/api-token", "ConfigMap/app"}, order)
	assert.Equal(t, other, objs[4], "other SealedSecrets pass unchanged")
	assert.NotContains(t, other["metadata"], "annotations", "the input is not modified")
	assert.Equal(t, cm, objs[5])

	var buf bytes.Buffer
	require.NoError(t, render.Encode(&buf, objs[2:3]))
	var job batchv1.Job
	require.NoError(t, yaml.UnmarshalStrict(buf.Bytes(), &job))
	c := job.Spec.Template.Spec.Containers[0]
	assert.NotContains(t, strings.Join(c.Command, " "), "--dev-url", "the URL comes from the env, never an argument")
	assert.Contains(t, c.Command, "--allow-out-of-order")
	joined := strings.Join(c.Command, " ")
	assert.Contains(t, joined, "--lint=error --lint-rule=SH101=off --lint-rule=SH102=warn --lint-small-table=10000:10MB --tx-mode=file")
	assert.Contains(t, joined, "--allow-out-of-order --lock-retries=0 --lock-retry-max-wait=1m --progress-interval=30s")
	var devEnv *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "SCHEMAHOOK_DEV_URL" {
			devEnv = &c.Env[i]
		}
	}
	require.NotNil(t, devEnv)
	assert.Equal(t, "pg-dev", devEnv.ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "dsn", devEnv.ValueFrom.SecretKeyRef.Key)
}

func TestRenderRefusesBadName(t *testing.T) {
	in := baseInput(nil)
	in.Name = "Not_A_Label"
	_, err := render.Render(in)
	require.ErrorContains(t, err, `name "Not_A_Label"`)
}

// BenchmarkRenderEncode is render alone (no file reads) over 1,000 files.
func BenchmarkRenderEncode(b *testing.B) {
	var files []render.File
	for i := range 1000 {
		files = append(files, render.File{Name: fmt.Sprintf("%014d_t.sql", i), Content: fmt.Sprintf("CREATE TABLE t%d (\n  id bigint PRIMARY KEY\n);\nCOMMENT ON TABLE t%d IS 'x';\n", i, i)})
	}
	in := baseInput(files)
	b.ReportAllocs()
	for b.Loop() {
		objs, err := render.Render(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := render.Encode(io.Discard, objs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeSharedData: encoding a shared data map once gives exactly the bytes of
// encoding each object whole.
func TestEncodeSharedData(t *testing.T) {
	data := map[string]any{"b.sql": "SELECT 2;\n", "a.sql": "SELECT 1;\n  -- indented\n", "V10__x.sql": "x", "V9__y.sql": "y"}
	objs := []render.Object{
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "one"}, "data": data},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "two"}, "data": data},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "three"}, "data": data, "immutable": true},
		{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "s"}, "spec": map[string]any{"ports": []any{map[string]any{"port": 5432}}}},
	}
	var got bytes.Buffer
	require.NoError(t, render.Encode(&got, objs))
	var want []string
	for _, o := range objs {
		b, err := yamlv2.Marshal(o)
		require.NoError(t, err)
		want = append(want, string(b))
	}
	assert.Equal(t, strings.Join(want, "---\n"), got.String())
}

// jobOf renders in and decodes its Job strictly.
func jobOf(t *testing.T, in render.Input) batchv1.Job {
	t.Helper()
	objs, err := render.Render(in)
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, o := range objs {
		if o["kind"] == "Job" {
			require.NoError(t, render.Encode(&buf, []render.Object{o}))
		}
	}
	var job batchv1.Job
	require.NoError(t, yaml.UnmarshalStrict(buf.Bytes(), &job))
	return job
}

// TestJobCustomisation renders a real-world spec.job (IRSA service account, Istio opted
// back in, a node pool, a pull secret, a CA bundle) and checks each part lands on the pod
// and the pod still passes the restricted level of the real Pod Security evaluator.
func TestJobCustomisation(t *testing.T) {
	cfg, err := config.Load("schemahook.yaml", []byte(`apiVersion: schemahook.dev/v1alpha1
kind: Database
metadata: {name: orders}
spec:
  url: {secretKeyRef: {name: pg-credentials}}
  job:
    serviceAccountName: orders-migrator
    annotations: {sidecar.istio.io/inject: "true", vault.hashicorp.com/agent-inject: "true"}
    labels: {team: payments}
    nodeSelector: {pool: db-jobs}
    tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}]
    affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}
    priorityClassName: platform-high
    imagePullSecrets: [{name: registry-creds}]
    env:
    - {name: PGSSLROOTCERT, value: /etc/pg-ca/ca.crt}
    - {name: OTEL_SERVICE_NAME, value: $(SCHEMAHOOK_APP)-migrate}
    volumes: [{name: pg-ca, secret: {secretName: pg-ca}}]
    volumeMounts: [{name: pg-ca, mountPath: /etc/pg-ca, readOnly: true}]
`))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	in := baseInput([]render.File{{Name: "1_a.sql", Content: "SELECT 1;"}})
	in.Config = cfg
	job := jobOf(t, in)
	tmpl := job.Spec.Template
	spec := tmpl.Spec

	assert.Equal(t, "orders-migrator", spec.ServiceAccountName)
	assert.True(t, *spec.AutomountServiceAccountToken, "a named service account gets its token (IRSA, Workload Identity)")
	assert.Equal(t, map[string]string{"pool": "db-jobs"}, spec.NodeSelector)
	assert.Equal(t, []corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "db", Effect: "NoSchedule"}}, spec.Tolerations)
	require.NotNil(t, spec.Affinity)
	assert.Equal(t, "zone", spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key)
	assert.Equal(t, "platform-high", spec.PriorityClassName)
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "registry-creds"}}, spec.ImagePullSecrets)

	assert.Equal(t, "true", tmpl.Annotations["sidecar.istio.io/inject"], "the file overrides the mesh default")
	assert.Equal(t, "disabled", tmpl.Annotations["linkerd.io/inject"], "the other mesh defaults stay")
	assert.Equal(t, "true", tmpl.Annotations["vault.hashicorp.com/agent-inject"])
	assert.NotContains(t, job.Annotations, "vault.hashicorp.com/agent-inject", "pod annotations go on the pod template only")
	assert.Equal(t, "payments", tmpl.Labels["team"])
	assert.Equal(t, "schemahook", tmpl.Labels["app.kubernetes.io/name"], "render's labels stay")
	assert.NotContains(t, job.Labels, "team")

	c := spec.Containers[0]
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"DATABASE_URL", "SCHEMAHOOK_APP", "SCHEMAHOOK_REVISION", "TMPDIR", "PGSSLROOTCERT", "OTEL_SERVICE_NAME"}, names,
		"spec.job.env after render's own, so $(SCHEMAHOOK_APP) resolves")
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	assert.Equal(t, map[string]string{"/migrations": "migrations", "/tmp": "tmp", "/dev/shm": "dshm", "/etc/pg-ca": "pg-ca"}, mounts)
	require.Len(t, spec.Volumes, 4)
	assert.Equal(t, "pg-ca", spec.Volumes[3].Secret.SecretName)

	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	require.NoError(t, err)
	restricted := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	res := policy.AggregateCheckResults(evaluator.EvaluatePod(restricted, &tmpl.ObjectMeta, &spec))
	assert.True(t, res.Allowed, "%s: %s", res.ForbiddenReason(), res.ForbiddenDetail())
}

// TestMeshDefaults: without configuration the hook pod opts out of sidecar injection by
// the common meshes (an injected proxy never exits, so the Job would never complete), and
// has no service account token.
func TestMeshDefaults(t *testing.T) {
	job := jobOf(t, baseInput([]render.File{{Name: "1_a.sql", Content: "SELECT 1;"}}))
	assert.Equal(t, map[string]string{
		"sidecar.istio.io/inject":             "false",
		"linkerd.io/inject":                   "disabled",
		"kuma.io/sidecar-injection":           "disabled",
		"consul.hashicorp.com/connect-inject": "false",
	}, job.Spec.Template.Annotations)
	for k := range job.Spec.Template.Annotations {
		assert.NotContains(t, job.Annotations, k, "injection is decided per pod, not per Job")
	}
	assert.False(t, *job.Spec.Template.Spec.AutomountServiceAccountToken)
	assert.Empty(t, job.Spec.Template.Spec.ServiceAccountName)
}

// TestRenderRefusesUnrestrictedPod: whatever gets past config's field checks, the real
// Pod Security evaluator refuses at render, naming spec.job and the rule.
func TestRenderRefusesUnrestrictedPod(t *testing.T) {
	cases := []struct {
		name    string
		job     config.Job
		wantErr string
	}{
		{"AppArmor unconfined", config.Job{Annotations: map[string]string{"container.apparmor.security.beta.kubernetes.io/migrate": "unconfined"}}, "forbidden AppArmor profile"},
		{"host path", config.Job{Volumes: []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}}, `volume "host" uses restricted volume type "hostPath"`},
		{"nfs", config.Job{Volumes: []corev1.Volume{{Name: "share", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}}}}, "restricted volume types"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput([]render.File{{Name: "1_a.sql", Content: "SELECT 1;"}})
			in.ConfigSource = "db/orders/schemahook.yaml"
			in.Config.Spec.Job = tc.job
			_, err := render.Render(in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "db/orders/schemahook.yaml: spec.job: the hook pod would break the restricted Pod Security level")
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), "[pod-security]")
		})
	}
}

// TestREADMEJobExample: the README's real-world spec.job (IRSA, Istio, CA bundle) is valid
// and renders a pod the restricted level admits.
func TestREADMEJobExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "```yaml\n# db/orders/schemahook.yaml\n")
	require.True(t, ok, "README has the example")
	block, _, _ = strings.Cut(block, "```")
	cfg, err := config.Load("README.md", []byte(block))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	in := baseInput([]render.File{{Name: "1_a.sql", Content: "SELECT 1;"}})
	in.Config = cfg
	job := jobOf(t, in)
	assert.Equal(t, "orders-migrator", job.Spec.Template.Spec.ServiceAccountName)
	assert.Equal(t, "false", job.Spec.Template.Annotations["sidecar.istio.io/inject"])
	assert.Equal(t, "pg-ca", job.Spec.Template.Spec.Containers[0].VolumeMounts[3].Name)
}

// TestKeyRefusals: the first file in name order whose key Kubernetes refuses, or that maps
// to an earlier file's key, is named.
func TestKeyRefusals(t *testing.T) {
	long := strings.Repeat("x", 250) + ".sql"
	cases := []struct {
		name  string
		files []string
		want  string // "" for none
	}{
		{"flat", []string{"1_a.sql", "2_b.sql"}, ""},
		{"renamed keys out of name order", []string{"a/1.sql", "a_1.sql", "a~2.sql"}, ""},
		{"dot dot", []string{"..x.sql"}, "..x.sql: cannot be a ConfigMap key: must not start with '..'"},
		{"too long", []string{long}, long + ": cannot be a ConfigMap key: must be no more than 253 characters"},
		{"collision before a bad key", []string{"a/1.sql", "a__1.sql", long}, `a/1.sql and a__1.sql both map to ConfigMap key "a__1.sql"`},
		{"bad key before a collision", []string{"..x.sql", "a/1.sql", "a__1.sql"}, "..x.sql: cannot be a ConfigMap key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var files []render.File
			for _, n := range c.files {
				files = append(files, render.File{Name: n, Content: "SELECT 1;\n"})
			}
			_, err := render.Render(baseInput(files))
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}
