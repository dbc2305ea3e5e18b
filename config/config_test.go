package config

import (
	"strings"
	"testing"

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
			d, err := Load("db/schemahook.yaml", []byte(tc.yaml))
			if err == nil {
				err = d.Validate()
			}
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestDefaults(t *testing.T) {
	d, err := Load("schemahook.yaml", []byte(head+"spec: {url: {secretKeyRef: {name: pg}}}\n"))
	require.NoError(t, err)
	require.NoError(t, d.Validate())
	assert.Equal(t, "url", d.Spec.URL.SecretKeyRef.Key)
	assert.Equal(t, Migrations{Dir: "migrations", Format: "auto"}, d.Spec.Migrations)
	assert.Equal(t, "ephemeral", d.Spec.Dev.Mode)
	assert.Equal(t, Level("error"), d.Spec.Lint.Policy)
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
	assert.Equal(t, Level("off"), d.Spec.Lint.Policy)
	assert.Equal(t, Level("off"), d.Spec.Lint.Rules["SH101"])
}
