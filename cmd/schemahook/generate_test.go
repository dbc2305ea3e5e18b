package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// runCaptured runs the command line as main does and returns the exit code, stdout and
// stderr.
func runCaptured(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out bytes.Buffer
	root.SetOut(&out)
	defer root.SetOut(nil)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	code := run(args)
	os.Stderr = stderr
	w.Close()
	return code, out.String(), <-done
}

// copyDir copies the example app directory src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}))
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// clearArgoEnv unsets the Argo CD variables a developer's shell might carry.
func clearArgoEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ARGOCD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func TestGenerateExample(t *testing.T) {
	clearArgoEnv(t)
	t.Setenv("ARGOCD_APP_NAME", "shop")
	code, out, stderr := runCaptured(t, "generate", "../../examples/native")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "name: orders-native-migrate")
	assert.Equal(t, 4, strings.Count(out, "\nkind: ")+boolInt(strings.HasPrefix(out, "kind: ")), "SealedSecret, 2 ConfigMaps, Job")

	code, out, stderr = runCaptured(t, "parameters", "../../examples/native")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"name": "url-secret"`)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestGenerateRefusals is the table of bad inputs: each case mutates a copy of
// examples/native, runs `schemahook generate DIR` and asserts the exit code and the text.
func TestGenerateRefusals(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, app string)
		env    map[string]string
		want   []string // substrings of stderr
		noDir  bool     // the case builds its own layout
		dirArg string   // generate argument relative to the temp root; default "app"
	}{
		{
			name: "duplicate version",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "migrations", "20240101120000_again.sql"), "SELECT 1;\n")
				os.Remove(filepath.Join(app, "migrations", "schemahook.sum"))
			},
			want: []string{"app/migrations/20240101120000_create_customers.sql", "20240101120000_again.sql", "duplicate-version"},
		},
		{
			name: "unparsable version",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "migrations", "2024x_bad.sql"), "SELECT 1;\n")
				os.Remove(filepath.Join(app, "migrations", "schemahook.sum"))
			},
			want: []string{"2024x_bad.sql"},
		},
		{
			name: "strict format mismatch",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "schemahook.yaml"), strings.Replace(read(t, filepath.Join(app, "schemahook.yaml")), "format: auto", "format: flyway", 1))
			},
			want: []string{"app/migrations/20240101120000_create_customers.sql", "flyway"},
		},
		{
			name: "bad YAML in a manifest",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "extra.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n data: [\n")
			},
			want: []string{"app/extra.yaml:9:", "invalid YAML"},
		},
		{
			name: "manifest that is not an object",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "list.yaml"), "# a comment\n- just\n- a list\n")
			},
			want: []string{"app/list.yaml:2: not a Kubernetes object"},
		},
		{
			name: "invalid parameter JSON",
			env:  map[string]string{"ARGOCD_APP_PARAMETERS": `[{"name":"dir"`},
			want: []string{"ARGOCD_APP_PARAMETERS: invalid JSON"},
		},
		{
			name: "unknown parameter",
			env:  map[string]string{"ARGOCD_APP_PARAMETERS": `[{"name":"migrations-dir","string":"x"}]`},
			want: []string{`unknown parameter "migrations-dir"`},
		},
		{
			name: "bad parameter value",
			env:  map[string]string{"ARGOCD_APP_PARAMETERS": `[{"name":"timeout","string":"forever"}]`},
			want: []string{"with ARGOCD_APP_PARAMETERS", `spec.apply.timeout: invalid value "forever"`},
		},
		{
			name: "unknown config field",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "schemahook.yaml"), strings.Replace(read(t, filepath.Join(app, "schemahook.yaml")), "  apply: {", "  apply: {retries: 3, ", 1))
			},
			want: []string{"app/schemahook.yaml", `unknown field "spec.apply.retries"`},
		},
		{
			name: "bad config value",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "schemahook.yaml"), strings.Replace(read(t, filepath.Join(app, "schemahook.yaml")), "lockTimeout: 10s", "lockTimeout: soon", 1))
			},
			want: []string{"app/schemahook.yaml", `spec.apply.lockTimeout: invalid value "soon"`},
		},
		{
			name: "job env with a database URL",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "schemahook.yaml"), read(t, filepath.Join(app, "schemahook.yaml"))+
					"  job:\n    env: [{name: DATABASE_URL, value: 'postgres://u:p@h/db'}]\n")
			},
			want: []string{"app/schemahook.yaml", "spec.job.env.DATABASE_URL: reserved"},
		},
		{
			name: "job host path",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "schemahook.yaml"), read(t, filepath.Join(app, "schemahook.yaml"))+
					"  job:\n    volumes: [{name: host, hostPath: {path: /}}]\n")
			},
			want: []string{"app/schemahook.yaml", "spec.job.volumes[0].hostPath: not allowed"},
		},
		{
			name: "job host network",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "schemahook.yaml"), read(t, filepath.Join(app, "schemahook.yaml"))+
					"  job:\n    hostNetwork: true\n")
			},
			want: []string{"app/schemahook.yaml", `unknown field "spec.job.hostNetwork": not allowed: host namespaces`},
		},
		{
			name: "pod annotation the restricted level refuses",
			env:  map[string]string{"ARGOCD_APP_PARAMETERS": `[{"name":"pod-annotations","map":{"container.apparmor.security.beta.kubernetes.io/migrate":"unconfined"}}]`},
			want: []string{"app/schemahook.yaml with ARGOCD_APP_PARAMETERS: spec.job: the hook pod would break the restricted Pod Security level", "AppArmor", "[pod-security]"},
		},
		{
			name: "stale sum",
			setup: func(t *testing.T, app string) {
				p := filepath.Join(app, "migrations", "20240315170500_customer_name.sql")
				write(t, p, read(t, p)+"-- edited after hashing\n")
			},
			want: []string{"app/migrations/schemahook.sum", "20240315170500_customer_name.sql", "stale-sum"},
		},
		{
			name: "plaintext Secret",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "db.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pg-credentials\nstringData:\n  url: postgres://u:p@h/db\n")
			},
			want: []string{"app/db.yaml:1", "plaintext", "kubeseal", "schemahook seal"},
		},
		{
			name: "SealedSecret with an unknown field",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "other.sealed.yaml"), "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: x\nspec:\n  encryptedDat:\n    a: AgB\n")
			},
			want: []string{"app/other.sealed.yaml:1", `SealedSecret "x"`, "encryptedDat"},
		},
		{
			name: "symlink out of the repository",
			setup: func(t *testing.T, app string) {
				outside := filepath.Join(t.TempDir(), "outside.yaml")
				write(t, outside, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
				require.NoError(t, os.Symlink(outside, filepath.Join(app, "linked.yaml")))
			},
			want: []string{"app/linked.yaml", "symlink that leads outside the repository"},
		},
		{
			name: "migrations dir symlinked out of the repository",
			setup: func(t *testing.T, app string) {
				outside := t.TempDir()
				copyDir(t, filepath.Join(app, "migrations"), outside)
				require.NoError(t, os.RemoveAll(filepath.Join(app, "migrations")))
				require.NoError(t, os.Symlink(outside, filepath.Join(app, "migrations")))
			},
			want: []string{"app/migrations", "outside the repository"},
		},
		{
			name: "migration file symlinked out of the repository",
			setup: func(t *testing.T, app string) {
				outside := filepath.Join(t.TempDir(), "outside.sql")
				write(t, outside, "SELECT 1;\n")
				require.NoError(t, os.Symlink(outside, filepath.Join(app, "migrations", "20991231000000_outside.sql")))
			},
			want: []string{"app/migrations/20991231000000_outside.sql", "does not resolve inside the directory"},
		},
		{
			name: "migration file symlinked inside the migrations directory",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "migrations", "inside.txt"), "SELECT 1;\n")
				require.NoError(t, os.Remove(filepath.Join(app, "migrations", "schemahook.sum"))) // the sum would refuse it first
				require.NoError(t, os.Symlink("inside.txt", filepath.Join(app, "migrations", "20991231000000_inside.sql")))
			},
			want: []string{"app/migrations/20991231000000_inside.sql", "not a regular file"},
		},
		{
			name: "manifest over the size cap",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "big.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: \""+strings.Repeat("x", 1<<20)+"\"\n")
			},
			want: []string{"app/big.yaml", "limit"},
		},
		{
			name: "migration file over the size cap",
			setup: func(t *testing.T, app string) {
				write(t, filepath.Join(app, "migrations", "20250101000000_huge.sql"), "SELECT 1;\n"+strings.Repeat("-- padding\n", 90_000))
				os.Remove(filepath.Join(app, "migrations", "schemahook.sum"))
			},
			want: []string{"app/migrations/20250101000000_huge.sql", "limit-file-size"},
		},
		{
			name: "missing migrations directory",
			setup: func(t *testing.T, app string) {
				require.NoError(t, os.RemoveAll(filepath.Join(app, "migrations")))
			},
			want: []string{"app/migrations: migrations directory not found"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearArgoEnv(t)
			repo := t.TempDir()
			app := filepath.Join(repo, "app")
			copyDir(t, "../../examples/native", app)
			if tc.setup != nil {
				tc.setup(t, app)
			}
			t.Setenv("ARGOCD_APP_SOURCE_PATH", "app")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, stderr := runCaptured(t, "generate", app)
			assert.Equal(t, 1, code, "exit code; stderr: %s", stderr)
			assert.Empty(t, out, "nothing on stdout when refusing")
			for _, w := range tc.want {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "u:p@h", "no secret in the message")
		})
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestGenerateRepositoryRoot: with ARGOCD_APP_SOURCE_PATH a suffix of DIR, a symlink to a
// sibling directory of the repository is allowed (it stays inside the root), and errors
// name files relative to the repository.
func TestGenerateRepositoryRoot(t *testing.T) {
	clearArgoEnv(t)
	repo := t.TempDir()
	copyDir(t, "../../examples/native/migrations", filepath.Join(repo, "shared", "migrations"))
	app := filepath.Join(repo, "db", "orders")
	write(t, filepath.Join(app, "schemahook.yaml"), read(t, "../../examples/native/schemahook.yaml"))
	require.NoError(t, os.Symlink("../../shared/migrations", filepath.Join(app, "migrations")))

	t.Setenv("ARGOCD_APP_SOURCE_PATH", "db/orders")
	code, out, stderr := runCaptured(t, "generate", app)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "20240101120000_create_customers.sql")

	// Without the source path the app dir itself is the root: the same link now leaves it.
	t.Setenv("ARGOCD_APP_SOURCE_PATH", "")
	code, _, stderr = runCaptured(t, "generate", app)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "migrations")
}

// TestRenderedJobFlagsExist: every flag the rendered Job passes is one `schemahook migrate
// apply` defines, so a renamed flag cannot break the hook silently.
func TestRenderedJobFlagsExist(t *testing.T) {
	clearArgoEnv(t)
	t.Setenv("ARGOCD_APP_PARAMETERS", `[{"name":"lint-rules","map":{"SH301":"warn"}},{"name":"out-of-order","string":"true"},{"name":"dev-mode","string":"none"}]`)
	code, out, stderr := runCaptured(t, "generate", "../../examples/flyway")
	require.Equal(t, 0, code, stderr)
	var command []string
	for _, doc := range strings.Split(out, "\n---\n") {
		var job batchv1.Job
		if err := yaml.Unmarshal([]byte(doc), &job); err == nil && job.Kind == "Job" {
			command = job.Spec.Template.Spec.Containers[0].Command
		}
	}
	require.NotEmpty(t, command)
	require.Equal(t, "schemahook", command[0])
	c, rest, err := root.Find(command[1:])
	require.NoError(t, err)
	require.Equal(t, "apply", c.Name())
	require.Contains(t, rest, "--allow-out-of-order")
	require.Contains(t, rest, "--lint-rule=SH301=warn")
	for _, arg := range rest {
		require.True(t, strings.HasPrefix(arg, "--"), "only flags: %s", arg)
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		f := c.Flags().Lookup(name)
		if f == nil {
			f = c.InheritedFlags().Lookup(name)
		}
		assert.NotNil(t, f, "flag --%s of the rendered Job is not defined by migrate apply", name)
	}
}
