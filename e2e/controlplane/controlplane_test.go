package controlplane

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRewritePaths(t *testing.T) {
	mounts := map[string]string{"/migrations": "/w/v/m", "/tmp": "/w/v/tmp", "/dev/termination-log": "/w/t"}
	for in, want := range map[string]string{
		"/migrations":                            "/w/v/m",
		"/migrations/x.sql":                      "/w/v/m/x.sql",
		"--dir=/migrations":                      "--dir=/w/v/m",
		"--termination-log=/dev/termination-log": "--termination-log=/w/t",
		"/tmp":                                   "/w/v/tmp",
		"/tmpfoo":                                "/tmpfoo",
		"migrate":                                "migrate",
		"x=/migrations":                          "x=/migrations", // only flags are split at '='
	} {
		assert.Equal(t, want, rewritePaths(in, mounts), in)
	}
}

func TestExpandVars(t *testing.T) {
	env := map[string]string{"A": "1", "B": "two"}
	assert.Equal(t, "--x=1/two $(C)", expandVars("--x=$(A)/$(B) $(C)", env))
	assert.Equal(t, "plain", expandVars("plain", env))
}

// The control plane admits a restricted-compliant Job, refuses a privileged pod in a
// restricted namespace, and the agent runs the Job's pod with env and volumes resolved from
// the API, so the Job controller fails the Job with the container's exit code and message.
func TestControlPlaneRunsJobsThroughTheAgent(t *testing.T) {
	const ns = "agent"
	ctx, cp, dir := startForTest(t, ns)

	plain := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
	}
	_, err := cp.Client.CoreV1().Pods(ns).Create(ctx, plain, metav1.CreateOptions{})
	require.Error(t, err, "restricted Pod Security refuses a pod that may run as root")
	assert.Contains(t, err.Error(), "violates PodSecurity")

	agentDir, err := os.MkdirTemp(dir, "a")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(agentDir, 0o755))
	agent, err := StartAgent(cp.Client, AgentOptions{Namespace: ns, Binary: "/bin/sh", Dir: agentDir, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(agent.Stop)

	_, err = cp.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "files"}, Data: map[string]string{"greeting": "hello"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cp.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"word": []byte("world")}}, metav1.CreateOptions{})
	require.NoError(t, err)

	job := restrictedJob("say", corev1.Container{
		Name: "say", Image: "any",
		Command: []string{"sh", "-c", `printf '%s %s' "$(cat "$GREETING")" "$WORD" > "$1"; exit 3`, "sh", "/dev/termination-log"},
		Env: []corev1.EnvVar{
			{Name: "GREETING", Value: "/files/greeting"},
			{Name: "WORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "word"}}},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "files", MountPath: "/files", ReadOnly: true}},
	}, corev1.Volume{Name: "files", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "files"}}}})
	job, err = cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)

	var failed *batchv1.JobCondition
	deadline := time.Now().Add(time.Minute)
	for failed == nil {
		if time.Now().After(deadline) {
			cur, _ := cp.Client.BatchV1().Jobs(ns).Get(context.Background(), "say", metav1.GetOptions{})
			pods, _ := cp.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			events, _ := cp.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
			t.Fatalf("the Job did not fail in time: job status %+v\npods %+v\nevents %+v\nlogs in %v", cur.Status, pods.Items, events.Items, cp.Logs())
		}
		time.Sleep(200 * time.Millisecond)
		cur, err := cp.Client.BatchV1().Jobs(ns).Get(context.Background(), "say", metav1.GetOptions{})
		require.NoError(t, err)
		for i, c := range cur.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				t.Fatalf("the Job completed, but its container exits 3")
			}
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				failed = &cur.Status.Conditions[i]
			}
		}
	}
	pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: "batch.kubernetes.io/controller-uid=" + string(job.UID)})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	pod := pods.Items[0]
	assert.Equal(t, NodeName, pod.Spec.NodeName, "the agent binds the pod")
	assert.Equal(t, corev1.PodFailed, pod.Status.Phase)
	term := pod.Status.ContainerStatuses[0].State.Terminated
	require.NotNil(t, term)
	assert.EqualValues(t, 3, term.ExitCode)
	assert.Equal(t, "hello world", strings.TrimSpace(term.Message), "message from the termination log")
}

// A Job deleted in the foreground (as gitops-engine deletes hooks) while its pod still waits
// for a missing Secret goes away: the agent stops the pod as kubelet would and the garbage
// collector then removes the Job.
func TestForegroundDeletionOfAWaitingJob(t *testing.T) {
	const ns = "reap"
	ctx, cp, dir := startForTest(t, ns)
	agent, err := StartAgent(cp.Client, AgentOptions{Namespace: ns, Binary: "/bin/sh", Dir: dir, Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(agent.Stop)

	job := restrictedJob("waits", corev1.Container{
		Name: "c", Image: "any", Command: []string{"sh", "-c", "exit 0"},
		Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "k"}}}},
	})
	_, err = cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	require.NoError(t, err)
	// Wait until the agent has bound the pod: from then on only the agent can delete it.
	for {
		pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		if len(pods.Items) == 1 && pods.Items[0].Spec.NodeName == NodeName {
			break
		}
		require.NoError(t, ctx.Err(), "the agent did not bind the pod")
		time.Sleep(200 * time.Millisecond)
	}
	fg := metav1.DeletePropagationForeground
	require.NoError(t, cp.Client.BatchV1().Jobs(ns).Delete(ctx, "waits", metav1.DeleteOptions{PropagationPolicy: &fg}))
	for {
		_, err := cp.Client.BatchV1().Jobs(ns).Get(ctx, "waits", metav1.GetOptions{})
		if err != nil {
			require.True(t, apierrors.IsNotFound(err), "get job: %v", err)
			break
		}
		require.NoError(t, ctx.Err(), "the Job was never deleted")
		time.Sleep(200 * time.Millisecond)
	}
	pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pods.Items, "the pod went with its Job")
}

// startForTest starts a control plane for one test, with a deadline of 3 minutes and the
// restricted namespace ns, in a work directory that others (the agent's pods) may enter.
func startForTest(t *testing.T, ns string) (context.Context, *ControlPlane, string) {
	t.Helper()
	bins := RequireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	dir, err := os.MkdirTemp("", "cpt")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	cp, err := Start(ctx, dir, bins)
	require.NoError(t, err)
	t.Cleanup(cp.Stop)
	require.NoError(t, cp.CreateRestrictedNamespace(ctx, ns))
	return ctx, cp, dir
}

// restrictedJob is a Job that runs c once (no retries) with these volumes, compliant with the
// restricted Pod Security level.
func restrictedJob(name string, c corev1.Container, volumes ...corev1.Volume) *batchv1.Job {
	c.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptrTo(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{BackoffLimit: ptrTo(int32(0)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptrTo(true), RunAsUser: ptrTo(int64(65534)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Volumes:    volumes,
			Containers: []corev1.Container{c},
		}}},
	}
}
