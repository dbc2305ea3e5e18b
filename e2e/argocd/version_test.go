package argocd

import (
	"testing"

	"github.com/argoproj/argo-cd/v2/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of what differs from Argo CD v3 (e2e/argocd3/argocd/version_test.go).

// v2's default resource tracking is the label: the repo-server's code sets
// app.kubernetes.io/instance on every rendered object, the hook Job's too, and no tracking
// annotation.
func TestRenderTracksByLabel(t *testing.T) {
	for _, o := range renderOrdersApp(t) {
		require.Equal(t, "orders-app", o.GetLabels()[AppLabelKey], "%s/%s", o.GetKind(), o.GetName())
		require.NotContains(t, o.GetAnnotations(), common.AnnotationKeyAppInstance, "%s/%s", o.GetKind(), o.GetName())
		require.Equal(t, "orders-app", Code.TrackedApp(o))
	}
}

// What Argo CD v2.14 shows for the drift CronJob, rendered through the real plugin server
// from the drift-schedule parameter. argo-cd v2.14 carries no batch/CronJob health check:
// the CronJob has no health whatever its runs did; the failed drift Job under it is
// Degraded. (e2e/argocd3 asserts v3.3.9's, which has one.)
func TestDriftCronJobHealthInArgoCD(t *testing.T) {
	cron, script := driftCronJobHealthScript(t)
	require.Empty(t, script, "argo-cd %s has no batch/CronJob health check", Version)
	for name, status := range map[string]map[string]any{
		"never scheduled":                 {},
		"last check passed":               {"lastScheduleTime": later, "lastSuccessfulTime": later},
		"last check found drift (exit 7)": {"lastScheduleTime": later, "lastSuccessfulTime": earlier},
		"every check found drift":         {"lastScheduleTime": later},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Nil(t, cronJobHealth(t, cron, status), "no health for a CronJob on %s", Version)
		})
	}
	assertFailedDriftJobDegraded(t)
}
