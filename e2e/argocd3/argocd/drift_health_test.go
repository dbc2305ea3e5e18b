package argocd

import (
	"context"
	"testing"

	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/gitops-engine/pkg/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/schemahook/schemahook/e2e/stories"
)

// What Argo CD v3.3.9 shows for the drift CronJob (spec.drift.schedule), by its own health
// code: gitops-engine's health package with the argo-cd module's resource customisations
// (resource_customizations/batch/CronJob/health.lua), as the application controller runs
// them. The CronJob is rendered through the real plugin server from the drift-schedule
// parameter. (e2e/argocd asserts v2.14's, which has no CronJob health check.)
func TestDriftCronJobHealthInArgoCD(t *testing.T) {
	cron := renderDriftCronJob(t, startServer(t))
	overrides := lua.ResourceHealthOverrides(nil)
	script, _, err := lua.VM{}.GetHealthScript(cron)
	require.NoError(t, err)
	require.NotEmpty(t, script, "argo-cd %s has a batch/CronJob health check", Version)

	const earlier, later = "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"
	states := []struct {
		name   string
		status map[string]any
		want   health.HealthStatusCode
		msg    string
	}{
		{"never scheduled", map[string]any{}, health.HealthStatusHealthy, "not been scheduled yet"},
		{"last check passed", map[string]any{"lastScheduleTime": later, "lastSuccessfulTime": later},
			health.HealthStatusHealthy, "completed its last execution successfully"},
		{"last check found drift (exit 7)", map[string]any{"lastScheduleTime": later, "lastSuccessfulTime": earlier},
			health.HealthStatusDegraded, "has not completed its last execution successfully"},
		// The limit of Argo CD's check: a CronJob whose runs never succeeded is Healthy.
		{"every check found drift", map[string]any{"lastScheduleTime": later},
			health.HealthStatusHealthy, "never completed succesfully"},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			obj := cron.DeepCopy()
			require.NoError(t, unstructured.SetNestedField(obj.Object, st.status, "status"))
			h, err := health.GetResourceHealth(obj, overrides)
			require.NoError(t, err)
			require.NotNil(t, h, "argo-cd %s shows a health for the CronJob", Version)
			assert.Equal(t, st.want, h.Status, h.Message)
			assert.Contains(t, h.Message, st.msg)
		})
	}
	assertFailedDriftJobDegraded(t, overrides)
}

// renderDriftCronJob renders an app with the drift-schedule parameter through the plugin
// server and returns its CronJob, a normal resource (not a hook), so Argo CD tracks its
// health.
func renderDriftCronJob(t *testing.T, s *Server) *unstructured.Unstructured {
	t.Helper()
	repo := t.TempDir()
	write(t, repo, "db/orders/schemahook.yaml", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: orders\nspec:\n  url: {secretKeyRef: {name: pg, key: url}}\n")
	write(t, repo, "db/orders/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")
	objs, err := s.Render(context.Background(), repo, "db/orders", "orders", "shop",
		Params([]stories.Param{stories.StringParam("drift-schedule", "@hourly")})...)
	require.NoError(t, err)
	var cron *unstructured.Unstructured
	var rendered []string
	for _, o := range objs {
		rendered = append(rendered, o.GetKind()+"/"+o.GetName())
		if o.GetKind() == "CronJob" && o.GetName() == "orders-drift" {
			cron = o
		}
	}
	require.NotNil(t, cron, "rendered: %v", rendered)
	_, hook := cron.GetAnnotations()["argocd.argoproj.io/hook"]
	require.False(t, hook, "a normal resource: Argo CD tracks its health")
	return cron
}

// assertFailedDriftJobDegraded: the failed drift Job is in the app's resource tree under the
// CronJob, and Argo CD's Job health marks it Degraded with the Job's own reason.
func assertFailedDriftJobDegraded(t *testing.T, overrides health.HealthOverride) {
	t.Helper()
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
