package controlplane

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Engine is the container engine the machine has: "docker" when a daemon answers, else
// "podman" when installed; "" when neither.
func Engine() string {
	if exec.Command("docker", "info").Run() == nil {
		return "docker"
	}
	if _, err := exec.LookPath("podman"); err == nil {
		return "podman"
	}
	return ""
}

// ContainerRun is a pod's one container, resolved, as a container engine should run it.
type ContainerRun struct {
	Engine string // podman or docker
	Name   string // the container's name for the engine
	Detach bool   // run in the background (the caller removes it)
	Pod    *corev1.Pod
	Image  string
	// VolumeDirs holds each volume the container mounts (name → host directory), except
	// Memory emptyDirs, which become tmpfs mounts.
	VolumeDirs map[string]string
	// EnvFile holds the container's environment, one NAME=value a line (values may be
	// secret: a file keeps them off command lines and out of logs).
	EnvFile string
	// TerminationLog is the host file mounted at the container's terminationMessagePath.
	TerminationLog string
}

// RunArgs translates the container into `run` arguments, as kubelet would run it: its
// user and groups, read-only root, capabilities, privilege escalation and seccomp profile,
// its volumes (Memory emptyDirs as sized tmpfs, /dev/shm included), command and args. It
// fails on any security setting it does not translate, so a test never silently runs a
// container with less confinement than its pod asks for. The container shares the host's
// network: the e2e Postgres servers listen on the loopback. Resource limits are not applied
// (cgroup limits are not available to nested runtimes on every machine).
func RunArgs(r ContainerRun) ([]string, error) {
	pod := r.Pod
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.InitContainers) != 0 {
		return nil, errors.New("run args: exactly one container and no init containers")
	}
	c := pod.Spec.Containers[0]
	args := []string{"run", "--rm", "--name", r.Name, "--network", "host", "--hostname", pod.Name}
	if r.Detach {
		args = append(args, "--detach")
	}
	if r.Engine == "podman" {
		args = append(args, "--pull", "never")
	}

	uid, gid := runAs(pod, c)
	nonRoot := false
	var groups []int64
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.SELinuxOptions != nil || psc.WindowsOptions != nil || psc.AppArmorProfile != nil || psc.Sysctls != nil {
			return nil, errors.New("run args: pod securityContext has settings the translation does not cover")
		}
		nonRoot = psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
		if psc.FSGroup != nil {
			groups = append(groups, *psc.FSGroup)
		}
		groups = append(groups, psc.SupplementalGroups...)
		if err := seccomp(psc.SeccompProfile, &args); err != nil {
			return nil, err
		}
	}
	readOnly, privileged := false, false
	if sc := c.SecurityContext; sc != nil {
		if sc.SELinuxOptions != nil || sc.WindowsOptions != nil || sc.AppArmorProfile != nil || sc.ProcMount != nil {
			return nil, errors.New("run args: container securityContext has settings the translation does not cover")
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		readOnly = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		privileged = sc.Privileged != nil && *sc.Privileged
		if sc.Capabilities != nil {
			for _, cap := range sc.Capabilities.Drop {
				args = append(args, "--cap-drop", string(cap))
			}
			for _, cap := range sc.Capabilities.Add {
				args = append(args, "--cap-add", string(cap))
			}
		}
		if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			args = append(args, "--security-opt", "no-new-privileges")
		}
		if err := seccomp(sc.SeccompProfile, &args); err != nil {
			return nil, err
		}
	}
	if nonRoot && uid == 0 {
		return nil, errors.New("run args: runAsNonRoot with uid 0 (kubelet refuses to start it)")
	}
	args = append(args, "--user", fmt.Sprintf("%d:%d", uid, gid))
	for _, g := range groups {
		args = append(args, "--group-add", strconv.FormatInt(g, 10))
	}
	if privileged {
		args = append(args, "--privileged")
	}
	if readOnly {
		args = append(args, "--read-only")
		if r.Engine == "podman" {
			// podman adds writable /tmp, /var/tmp and /run to a read-only root; kubelet does not.
			args = append(args, "--read-only-tmpfs=false")
		}
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	shm := false
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("run args: mount %s: no volume %q", m.MountPath, m.Name)
		}
		if v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory {
			opts := "rw,mode=1777"
			if v.EmptyDir.SizeLimit != nil {
				opts += ",size=" + strconv.FormatInt(v.EmptyDir.SizeLimit.Value(), 10)
			}
			if filepath.Clean(m.MountPath) == "/dev/shm" {
				// The engine mounts its own /dev/shm; the pod's replaces it, as in kubelet.
				shm = true
				if v.EmptyDir.SizeLimit != nil {
					args = append(args, "--shm-size", strconv.FormatInt(v.EmptyDir.SizeLimit.Value(), 10))
				}
				continue
			}
			args = append(args, "--tmpfs", m.MountPath+":"+opts)
			continue
		}
		dir, ok := r.VolumeDirs[m.Name]
		if !ok {
			return nil, fmt.Errorf("run args: volume %s has no host directory", m.Name)
		}
		if m.SubPath != "" {
			dir = filepath.Join(dir, m.SubPath)
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		args = append(args, "-v", dir+":"+m.MountPath+":"+mode)
	}
	if !shm {
		args = append(args, "--shm-size", "64m") // kubelet's (the container runtime's) default
	}
	if r.TerminationLog != "" {
		p := c.TerminationMessagePath
		if p == "" {
			p = corev1.TerminationMessagePathDefault
		}
		args = append(args, "-v", r.TerminationLog+":"+p+":rw")
	}
	if r.EnvFile != "" {
		args = append(args, "--env-file", r.EnvFile)
	}
	if c.WorkingDir != "" {
		args = append(args, "--workdir", c.WorkingDir)
	}
	// command replaces the image's entrypoint, args its CMD, as in Kubernetes.
	if len(c.Command) > 0 {
		args = append(args, "--entrypoint", c.Command[0], r.Image)
		args = append(args, c.Command[1:]...)
	} else {
		args = append(args, r.Image)
	}
	return append(args, c.Args...), nil
}

func seccomp(p *corev1.SeccompProfile, args *[]string) error {
	if p == nil {
		return nil
	}
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return nil // the engine's default profile
	case corev1.SeccompProfileTypeUnconfined:
		*args = append(*args, "--security-opt", "seccomp=unconfined")
		return nil
	}
	return fmt.Errorf("run args: seccomp profile %s not translated", p.Type)
}

// WriteEnvFile writes env (NAME=value entries) for --env-file, readable by root only.
func WriteEnvFile(path string, env []string) error {
	var b strings.Builder
	for _, kv := range env {
		if strings.ContainsAny(kv, "\n") {
			name, _, _ := strings.Cut(kv, "=")
			return fmt.Errorf("env %s: a value with a newline cannot go through an env file", name)
		}
		b.WriteString(kv + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	return nil
}
