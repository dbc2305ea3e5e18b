package argocd

import (
	"testing"

	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/gitops-engine/pkg/health"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of what differs from Argo CD v2 (e2e/argocd/version_test.go).

// What Argo CD v3.3.9 shows for the drift CronJob, rendered through the real plugin server
// from the drift-schedule parameter: its own check
// (resource_customizations/batch/CronJob/health.lua). (e2e/argocd asserts v2.14's, which has
// no CronJob health check.)
func TestDriftCronJobHealthInArgoCD(t *testing.T) {
	cron, script := driftCronJobHealthScript(t)
	require.NotEmpty(t, script, "argo-cd %s has a batch/CronJob health check", Version)
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
			h := cronJobHealth(t, cron, st.status)
			require.NotNil(t, h, "argo-cd %s shows a health for the CronJob", Version)
			assert.Equal(t, st.want, h.Status, h.Message)
			assert.Contains(t, h.Message, st.msg)
		})
	}
	assertFailedDriftJobDegraded(t)
}

// v3's default resource tracking is the annotation: the repo-server's code sets
// argocd.argoproj.io/tracking-id to "<app>:<group>/<kind>:<namespace>/<name>" on every
// rendered object, the hook Job's too, with the destination namespace on objects that name
// none, and sets no instance label.
func TestRenderTracksByAnnotation(t *testing.T) {
	ids := map[string]string{}
	for _, o := range renderOrdersApp(t) {
		require.NotContains(t, o.GetLabels(), AppLabelKey, "%s/%s", o.GetKind(), o.GetName())
		ids[o.GetKind()+"/"+o.GetName()] = o.GetAnnotations()[common.AnnotationKeyAppInstance]
		require.Equal(t, "orders-app", Code.TrackedApp(o))
	}
	require.Equal(t, "orders-app:/ConfigMap:shop/orders-schema", ids["ConfigMap/orders-schema"])
	require.Equal(t, "orders-app:batch/Job:shop/orders-migrate", ids["Job/orders-migrate"])
}
