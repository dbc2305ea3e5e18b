package controlplane

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func restrictedPod() *corev1.Pod {
	no, yes := false, true
	uid := int64(999)
	size := resource.MustParse("64Mi")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-migrate-x"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid, RunAsNonRoot: &yes,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "migrate", Image: "ghcr.io/schemahook/schemahook:v1", Command: []string{"schemahook", "migrate", "apply"},
				Args: []string{"--dir=/migrations"},
				SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes, AllowPrivilegeEscalation: &no,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "migrations", MountPath: "/migrations", ReadOnly: true},
					{Name: "tmp", MountPath: "/tmp"}, {Name: "dshm", MountPath: "/dev/shm"}},
			}},
			Volumes: []corev1.Volume{
				{Name: "migrations", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
			},
		},
	}
}

// The hook pod's restrictions become the engine's: nothing is left out, and podman's extra
// writable mounts on a read-only root are turned off.
func TestRunArgsCarryThePodRestrictions(t *testing.T) {
	args, err := RunArgs(ContainerRun{Engine: "podman", Name: "c", Pod: restrictedPod(), Image: "img",
		VolumeDirs: map[string]string{"migrations": "/h/m", "tmp": "/h/t"}, EnvFile: "/h/env", TerminationLog: "/h/term"})
	require.NoError(t, err)
	line := strings.Join(args, " ")
	for _, want := range []string{"--user 999:999", "--group-add 999", "--read-only --read-only-tmpfs=false",
		"--cap-drop ALL", "--security-opt no-new-privileges", "-v /h/m:/migrations:ro", "-v /h/t:/tmp:rw",
		"--shm-size 67108864", "-v /h/term:/dev/termination-log:rw", "--env-file /h/env",
		"--entrypoint schemahook img migrate apply --dir=/migrations"} {
		require.Contains(t, line, want)
	}
	require.NotContains(t, line, "--tmpfs", "/dev/shm is the engine's, sized; nothing else is a tmpfs")
}

func TestRunArgsRefuseWhatTheyDoNotTranslate(t *testing.T) {
	root := int64(0)
	pod := restrictedPod()
	pod.Spec.SecurityContext.RunAsUser = &root
	_, err := RunArgs(ContainerRun{Engine: "podman", Pod: pod, Image: "img"})
	require.ErrorContains(t, err, "runAsNonRoot with uid 0")

	pod = restrictedPod()
	pod.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}
	_, err = RunArgs(ContainerRun{Engine: "podman", Pod: pod, Image: "img"})
	require.ErrorContains(t, err, "seccomp profile Localhost")

	pod = restrictedPod()
	pod.Spec.Containers[0].SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Level: "s0"}
	_, err = RunArgs(ContainerRun{Engine: "podman", Pod: pod, Image: "img"})
	require.ErrorContains(t, err, "does not cover")
}
