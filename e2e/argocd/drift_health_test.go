package argocd

import (
	"context"
	"testing"

	"github.com/argoproj/argo-cd/v2/util/lua"
	"github.com/argoproj/gitops-engine/pkg/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/schemahook/schemahook/e2e/stories"
)

// What Argo CD v2.14 shows for the drift CronJob (spec.drift.schedule), by its own health
// code: gitops-engine's health package with the argo-cd module's resource customisations, as
// the application controller runs them. The CronJob is rendered through the real plugin
// server from the drift-schedule parameter. argo-cd v2.14 carries no batch/CronJob health
// check: the CronJob has no health whatever its runs did; the failed drift Job under it is
// Degraded. (e2e/argocd3 asserts v3.3.9's, which has one.)
func TestDriftCronJobHealthInArgoCD(t *testing.T) {
	cron := renderDriftCronJob(t, startServer(t))
	overrides := lua.ResourceHealthOverrides(nil)
	script, _, err := lua.VM{}.GetHealthScript(cron)
	require.NoError(t, err)
	require.Empty(t, script, "argo-cd %s has no batch/CronJob health check", Version)

	const earlier, later = "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"
	for name, status := range map[string]map[string]any{
		"never scheduled":                 {},
		"last check passed":               {"lastScheduleTime": later, "lastSuccessfulTime": later},
		"last check found drift (exit 7)": {"lastScheduleTime": later, "lastSuccessfulTime": earlier},
		"every check found drift":         {"lastScheduleTime": later},
	} {
		t.Run(name, func(t *testing.T) {
			obj := cron.DeepCopy()
			require.NoError(t, unstructured.SetNestedField(obj.Object, status, "status"))
			h, err := health.GetResourceHealth(obj, overrides)
			require.NoError(t, err)
			assert.Nil(t, h, "no health for a CronJob on %s", Version)
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
