package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/e2e/controlplane"
	"github.com/schemahook/schemahook/e2e/postgres"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// renderInImage runs `schemahook generate` in the image on an example app directory and
// returns the hook Job and the ConfigMaps it renders.
func renderInImage(t *testing.T, example string) (*batchv1.Job, map[string]*corev1.ConfigMap) {
	t.Helper()
	args := append(restricted(),
		"-v", filepath.Join(repoRoot, "examples", example)+":/app:ro",
		"-e", "ARGOCD_APP_NAME=shop-"+example, "-e", "ARGOCD_APP_NAMESPACE=shop",
		image, "generate", "/app")
	out, err := runImage(t, args...)
	require.NoError(t, err)
	var job *batchv1.Job
	cms := map[string]*corev1.ConfigMap{}
	for _, doc := range strings.Split(out, "\n---\n") {
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.Kind {
		case "Job":
			job = &batchv1.Job{}
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), job))
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), cm))
			cms[cm.Name] = cm
		}
	}
	require.NotNil(t, job, "generate renders the hook Job")
	return job, cms
}

// ensureServer is the host's Postgres server of major (scripts/postgres/ensure.sh caches it).
func ensureServer(t *testing.T, major int) string {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(repoRoot, "scripts", "postgres", "ensure.sh"), fmt.Sprint(major)).Output()
	require.NoError(t, err, "ensure.sh %d", major)
	bin := strings.TrimSpace(string(out))
	require.NotEqual(t, "-", bin, "Postgres %d is not published for this architecture", major)
	return bin
}

// The hook Job's pod, run in the image exactly as rendered (its command, env, securityContext:
// uid 999, read-only root, all capabilities dropped, no privilege escalation; its volumes:
// the migrations ConfigMap, /tmp and a 64 MiB /dev/shm), migrates a real Postgres of every
// major the image claims, its ephemeral dev replay running on that major inside the container.
func TestHookJobMigratesEveryMajor(t *testing.T) {
	job, cms := renderInImage(t, "native")
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	require.Equal(t, repository+":"+version, c.Image)

	ctx := context.Background()
	for _, major := range claimedMajors(t) {
		t.Run(fmt.Sprintf("postgres-%d", major), func(t *testing.T) {
			tmp := shortTemp(t)
			target, err := postgres.Start(ctx, tmp, ensureServer(t, major))
			require.NoError(t, err)
			defer target.Stop()
			// Trust authentication ignores the password; the test checks none is ever printed.
			const password = "s3cret-e2e-pw"
			url := strings.Replace(target.URL("postgres"), "postgres@", "postgres:"+password+"@", 1)

			// Kubelet's part: volumes as directories, env resolved (the Secret's key is the
			// target's URL), the termination log writable by the container.
			dirs := map[string]string{}
			for _, v := range spec.Volumes {
				switch {
				case v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory:
				case v.EmptyDir != nil:
					dirs[v.Name] = hostDir(t, tmp, v.Name, true)
				case v.Projected != nil:
					d := hostDir(t, tmp, v.Name, false)
					for _, src := range v.Projected.Sources {
						require.NotNil(t, src.ConfigMap, "volume %s: only ConfigMap sources are rendered", v.Name)
						cm := cms[src.ConfigMap.Name]
						require.NotNil(t, cm, "volume %s: ConfigMap %s is rendered", v.Name, src.ConfigMap.Name)
						require.Empty(t, src.ConfigMap.Items)
						for k, s := range cm.Data {
							require.NoError(t, os.WriteFile(filepath.Join(d, k), []byte(s), 0o644))
						}
					}
					dirs[v.Name] = d
				default:
					t.Fatalf("volume %s: kind not expected in the hook pod", v.Name)
				}
			}
			var env []string
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					env = append(env, e.Name+"="+e.Value)
				case e.ValueFrom.SecretKeyRef != nil && e.Name == "DATABASE_URL":
					env = append(env, e.Name+"="+url)
				default:
					t.Fatalf("env %s: source not expected in the hook pod", e.Name)
				}
			}
			envFile := filepath.Join(tmp, "env")
			require.NoError(t, controlplane.WriteEnvFile(envFile, env))
			termLog := filepath.Join(tmp, "termination-log")

			run := func(name string) (string, string) {
				require.NoError(t, os.WriteFile(termLog, nil, 0o644))
				require.NoError(t, os.Chown(termLog, 999, 999))
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
				args, err := controlplane.RunArgs(controlplane.ContainerRun{
					Engine: engine, Name: name, Pod: pod, Image: image,
					VolumeDirs: dirs, EnvFile: envFile, TerminationLog: termLog,
				})
				require.NoError(t, err)
				cmd := exec.Command(engine, args...)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "hook pod %s:\n%s", name, out)
				msg, err := os.ReadFile(termLog)
				require.NoError(t, err)
				return string(out), string(msg)
			}

			out, msg := run(fmt.Sprintf("%s-%d", job.Name, major))
			require.Contains(t, out, fmt.Sprintf("started an ephemeral Postgres %d for the dev replay", major))
			require.True(t, strings.HasPrefix(msg, "schemahook: applied 5 migration(s)"), "termination message:\n%s", msg)
			require.NotContains(t, out+msg, password, "no secret value is ever printed")

			// The client tools in the image read what the hook applied.
			q, err := runImage(t, append(restricted(), "--entrypoint", "psql", image, "-X", "-A", "-t", "-d", url, "-c",
				"select string_agg(table_name, ',' order by table_name) from information_schema.tables where table_schema = 'public'")...)
			require.NoError(t, err)
			require.Equal(t, "customers,orders", strings.TrimSpace(q))

			// A retry of the Job (Argo CD recreates it) finds nothing to do.
			_, msg = run(fmt.Sprintf("%s-%d-retry", job.Name, major))
			require.True(t, strings.HasPrefix(msg, "schemahook: "), msg)
			require.Contains(t, msg, "is up-to-date, nothing to apply")
		})
	}
}
