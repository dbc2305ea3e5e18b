package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// NodeName is the node the agent binds pods to.
const NodeName = "e2e-agent"

// defaultImageUID is the uid the schemahook image runs as (its USER) when the pod names none.
const defaultImageUID = 999

// AgentOptions configure the node agent.
type AgentOptions struct {
	// Namespace whose pods the agent runs.
	Namespace string
	// Binary replaces the container image: every container runs this program, unless Images
	// names the pod's image.
	Binary string
	// Images maps a pod image to a local image that Engine (podman or docker) runs instead,
	// with the pod's securityContext, volumes and env (see RunArgs): the image itself, not
	// Binary, runs those pods.
	Images map[string]string
	Engine string
	// ImageEnv is the environment the image would bring (PATH and the like), before the pod's env.
	ImageEnv []string
	// Dir holds each pod's materialised volumes and logs; it must be reachable by the pod's uid.
	Dir string
	// Logf, when set, receives what the agent does and every error it meets.
	Logf func(format string, args ...any)
}

// Agent plays kubelet for one namespace: it binds each Pending pod to NodeName, runs its one
// container as a local process (image → Binary, volumes → directories, mount paths rewritten)
// and writes the pod status back so the Job controller completes or fails the Job.
type Agent struct {
	client kubernetes.Interface
	opts   AgentOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	started    map[string]bool
	procs      map[string]*exec.Cmd
	containers map[string]string // pod UID → container name, for pods run by Engine
	ran        []string          // pods whose container ended, in order
}

// StartAgent starts the agent; Stop ends it and every process it started.
func StartAgent(client kubernetes.Interface, opts AgentOptions) (*Agent, error) {
	if opts.Namespace == "" || opts.Binary == "" || opts.Dir == "" {
		return nil, errors.New("start agent: Namespace, Binary and Dir are required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	if len(opts.Images) > 0 && opts.Engine == "" {
		cancel()
		return nil, errors.New("start agent: Images needs an Engine")
	}
	a := &Agent{client: client, opts: opts, cancel: cancel, started: map[string]bool{}, procs: map[string]*exec.Cmd{},
		containers: map[string]string{}}
	Go(&a.wg, func() { a.loop(ctx) })
	Go(&a.wg, func() { a.reapLoop(ctx) })
	return a, nil
}

// Stop kills every container process (their process groups) and waits for the agent to end.
func (a *Agent) Stop() {
	a.cancel()
	a.mu.Lock()
	for uid, cmd := range a.procs {
		if cmd.Process != nil {
			killGroup(cmd.Process.Pid, syscall.SIGKILL)
		}
		a.removeContainer(uid)
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// loop watches the namespace's unbound pods and starts each once; it re-lists after every
// watch end, so no pod is missed.
func (a *Agent) loop(ctx context.Context) {
	sel := fields.OneTermEqualSelector("spec.nodeName", "").String()
	a.untilDone(ctx, func() error {
		list, err := a.client.CoreV1().Pods(a.opts.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		for i := range list.Items {
			a.handle(ctx, &list.Items[i])
		}
		w, err := a.client.CoreV1().Pods(a.opts.Namespace).Watch(ctx, metav1.ListOptions{
			FieldSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			return fmt.Errorf("watch pods: %w", err)
		}
		HandleEvents(w, func(pod *corev1.Pod) { a.handle(ctx, pod) })
		return nil
	})
}

// HandleEvents calls handle with each object of type T that w reports added or modified,
// until the watch ends; then it stops w.
func HandleEvents[T any](w watch.Interface, handle func(T)) {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type != watch.Added && ev.Type != watch.Modified {
			continue
		}
		if obj, ok := ev.Object.(T); ok {
			handle(obj)
		}
	}
}

// untilDone runs step again and again until ctx ends, a second after a step that failed
// (its error logged).
func (a *Agent) untilDone(ctx context.Context, step func() error) {
	for ctx.Err() == nil {
		if err := step(); err != nil {
			a.logf("%v", err)
			sleepCtx(ctx, time.Second)
		}
	}
}

// reapLoop does kubelet's part of deleting a pod bound to the agent's node: the API server
// only marks it (graceful deletion); the agent stops its container, then removes it for good.
// Without this, a Job deleted in the foreground while its pod runs would never go away.
func (a *Agent) reapLoop(ctx context.Context) {
	sel := fields.OneTermEqualSelector("spec.nodeName", NodeName).String()
	a.untilDone(ctx, func() error {
		w, err := a.client.CoreV1().Pods(a.opts.Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return fmt.Errorf("watch bound pods: %w", err)
		}
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || pod.DeletionTimestamp == nil {
				continue
			}
			a.mu.Lock()
			if cmd := a.procs[string(pod.UID)]; cmd != nil && cmd.Process != nil {
				killGroup(cmd.Process.Pid, syscall.SIGKILL)
			}
			a.removeContainer(string(pod.UID))
			a.mu.Unlock()
			err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
				GracePeriodSeconds: ptrTo(int64(0)),
				Preconditions:      &metav1.Preconditions{UID: &pod.UID},
			})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				a.logf("pod %s: delete: %v", pod.Name, err)
			}
		}
		w.Stop()
		return nil
	})
}

func (a *Agent) handle(ctx context.Context, pod *corev1.Pod) {
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodPending {
		return
	}
	a.mu.Lock()
	if a.started[string(pod.UID)] {
		a.mu.Unlock()
		return
	}
	a.started[string(pod.UID)] = true
	a.mu.Unlock()
	Go(&a.wg, func() { a.runPod(ctx, pod) })
}

// runPod binds the pod, runs its container and reports the outcome in the pod status.
func (a *Agent) runPod(ctx context.Context, pod *corev1.Pod) {
	pods := a.client.CoreV1().Pods(pod.Namespace)
	err := pods.Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: NodeName},
	}, metav1.CreateOptions{})
	if err != nil {
		a.logf("pod %s: bind: %v", pod.Name, err)
		return // deleted or bound meanwhile: not ours to run
	}
	a.logf("pod %s: bound to %s", pod.Name, NodeName)
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.InitContainers) != 0 {
		a.finish(ctx, pod, -1, "agent runs pods with exactly one container and no init containers", "Unsupported")
		return
	}
	podDir, err := os.MkdirTemp(a.opts.Dir, "p") // short: the dev Postgres socket lives below
	if err != nil {
		a.finish(ctx, pod, -1, fmt.Sprintf("pod dir: %v", err), "AgentError")
		return
	}
	defer os.RemoveAll(podDir)
	if err := os.Chmod(podDir, 0o755); err != nil {
		a.finish(ctx, pod, -1, fmt.Sprintf("pod dir: %v", err), "AgentError")
		return
	}

	// Like kubelet, wait while a referenced Secret or ConfigMap is missing
	// (CreateContainerConfigError), e.g. until a SealedSecret has been unsealed.
	var spec *containerSpec
	waiting := false
	for {
		spec, err = a.prepare(ctx, pod, podDir)
		if err == nil {
			break
		}
		if !apierrors.IsNotFound(err) {
			a.finish(ctx, pod, -1, err.Error(), "CreateContainerConfigError")
			return
		}
		if !waiting {
			a.logf("pod %s: waiting: %v", pod.Name, err)
			waiting = true
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return
		}
		if cur, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{}); gerr != nil || cur.DeletionTimestamp != nil {
			return // reapLoop finishes the deletion
		}
	}

	a.setRunning(ctx, pod)
	exitCode, output, runErr := a.run(ctx, pod, spec)
	if ctx.Err() != nil {
		return
	}
	if runErr != nil {
		a.finish(ctx, pod, -1, runErr.Error(), "StartError")
		return
	}
	message := readTerminationMessage(spec.terminationLog)
	c := pod.Spec.Containers[0]
	if message == "" && exitCode != 0 && c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
		message = tailForMessage(output)
	}
	reason := "Completed"
	if exitCode != 0 {
		reason = "Error"
	}
	a.finish(ctx, pod, exitCode, message, reason)
}

// containerSpec is a container translated to a local process.
type containerSpec struct {
	argv           []string
	env            []string
	dir            string
	uid, gid       uint32
	terminationLog string
	// For a run in the image: the pod's own env, paths not rewritten, and the volumes'
	// directories by name.
	podEnv     []string
	volumeDirs map[string]string
}

// prepare resolves env and volumes from the API and rewrites the container's paths into podDir.
func (a *Agent) prepare(ctx context.Context, pod *corev1.Pod, podDir string) (*containerSpec, error) {
	c := pod.Spec.Containers[0]
	uid, gid := runAs(pod, c)

	mounts := map[string]string{} // mount path in the pod → local path
	made := map[string]bool{}     // volumes already materialised
	volumeDirs := map[string]string{}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("mount %s: no volume %q", m.MountPath, m.Name)
		}
		local := filepath.Join(podDir, "v", v.Name)
		if !made[v.Name] {
			if err := a.materialise(ctx, pod.Namespace, v, local, uid, gid); err != nil {
				return nil, err
			}
			made[v.Name] = true
			volumeDirs[v.Name] = local
		}
		if m.SubPath != "" {
			local = filepath.Join(local, m.SubPath)
		}
		mounts[path.Clean(m.MountPath)] = local
	}

	termPath := c.TerminationMessagePath
	if termPath == "" {
		termPath = corev1.TerminationMessagePathDefault
	}
	termLog := filepath.Join(podDir, "termination-log")
	if err := os.WriteFile(termLog, nil, 0o666); err != nil {
		return nil, fmt.Errorf("termination log: %w", err)
	}
	if err := os.Chown(termLog, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("termination log: %w", err)
	}
	mounts[termPath] = termLog

	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	raw := map[string]string{} // the pod's env as the image sees it: no paths rewritten
	var podOrder []string
	setRaw := func(k, v string) {
		if _, ok := raw[k]; !ok {
			podOrder = append(podOrder, k)
		}
		raw[k] = v
	}
	for _, kv := range a.opts.ImageEnv {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	set("HOSTNAME", pod.Name)
	// The pod's /tmp is an emptyDir when it mounts one; otherwise a private dir stands in.
	tmp, ok := mounts["/tmp"]
	if !ok {
		tmp = filepath.Join(podDir, "tmp")
		if err := mkdirOwned(tmp, uid, gid); err != nil {
			return nil, err
		}
	}
	set("TMPDIR", tmp)
	set("HOME", tmp)

	for _, from := range c.EnvFrom {
		data, err := a.envFromData(ctx, pod.Namespace, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.Prefix+k, data[k])
			setRaw(from.Prefix+k, data[k])
		}
	}
	for _, e := range c.Env {
		v, err := a.envValue(ctx, pod, e, env)
		if err != nil {
			return nil, err
		}
		set(e.Name, rewritePaths(v, mounts))
		if e.ValueFrom == nil {
			v = expandVars(e.Value, raw)
		}
		setRaw(e.Name, v)
	}
	var podEnv []string
	for _, k := range podOrder {
		podEnv = append(podEnv, k+"="+raw[k])
	}
	envList := make([]string, 0, len(order))
	for _, k := range order {
		envList = append(envList, k+"="+env[k])
	}

	argv := append(append([]string{}, c.Command...), c.Args...)
	for i := range argv {
		argv[i] = rewritePaths(expandVars(argv[i], env), mounts)
	}
	if len(c.Command) == 0 {
		argv = append([]string{a.opts.Binary}, argv...) // the image's entrypoint
	} else {
		argv[0] = a.opts.Binary
	}
	dir := tmp
	if c.WorkingDir != "" {
		dir = rewritePaths(c.WorkingDir, mounts)
	}
	return &containerSpec{argv: argv, env: envList, dir: dir, uid: uid, gid: gid, terminationLog: termLog,
		podEnv: podEnv, volumeDirs: volumeDirs}, nil
}

// runAs is the uid/gid the container runs as: its securityContext, the pod's, else the image's user.
func runAs(pod *corev1.Pod, c corev1.Container) (uint32, uint32) {
	uid, gid := int64(defaultImageUID), int64(defaultImageUID)
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			uid = *psc.RunAsUser
		}
		if psc.RunAsGroup != nil {
			gid = *psc.RunAsGroup
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = *sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = *sc.RunAsGroup
		}
	}
	return uint32(uid), uint32(gid)
}

// materialise makes a volume a local directory: ConfigMaps and Secrets as files, emptyDirs
// and projected service account tokens as directories the container's uid owns.
func (a *Agent) materialise(ctx context.Context, ns string, v corev1.Volume, local string, uid, gid uint32) error {
	if err := mkdirOwned(local, uid, gid); err != nil {
		return err
	}
	switch {
	case v.EmptyDir != nil:
		return nil
	case v.ConfigMap != nil:
		return a.writeConfigMap(ctx, ns, v.Name, v.ConfigMap.Name, v.ConfigMap.Items, local)
	case v.Secret != nil:
		return a.writeSecret(ctx, ns, v.Name, v.Secret.SecretName, v.Secret.Items, local)
	case v.Projected != nil:
		// The service account volume (token, kube-root-ca.crt, namespace) stays empty: no
		// pod here talks to the API, and no controller publishes the CA ConfigMap.
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return nil
			}
		}
		for _, src := range v.Projected.Sources {
			var err error
			switch {
			case src.ConfigMap != nil:
				err = a.writeConfigMap(ctx, ns, v.Name, src.ConfigMap.Name, src.ConfigMap.Items, local)
			case src.Secret != nil:
				err = a.writeSecret(ctx, ns, v.Name, src.Secret.Name, src.Secret.Items, local)
			}
			if err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("volume %s: only configMap, secret, emptyDir and projected volumes are supported", v.Name)
	}
}

func (a *Agent) writeConfigMap(ctx context.Context, ns, volume, name string, items []corev1.KeyToPath, dir string) error {
	cm, err := a.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("volume %s: configmap %s: %w", volume, name, err)
	}
	data := map[string][]byte{}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		data[k] = b
	}
	return writeItems(dir, data, items, volume)
}

func (a *Agent) writeSecret(ctx context.Context, ns, volume, name string, items []corev1.KeyToPath, dir string) error {
	s, err := a.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("volume %s: secret %s: %w", volume, name, err)
	}
	return writeItems(dir, s.Data, items, volume)
}

func writeItems(dir string, data map[string][]byte, items []corev1.KeyToPath, volume string) error {
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("volume %s: no key %q", volume, it.Key)
		}
		p := filepath.Join(dir, it.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("volume %s: %w", volume, err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("volume %s: %w", volume, err)
		}
	}
	return nil
}

func mkdirOwned(dir string, uid, gid uint32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dir, err)
	}
	return nil
}

func (a *Agent) envFromData(ctx context.Context, ns string, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := a.client.CoreV1().ConfigMaps(ns).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		return refData("envFrom configmap "+from.ConfigMapRef.Name, from.ConfigMapRef.Optional, err, func() map[string]string { return cm.Data })
	case from.SecretRef != nil:
		s, err := a.client.CoreV1().Secrets(ns).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		return refData("envFrom secret "+from.SecretRef.Name, from.SecretRef.Optional, err, func() map[string][]byte { return s.Data })
	}
	return map[string]string{}, nil
}

// refData is the data of a Secret or ConfigMap an env refers to (what, in an error), read
// with err and whose data is read by data once err is nil; nil when an optional one is missing.
func refData[V string | []byte](what string, optional *bool, err error, data func() map[string]V) (map[string]string, error) {
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := map[string]string{}
	for k, v := range data() {
		out[k] = string(v)
	}
	return out, nil
}

// keyValue is an env variable's value from a key of a Secret or ConfigMap (kind) read with
// err: "" when an optional one is missing.
func keyValue[V string | []byte](env, kind, name, key string, optional *bool, err error, data func() map[string]V) (string, error) {
	d, err := refData(fmt.Sprintf("env %s: %s %s", env, kind, name), optional, err, data)
	if err != nil {
		return "", err
	}
	if d == nil {
		return "", nil
	}
	v, ok := d[key]
	if !ok {
		return "", fmt.Errorf("env %s: %s %s has no key %q", env, kind, name, key)
	}
	return v, nil
}

func (a *Agent) envValue(ctx context.Context, pod *corev1.Pod, e corev1.EnvVar, env map[string]string) (string, error) {
	if e.ValueFrom == nil {
		return expandVars(e.Value, env), nil
	}
	vf := e.ValueFrom
	switch {
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		s, err := a.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		return keyValue(e.Name, "secret", ref.Name, ref.Key, ref.Optional, err, func() map[string][]byte { return s.Data })
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		cm, err := a.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		return keyValue(e.Name, "configmap", ref.Name, ref.Key, ref.Optional, err, func() map[string]string { return cm.Data })
	case vf.FieldRef != nil:
		switch vf.FieldRef.FieldPath {
		case "metadata.name":
			return pod.Name, nil
		case "metadata.namespace":
			return pod.Namespace, nil
		case "metadata.uid":
			return string(pod.UID), nil
		case "spec.nodeName":
			return NodeName, nil
		case "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, nil
		}
		return "", fmt.Errorf("env %s: fieldRef %s not supported by the agent", e.Name, vf.FieldRef.FieldPath)
	}
	return "", fmt.Errorf("env %s: valueFrom kind not supported by the agent", e.Name)
}

// expandVars replaces $(NAME) with earlier env values, as kubelet does; unknown ones stay.
func expandVars(s string, env map[string]string) string {
	if !strings.Contains(s, "$(") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "$(")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := s[i+2 : i+j]
		b.WriteString(s[:i])
		if v, ok := env[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

// rewritePaths maps pod paths onto local ones where a value names a mount path: the whole
// value, or the part after a flag's '=', followed by nothing or a '/'.
func rewritePaths(s string, mounts map[string]string) string {
	keys := make([]string, 0, len(mounts))
	for k := range mounts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	prefix, value := "", s
	if strings.HasPrefix(s, "-") {
		if k, v, ok := strings.Cut(s, "="); ok {
			prefix, value = k+"=", v
		}
	}
	for _, m := range keys {
		if value == m || strings.HasPrefix(value, m+"/") {
			return prefix + mounts[m] + value[len(m):]
		}
	}
	return s
}

// run starts the process as the container's user in its own process group and waits; or,
// when Images names the pod's image, runs the container in that image with Engine.
func (a *Agent) run(ctx context.Context, pod *corev1.Pod, spec *containerSpec) (int, []byte, error) {
	var out bytes.Buffer
	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	cmd.Env = spec.env
	cmd.Dir = spec.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: spec.uid, Gid: spec.gid},
	}
	if local, ok := a.opts.Images[pod.Spec.Containers[0].Image]; ok {
		podDir := filepath.Dir(spec.terminationLog)
		envFile := filepath.Join(podDir, "env")
		if err := WriteEnvFile(envFile, spec.podEnv); err != nil {
			return 0, nil, err
		}
		name := "e2e-" + string(pod.UID)
		args, err := RunArgs(ContainerRun{Engine: a.opts.Engine, Name: name, Pod: pod, Image: local,
			VolumeDirs: spec.volumeDirs, EnvFile: envFile, TerminationLog: spec.terminationLog})
		if err != nil {
			return 0, nil, err
		}
		a.logf("pod %s: runs in image %s (%s)", pod.Name, local, a.opts.Engine)
		cmd = exec.Command(a.opts.Engine, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		a.mu.Lock()
		a.containers[string(pod.UID)] = name
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.removeContainer(string(pod.UID))
			a.mu.Unlock()
		}()
	}
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start %s: %w", spec.argv[0], err)
	}
	a.mu.Lock()
	a.procs[string(pod.UID)] = cmd
	a.mu.Unlock()
	err := cmd.Wait()
	a.mu.Lock()
	delete(a.procs, string(pod.UID))
	a.mu.Unlock()
	// Nothing the container started may outlive it (its dev Postgres, for one).
	killGroup(cmd.Process.Pid, syscall.SIGKILL)
	logPath := filepath.Join(a.opts.Dir, pod.Name+".log")
	if err := os.WriteFile(logPath, out.Bytes(), 0o644); err == nil {
		a.mu.Lock()
		a.ran = append(a.ran, pod.Name)
		a.mu.Unlock()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), out.Bytes(), nil
	}
	if err != nil {
		return 0, out.Bytes(), fmt.Errorf("wait %s: %w", spec.argv[0], err)
	}
	return 0, out.Bytes(), nil
}

// removeContainer stops and removes the pod's container, if Engine runs it; a.mu is held.
// Killing the engine's client would leave the container running.
func (a *Agent) removeContainer(uid string) {
	if name, ok := a.containers[uid]; ok {
		_ = exec.Command(a.opts.Engine, "rm", "-f", name).Run()
		delete(a.containers, uid)
	}
}

// Pods names the pods whose container has ended, oldest first.
func (a *Agent) Pods() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ran...)
}

// PodLog returns what a pod's container printed, once it has ended.
func (a *Agent) PodLog(podName string) (string, error) {
	b, err := os.ReadFile(filepath.Join(a.opts.Dir, podName+".log"))
	if err != nil {
		return "", fmt.Errorf("log of pod %s: %w", podName, err)
	}
	return string(b), nil
}

func readTerminationMessage(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	if len(b) > 4096 { // kubelet's limit
		b = b[:4096]
	}
	return string(b)
}

// tailForMessage is kubelet's FallbackToLogsOnError: the last 80 lines, at most 2048 bytes.
func tailForMessage(out []byte) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	s := strings.Join(lines, "\n")
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	return s
}

func (a *Agent) setRunning(ctx context.Context, pod *corev1.Pod) {
	now := metav1.Now()
	err := a.updateStatus(ctx, pod, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodRunning
		st.StartTime = &now
		st.ContainerStatuses = []corev1.ContainerStatus{{
			Name:    pod.Spec.Containers[0].Name,
			Image:   pod.Spec.Containers[0].Image,
			Ready:   true,
			Started: ptrTo(true),
			State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		}}
	})
	if err != nil {
		a.logf("pod %s: %v", pod.Name, err)
	}
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf(format, args...)
	}
}

// finish records the container's end; the phase follows restartPolicy Never (Jobs' pods).
func (a *Agent) finish(ctx context.Context, pod *corev1.Pod, exitCode int, message, reason string) {
	now := metav1.Now()
	phase := corev1.PodSucceeded
	if exitCode != 0 {
		phase = corev1.PodFailed
	}
	if exitCode < 0 {
		exitCode = 128
	}
	a.logf("pod %s: %s, exit %d: %s", pod.Name, phase, exitCode, message)
	err := a.updateStatus(ctx, pod, func(st *corev1.PodStatus) {
		st.Phase = phase
		if st.StartTime == nil {
			st.StartTime = &now
		}
		st.ContainerStatuses = []corev1.ContainerStatus{{
			Name:  pod.Spec.Containers[0].Name,
			Image: pod.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: int32(exitCode), Reason: reason, Message: message, StartedAt: *st.StartTime, FinishedAt: now,
			}},
		}}
	})
	if err != nil {
		a.logf("pod %s: %v", pod.Name, err)
	}
}

// updateStatus applies change to the pod's current status, retrying on conflicts.
func (a *Agent) updateStatus(ctx context.Context, pod *corev1.Pod, change func(*corev1.PodStatus)) error {
	pods := a.client.CoreV1().Pods(pod.Namespace)
	for range 20 {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get pod %s: %w", pod.Name, err)
		}
		if cur.UID != pod.UID {
			return fmt.Errorf("pod %s was replaced", pod.Name)
		}
		change(&cur.Status)
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("update status of pod %s: %w", pod.Name, err)
		}
	}
	return fmt.Errorf("update status of pod %s: conflicts", pod.Name)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func ptrTo[T any](v T) *T { return &v }
