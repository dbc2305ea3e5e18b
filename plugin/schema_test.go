package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

const schemaBody = "-- Name: t0; Type: TABLE; Schema: public\nCREATE TABLE public.t0 (\n    id bigint NOT NULL,\n    name text NOT NULL\n);\n"

// writeSchema writes app/schema.sql recording the checksum of app/migrations as it is now.
func writeSchema(t *testing.T, app string) {
	t.Helper()
	d, err := migrations.Read(os.DirFS(filepath.Join(app, "migrations")), migrations.Options{})
	require.NoError(t, err)
	content := schema.File(schema.DirSum(d.ComputeSum()), "app", schemaBody)
	require.NoError(t, os.WriteFile(filepath.Join(app, "schema.sql"), []byte(content), 0o644))
}

// objects splits a rendered stream into kind/name → object.
func objects(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(stream, "\n---\n") {
		var o map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
		out[o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string)] = o
	}
	return out
}

func TestSchemaInTheDiff(t *testing.T) {
	app := t.TempDir()
	writeApp(t, app, 2)
	writeSchema(t, app)
	var out bytes.Buffer
	require.NoError(t, Generate(&out, app, Env{AppName: "shop"}))
	objs := objects(t, out.String())
	data := objs["ConfigMap/bench-schema"]["data"].(map[string]any)
	assert.Contains(t, data["schema.sql"], "CREATE TABLE public.t0 (\n    id bigint NOT NULL,")
	job := out.String()[strings.Index(out.String(), "kind: Job"):]
	assert.Contains(t, job, "--schema-file=/migrations/.schemahook/schema.sql")
	assert.Contains(t, job, "path: .schemahook/schema.sql")
	assert.NotContains(t, out.String(), "--drift=", "the default policy renders no flag")
}

func TestStaleSchemaRefused(t *testing.T) {
	app := t.TempDir()
	writeApp(t, app, 2)
	writeSchema(t, app)
	require.NoError(t, os.WriteFile(filepath.Join(app, "migrations", "20240101000009_more.sql"), []byte("ALTER TABLE t0 ADD COLUMN x int;\n"), 0o644))
	var out bytes.Buffer
	err := Generate(&out, app, Env{AppName: "shop"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schema.sql:4: stale: built from migrations h1:")
	assert.Contains(t, err.Error(), "refresh it with `schemahook schema .` and commit it [stale-schema]")
	assert.Empty(t, out.String())

	require.NoError(t, os.WriteFile(filepath.Join(app, "schema.sql"), []byte("CREATE TABLE x ();\n"), 0o644))
	err = Generate(&out, app, Env{AppName: "shop"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schema.sql:1: ")
	assert.Contains(t, err.Error(), "[schema-header]")
}

func TestDriftParametersAndCronJob(t *testing.T) {
	app := t.TempDir()
	writeApp(t, app, 1)
	var out bytes.Buffer
	params := `[{"name":"drift","string":"error"},{"name":"drift-schedule","string":"*/30 * * * *"}]`
	require.NoError(t, Generate(&out, app, Env{AppName: "shop", Revision: "abc123", Parameters: params}))
	s := out.String()
	objs := objects(t, s)
	job := objs["Job/bench-migrate"]
	cmd := job["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["command"]
	assert.Contains(t, cmd, "--drift=error")
	cron, ok := objs["CronJob/bench-drift"]
	require.True(t, ok, s)
	spec := cron["spec"].(map[string]any)
	assert.Equal(t, "*/30 * * * *", spec["schedule"])
	assert.Equal(t, "Forbid", spec["concurrencyPolicy"])
	pod := spec["jobTemplate"].(map[string]any)["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{"schemahook", "migrate", "drift"}, c["command"].([]any)[:3])
	assert.Contains(t, c["command"], "--drift=error")
	assert.NotContains(t, c["env"], map[string]any{"name": "SCHEMAHOOK_REVISION", "value": "abc123"}, "a new commit must not change the CronJob")
	vol, _ := yaml.Marshal(pod["volumes"])
	assert.Contains(t, string(vol), "name: bench-schema\n", "mounts the synced schema ConfigMap, not the hook's")
	assert.NotContains(t, string(vol), "bench-migrations")
	assert.Equal(t, map[string]any{"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}}}, c["securityContext"])
	_, hook := cron["metadata"].(map[string]any)["annotations"]
	assert.False(t, hook, "a normal resource, not a hook")

	err := Generate(&bytes.Buffer{}, app, Env{AppName: "shop", Parameters: `[{"name":"drift-schedule","string":"every hour"}]`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.drift.schedule: invalid value "every hour"`)
	err = Generate(&bytes.Buffer{}, app, Env{AppName: "shop", Parameters: `[{"name":"drift","string":"loud"}]`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.drift.policy: invalid value "loud"`)
}
