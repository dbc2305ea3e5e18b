package config

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/schemahook/schemahook/lint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const head = "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata: {name: orders}\n"

func TestLoadAndValidate(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		wantErr string // "" for a valid config
	}{
		{"minimal", head + "spec: {url: {secretKeyRef: {name: pg}}}\n", ""},
		{"full", head + `spec:
  url: {secretKeyRef: {name: pg-credentials, key: url}}
  migrations: {dir: db/migrations, format: goose}
  dev: {url: {secretKeyRef: {name: pg-dev, key: dsn}}, mode: url}
  lint: {policy: warn, rules: {SH101: off, SH102: error}}
  apply: {txMode: all, lockTimeout: 1m, timeout: 2h, outOfOrder: true}
  revisions: {schema: orders_revisions}
  image: registry.example.com/team/schemahook:v1.2.3
  resources: {limits: {memory: 2Gi}, requests: {cpu: 250m}}
`, ""},
		{"unknown field names its path", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {retries: 3}}\n", `unknown field "spec.apply.retries"`},
		{"unknown top-level field", head + "status: {}\nspec: {url: {secretKeyRef: {name: pg}}}\n", `unknown field "status"`},
		{"duplicate field", head + "spec: {url: {secretKeyRef: {name: pg}}}\nspec: {}\n", `spec`},
		{"wrong kind", "apiVersion: schemahook.dev/v1alpha1\nkind: Table\nspec: {url: {secretKeyRef: {name: pg}}}\n", `kind: invalid value "Table"`},
		{"wrong apiVersion", "apiVersion: v1\nkind: Database\nspec: {url: {secretKeyRef: {name: pg}}}\n", `apiVersion: invalid value "v1"`},
		{"bad name", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata: {name: Orders_DB}\nspec: {url: {secretKeyRef: {name: pg}}}\n", `metadata.name: invalid value "Orders_DB"`},
		{"missing secret", head + "spec: {}\n", "spec.url.secretKeyRef.name: required"},
		{"bad secret key", head + "spec: {url: {secretKeyRef: {name: pg, key: 'a/b'}}}\n", `spec.url.secretKeyRef.key: invalid value "a/b"`},
		{"bad format", head + "spec: {url: {secretKeyRef: {name: pg}}, migrations: {format: liquibase}}\n", `spec.migrations.format: invalid value "liquibase"`},
		{"dir leaves the app", head + "spec: {url: {secretKeyRef: {name: pg}}, migrations: {dir: ../other}}\n", `spec.migrations.dir: invalid value "../other"`},
		{"absolute dir", head + "spec: {url: {secretKeyRef: {name: pg}}, migrations: {dir: /etc}}\n", `spec.migrations.dir: invalid value "/etc"`},
		{"bad dev mode", head + "spec: {url: {secretKeyRef: {name: pg}}, dev: {mode: shared}}\n", `spec.dev.mode: invalid value "shared"`},
		{"dev url without mode", head + "spec: {url: {secretKeyRef: {name: pg}}, dev: {url: {secretKeyRef: {name: d}}}}\n", `spec.dev.url: set while spec.dev.mode is "ephemeral"`},
		{"dev mode url without url", head + "spec: {url: {secretKeyRef: {name: pg}}, dev: {mode: url}}\n", "spec.dev.url.secretKeyRef: required"},
		{"bad lint policy", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {policy: strict}}\n", `spec.lint.policy: invalid value "strict"`},
		{"unknown lint rule", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {rules: {SH999: warn}}}\n", `spec.lint.rules: invalid value "SH999"`},
		{"bad lint rule level", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {rules: {SH101: loud}}}\n", `spec.lint.rules.SH101: invalid value "loud"`},
		{"small table", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {smallTable: {rows: 10000, size: 10MB}}}\n", ""},
		{"small table without size", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {smallTable: {rows: 10000}}}\n", "spec.lint.smallTable.size: required"},
		{"small table without rows", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {smallTable: {size: 10MB}}}\n", "spec.lint.smallTable.rows: required"},
		{"small table negative rows", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {smallTable: {rows: -1, size: 10MB}}}\n", `spec.lint.smallTable.rows: invalid value "-1"`},
		{"small table bad size", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {smallTable: {rows: 10, size: 10MiB}}}\n", `spec.lint.smallTable.size: invalid value "10MiB"`},
		{"small table unknown field", head + "spec: {url: {secretKeyRef: {name: pg}}, lint: {smallTable: {rows: 10, size: 1MB, bytes: 5}}}\n", `unknown field "spec.lint.smallTable.bytes"`},
		{"bad duration", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {timeout: 30}}\n", "spec.apply.timeout of type string"},
		{"negative duration", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {lockTimeout: -1s}}\n", `spec.apply.lockTimeout: invalid value "-1s"`},
		{"lock retries", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {lockRetries: {attempts: 0, wait: 500ms, maxWait: 1m}, progressInterval: 30s}}\n", ""},
		{"too many lock retries", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {lockRetries: {attempts: 1000}}}\n", `spec.apply.lockRetries.attempts: invalid value "1000"`},
		{"negative lock retries", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {lockRetries: {attempts: -1}}}\n", `spec.apply.lockRetries.attempts: invalid value "-1"`},
		{"bad lock retry wait", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {lockRetries: {maxWait: soon}}}\n", `spec.apply.lockRetries.maxWait: invalid value "soon"`},
		{"unknown lock retries field", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {lockRetries: {tries: 3}}}\n", `unknown field "spec.apply.lockRetries.tries"`},
		{"bad progress interval", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {progressInterval: 0s}}\n", `spec.apply.progressInterval: invalid value "0s"`},
		{"bad tx mode", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {txMode: each}}\n", `spec.apply.txMode: invalid value "each"`},
		{"bad bool", head + "spec: {url: {secretKeyRef: {name: pg}}, apply: {outOfOrder: sometimes}}\n", "spec.apply.outOfOrder"},
		{"bad schema", head + "spec: {url: {secretKeyRef: {name: pg}}, revisions: {schema: Bad-Schema}}\n", `spec.revisions.schema: invalid value "Bad-Schema"`},
		{"bad image", head + "spec: {url: {secretKeyRef: {name: pg}}, image: 'has space'}\n", `spec.image: invalid value "has space"`},
		{"bad resource", head + "spec: {url: {secretKeyRef: {name: pg}}, resources: {limits: {gpu: 1}}}\n", `spec.resources.limits: invalid value "gpu"`},
		{"bad YAML", head + "spec: [\n", "yaml: line"},
		{"empty", "", "empty document"},
		{"too big", head + "# " + strings.Repeat("x", MaxSize) + "\n", "byte limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireErr(t, loadAndValidate(tc.yaml), tc.wantErr)
		})
	}
}

// loadAndValidate loads db/schemahook.yaml with this content and validates it.
func loadAndValidate(yaml string) error {
	d, err := Load("db/schemahook.yaml", []byte(yaml))
	if err != nil {
		return err
	}
	return d.Validate()
}

// requireErr requires no error when want is empty, else an error that contains want.
func requireErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
}

func TestDefaults(t *testing.T) {
	d, err := Load("schemahook.yaml", []byte(head+"spec: {url: {secretKeyRef: {name: pg}}}\n"))
	require.NoError(t, err)
	require.NoError(t, d.Validate())
	assert.Equal(t, "url", d.Spec.URL.SecretKeyRef.Key)
	assert.Equal(t, Migrations{Dir: "migrations", Format: "auto"}, d.Spec.Migrations)
	assert.Equal(t, "ephemeral", d.Spec.Dev.Mode)
	assert.Equal(t, lint.Level("error"), d.Spec.Lint.Policy)
	assert.Equal(t, Apply{TxMode: "file", LockTimeout: "10s", Timeout: "30m"}, d.Spec.Apply)
	assert.Equal(t, "schemahook", d.Spec.Revisions.Schema)
	r := d.Spec.EffectiveResources()
	assert.Equal(t, "100m", r.Requests.Cpu().String())
	assert.Equal(t, "1Gi", r.Limits.Memory().String())
	// Default returns independent values.
	a, b := Default(), Default()
	a.Spec.URL.SecretKeyRef.Name = "changed"
	assert.Empty(t, b.Spec.URL.SecretKeyRef.Name)
}

// TestOffIsNotFalse: YAML reads an unquoted off as false; the lint levels take it as "off".
func TestOffIsNotFalse(t *testing.T) {
	d, err := Load("schemahook.yaml", []byte(head+"spec: {url: {secretKeyRef: {name: pg}}, lint: {policy: off, rules: {SH101: off}}}\n"))
	require.NoError(t, err)
	require.NoError(t, d.Validate())
	assert.Equal(t, lint.Level("off"), d.Spec.Lint.Policy)
	assert.Equal(t, lint.Level("off"), d.Spec.Lint.Rules["SH101"])
}

// TestJobValidate covers spec.job: Kubernetes field names, strict, and every refusal names
// the field and the rule.
func TestJobValidate(t *testing.T) {
	const spec = head + "spec:\n  url: {secretKeyRef: {name: pg}}\n  job:\n"
	cases := []struct {
		name    string
		job     string // lines under spec.job, indented by four spaces
		wantErr string // "" for a valid config
	}{
		{"real world", `    serviceAccountName: orders-migrator
    annotations: {sidecar.istio.io/inject: "false", vault.hashicorp.com/agent-inject: "true"}
    labels: {team: payments}
    nodeSelector: {kubernetes.io/os: linux, pool: db-jobs}
    tolerations:
    - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}
    - {key: spot, operator: Exists}
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
    priorityClassName: platform-high
    imagePullSecrets: [{name: registry-creds}]
    env:
    - {name: PGAPPNAME, value: orders-migrate}
    - {name: PGSSLROOTCERT, value: /etc/pg-ca/ca.crt}
    - {name: PGPASSWORD, valueFrom: {secretKeyRef: {name: pg-pass, key: password}}}
    volumes:
    - {name: pg-ca, secret: {secretName: pg-ca}}
    - {name: certs, configMap: {name: certs}}
    volumeMounts:
    - {name: pg-ca, mountPath: /etc/pg-ca, readOnly: true}
    - {name: certs, mountPath: /etc/certs}
`, ""},
		{"unknown field", "    serviceAccount: x\n", `unknown field "spec.job.serviceAccount"`},
		{"unknown nested field", "    tolerations: [{key: a, efect: NoSchedule}]\n", `unknown field "spec.job.tolerations[0].efect"`},
		{"host network", "    hostNetwork: true\n", `unknown field "spec.job.hostNetwork": not allowed: host namespaces break the restricted Pod Security level`},
		{"host pid", "    hostPID: true\n", `"spec.job.hostPID": not allowed: host namespaces`},
		{"security context", "    securityContext: {runAsUser: 0}\n", `"spec.job.securityContext": not allowed: the hook pod's security context is fixed`},
		{"privileged", "    privileged: true\n", `"spec.job.privileged": not allowed: privileged containers`},
		{"capabilities", "    capabilities: {add: [NET_ADMIN]}\n", `"spec.job.capabilities": not allowed: added capabilities`},
		{"run as root", "    runAsUser: 0\n", `"spec.job.runAsUser": not allowed: the hook runs as the image's non-root user`},
		{"token switch", "    automountServiceAccountToken: true\n", `"spec.job.automountServiceAccountToken": not allowed`},
		{"host path", "    volumes: [{name: host, hostPath: {path: /var/run}}]\n", "spec.job.volumes[0].hostPath: not allowed: a host path breaks the restricted Pod Security level"},
		{"nfs", "    volumes: [{name: share, nfs: {server: s, path: /}}]\n", "spec.job.volumes[0].nfs: not allowed by the restricted Pod Security level"},
		{"volume without source", "    volumes: [{name: nothing}]\n", "spec.job.volumes[0]: no volume source"},
		{"reserved volume", "    volumes: [{name: tmp, emptyDir: {}}]\n", `spec.job.volumes[0].name: "tmp" is reserved`},
		{"volume twice", "    volumes: [{name: a, emptyDir: {}}, {name: a, emptyDir: {}}]\n", `spec.job.volumes[1].name: "a" given twice`},
		{"mount without volume", "    volumeMounts: [{name: ca, mountPath: /etc/ca}]\n", `spec.job.volumeMounts[0].name: "ca" is not a volume of spec.job.volumes`},
		{"mount over tmp", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: /tmp}]\n", `spec.job.volumeMounts[0].mountPath: "/tmp" collides with /tmp`},
		{"mount inside migrations", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: /migrations/extra}]\n", "collides with /migrations"},
		{"mount above shm", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: /dev}]\n", `"/dev" collides with /dev/shm`},
		{"mount over token", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]\n", "collides with /var/run/secrets/kubernetes.io/serviceaccount"},
		{"relative mount", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: etc/ca}]\n", `mountPath: invalid value "etc/ca"`},
		{"subPath escapes", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: /etc/a, subPath: ../x}]\n", `subPath: invalid value "../x"`},
		{"bidirectional", "    volumes: [{name: a, emptyDir: {}}]\n    volumeMounts: [{name: a, mountPath: /etc/a, mountPropagation: Bidirectional}]\n", "mountPropagation: Bidirectional needs a privileged container"},
		{"DATABASE_URL value", "    env: [{name: DATABASE_URL, value: 'postgres://u:p@h/db'}]\n", "spec.job.env.DATABASE_URL: reserved: schemahook sets it (database URLs come only from spec.url"},
		{"DATABASE_URL from secret", "    env: [{name: DATABASE_URL, valueFrom: {secretKeyRef: {name: other, key: url}}}]\n", "spec.job.env.DATABASE_URL: reserved"},
		{"dev URL", "    env: [{name: SCHEMAHOOK_DEV_URL, value: 'postgres://dev'}]\n", "spec.job.env.SCHEMAHOOK_DEV_URL: reserved"},
		{"SCHEMAHOOK_ prefix", "    env: [{name: SCHEMAHOOK_ANYTHING, value: x}]\n", "spec.job.env.SCHEMAHOOK_ANYTHING: reserved"},
		{"TMPDIR", "    env: [{name: TMPDIR, value: /var/tmp}]\n", "spec.job.env.TMPDIR: reserved"},
		{"URL with password", "    env: [{name: REPLICA, value: 'postgresql://app:hunter2@replica:5432/orders'}]\n", "spec.job.env.REPLICA.value: refused: the value is a URL with a password"},
		{"DSN with password", "    env: [{name: PGSERVICE_DSN, value: 'host=db user=app password=hunter2'}]\n", "spec.job.env.PGSERVICE_DSN.value: refused: the value is a connection string with a password"},
		{"PGPASSWORD value", "    env: [{name: PGPASSWORD, value: hunter2}]\n", "spec.job.env.PGPASSWORD.value: refused: a password in Git"},
		{"URL without password is fine", "    env: [{name: OTEL_EXPORTER_OTLP_ENDPOINT, value: 'http://collector:4317'}]\n", ""},
		{"value and valueFrom", "    env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n", "spec.job.env.A: set value or valueFrom, not both"},
		{"env twice", "    env: [{name: A, value: one}, {name: A, value: two}]\n", "spec.job.env.A: given twice"},
		{"bad env name", "    env: [{name: '1A', value: x}]\n", `spec.job.env[0].name: invalid value "1A"`},
		{"annotation with URL password", "    annotations: {example.com/dsn: 'postgres://u:pw@h/db'}\n", "spec.job.annotations.example.com/dsn: refused: the value is a URL with a password"},
		{"Vault template is not a secret", "    annotations: {vault.hashicorp.com/agent-inject-template-db: 'postgresql://{{ .Data.username }}:{{ .Data.password }}@db:5432/orders', vault.hashicorp.com/agent-inject-template-x: 'postgresql://{{.Data.username}}:{{.Data.password}}@db/orders'}\n", ""},
		{"bad annotation key", "    annotations: {'not a key': x}\n", "spec.job.annotations.not a key: invalid key"},
		{"reserved label", "    labels: {app.kubernetes.io/name: other}\n", "spec.job.labels.app.kubernetes.io/name: reserved"},
		{"bad label value", "    labels: {team: 'a b'}\n", "spec.job.labels"},
		{"bad node selector", "    nodeSelector: {'bad key!': x}\n", "spec.job.nodeSelector"},
		{"bad toleration operator", "    tolerations: [{key: a, operator: Is}]\n", `spec.job.tolerations[0].operator: invalid value "Is"`},
		{"Exists with value", "    tolerations: [{key: a, operator: Exists, value: b}]\n", "spec.job.tolerations[0].value: must be empty when operator is Exists"},
		{"Equal without key", "    tolerations: [{value: b}]\n", "spec.job.tolerations[0].key: required unless operator is Exists"},
		{"bad effect", "    tolerations: [{key: a, effect: NoRun}]\n", `spec.job.tolerations[0].effect: invalid value "NoRun"`},
		{"bad service account", "    serviceAccountName: Orders_Migrator\n", `spec.job.serviceAccountName: invalid value "Orders_Migrator"`},
		{"bad priority class", "    priorityClassName: 'High Prio'\n", `spec.job.priorityClassName: invalid value "High Prio"`},
		{"bad pull secret", "    imagePullSecrets: [{name: ''}]\n", "spec.job.imagePullSecrets[0].name: invalid value"},
		{"wrong type", "    nodeSelector: [a]\n", "spec.job.nodeSelector"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := loadAndValidate(spec + tc.job)
			requireErr(t, err, tc.wantErr)
			if tc.wantErr != "" {
				assert.NotContains(t, err.Error(), "hunter2", "a refused secret is not repeated")
			}
		})
	}
}

func TestEffectivePodAnnotations(t *testing.T) {
	d, err := Load("schemahook.yaml", []byte(head+"spec:\n  url: {secretKeyRef: {name: pg}}\n  job: {annotations: {sidecar.istio.io/inject: \"true\", team: a}}\n"))
	require.NoError(t, err)
	require.NoError(t, d.Validate())
	got := d.Spec.EffectivePodAnnotations()
	assert.Equal(t, "true", got["sidecar.istio.io/inject"], "the file overrides the mesh default")
	assert.Equal(t, "disabled", got["linkerd.io/inject"], "other mesh defaults stay")
	assert.Equal(t, "a", got["team"])
	assert.Equal(t, "false", Default().Spec.EffectivePodAnnotations()["sidecar.istio.io/inject"])
}

// TestShortDuration: defaults are written into the spec (and the rendered Job) as a user
// writes them, which config_test's default spec and render's golden files rely on.
func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{DefaultLockTimeout, "10s"},
		{DefaultTimeout, "30m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		assert.Equal(t, tc.want, shortDuration(tc.d), "%v", tc.d)
	}
}

// TestJobMarshalsAsFields: Job's MarshalJSON (there only to keep encoding/json from
// building encoders at Load) writes every field, so a loaded config marshals and loads back
// unchanged.
func TestJobMarshalsAsFields(t *testing.T) {
	d, err := Load("schemahook.yaml", []byte(head+`spec:
  url: {secretKeyRef: {name: pg}}
  job:
    serviceAccountName: orders-migrator
    tolerations: [{key: spot, operator: Exists}]
    env: [{name: PGAPPNAME, value: orders}]
    volumes: [{name: ca, configMap: {name: ca-bundle}}]
    volumeMounts: [{name: ca, mountPath: /etc/ca}]
`))
	require.NoError(t, err)
	js, err := json.Marshal(d)
	require.NoError(t, err)
	require.Contains(t, string(js), `"job":{"serviceAccountName":"orders-migrator","tolerations":[{"key":"spot","operator":"Exists"}]`)
	again, err := Load("schemahook.json", js)
	require.NoError(t, err)
	require.Equal(t, d, again)
}

// TestLowerIdent: the loop accepts exactly what ^[a-z_][a-z0-9_]{0,62}$ does.
func TestLowerIdent(t *testing.T) {
	re := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	for _, s := range []string{
		"", "a", "_", "0", "9a", "a9", "schemahook", "_x_1", "A", "aB", "a-b", "a b", "é", "a\n",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "_" + strings.Repeat("0", 62), "_" + strings.Repeat("0", 63),
	} {
		assert.Equal(t, re.MatchString(s), lowerIdent(s), "%q", s)
	}
}
