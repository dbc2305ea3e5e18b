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

// The drift CronJob (spec.drift.schedule) as Argo CD shows it, by its own health code:
// gitops-engine's health package with the argo-cd module's resource customisations, as the
// application controller runs them. TestDriftCronJobHealthInArgoCD (version_test.go) asserts
// each version's answer.

// driftCronJobHealthScript renders the drift CronJob and returns it with the Lua health
// check the argo-cd module carries for batch/CronJob ("" when it has none).
func driftCronJobHealthScript(t *testing.T) (*unstructured.Unstructured, string) {
	t.Helper()
	cron := renderDriftCronJob(t, startServer(t))
	script, _, err := lua.VM{}.GetHealthScript(cron)
	require.NoError(t, err)
	return cron, script
}

// cronJobHealth is Argo CD's health of the CronJob with this status.
func cronJobHealth(t *testing.T, cron *unstructured.Unstructured, status map[string]any) *health.HealthStatus {
	t.Helper()
	obj := cron.DeepCopy()
	require.NoError(t, unstructured.SetNestedField(obj.Object, status, "status"))
	h, err := health.GetResourceHealth(obj, lua.ResourceHealthOverrides(nil))
	require.NoError(t, err)
	return h
}

// The CronJob's statuses after its runs: at 10:00 and at 11:00.
const earlier, later = "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"

// renderDriftCronJob renders an app with the drift-schedule parameter through the plugin
// server and returns its CronJob, a normal resource (not a hook), so Argo CD tracks its
// health.
func renderDriftCronJob(t *testing.T, s *Server) *unstructured.Unstructured {
	t.Helper()
	repo := t.TempDir()
	stories.WriteFile(t, repo, "db/orders/schemahook.yaml", "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata:\n  name: orders\nspec:\n  url: {secretKeyRef: {name: pg, key: url}}\n")
	stories.WriteFile(t, repo, "db/orders/migrations/20240101120000_create.sql", "CREATE TABLE t (id int);\n")
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
func assertFailedDriftJobDegraded(t *testing.T) {
	t.Helper()
	job := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "orders-drift-29410000", "namespace": "shop"},
		"status": map[string]any{"failed": int64(1), "conditions": []any{map[string]any{
			"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}},
	}}
	h, err := health.GetResourceHealth(job, lua.ResourceHealthOverrides(nil))
	require.NoError(t, err)
	require.NotNil(t, h)
	assert.Equal(t, health.HealthStatusDegraded, h.Status)
	assert.Contains(t, h.Message, "backoff limit")
}
