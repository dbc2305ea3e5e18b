package argocd

import (
	"context"
	"testing"

	"github.com/argoproj/argo-cd/v2/util/lua"
	"github.com/argoproj/gitops-engine/pkg/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What Argo CD shows for the drift CronJob (spec.drift.schedule), by Argo CD's own health
// code: gitops-engine's health package with the argo-cd module's resource customisations,
// as the application controller runs them. The CronJob is rendered through the real plugin
// server from the drift-schedule parameter.
func TestDriftCronJobHealthInArgoCD(t *testing.T) {
	s := startServer(t)
	repo := t.TempDir()
	write(t, repo, "db/orders/schemahook.yaml", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: orders\nspec:\n  url: {secretKeyRef: {name: pg, key: url}}\n")
	write(t, repo, "db/orders/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")
	objs, err := s.Render(context.Background(), repo, "db/orders", "orders", "shop", StringParam("drift-schedule", "@hourly"))
	require.NoError(t, err)
	cron, ok := byKindName(objs)["CronJob/orders-drift"]
	require.True(t, ok, "rendered: %v", keys(byKindName(objs)))
	_, hook := cron.GetAnnotations()["argocd.argoproj.io/hook"]
	require.False(t, hook, "a normal resource: Argo CD tracks its health")

	overrides := lua.ResourceHealthOverrides(nil)
	script, _, err := lua.VM{}.GetHealthScript(cron)
	require.NoError(t, err)

	const earlier, later = "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"
	states := []struct {
		name   string
		status map[string]any
		// want is Argo CD's health when the argo-cd module carries a CronJob health check
		// (v3.1 and newer); without one (v2.x) Argo CD shows no health for a CronJob at all.
		want health.HealthStatusCode
	}{
		{"never scheduled", map[string]any{}, health.HealthStatusHealthy},
		{"last check passed", map[string]any{"lastScheduleTime": later, "lastSuccessfulTime": later}, health.HealthStatusHealthy},
		{"last check found drift (exit 7)", map[string]any{"lastScheduleTime": later, "lastSuccessfulTime": earlier}, health.HealthStatusDegraded},
		// The limit of Argo CD's check: a CronJob whose runs never succeeded is Healthy.
		{"every check found drift", map[string]any{"lastScheduleTime": later}, health.HealthStatusHealthy},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			obj := cron.DeepCopy()
			require.NoError(t, unstructured.SetNestedField(obj.Object, st.status, "status"))
			h, err := health.GetResourceHealth(obj, overrides)
			require.NoError(t, err)
			if script == "" {
				assert.Nil(t, h, "argo-cd without a CronJob health check shows none")
				return
			}
			require.NotNil(t, h)
			assert.Equal(t, st.want, h.Status, h.Message)
			t.Logf("%s: %s (%s)", st.name, h.Status, h.Message)
		})
	}

	// Either way the failed drift Job is in the app's resource tree under the CronJob, and
	// Argo CD's Job health marks it Degraded with the Job's own reason.
	job := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "orders-drift-29410000", "namespace": "shop"},
		"status": map[string]any{"failed": int64(1), "conditions": []any{map[string]any{
			"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}},
	}}
	h, err := health.GetResourceHealth(job, overrides)
	require.NoError(t, err)
	require.NotNil(t, h)
	assert.Equal(t, health.HealthStatusDegraded, h.Status)
	assert.Contains(t, h.Message, "backoff limit")
}
