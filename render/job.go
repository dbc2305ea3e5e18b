package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/migrations"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Where the hook container finds things; the runtime's flags name the same paths.
const (
	MigrationsPath = "/migrations"
	// TerminationLog is where the runtime writes its one-line report for `kubectl describe`.
	TerminationLog = "/dev/termination-log"
	// RunAs is the uid and gid of the image's non-root user.
	RunAs = 999
	// DeadlineMargin is added to the run timeout for the Job's activeDeadlineSeconds: the
	// runtime stops itself at its timeout and reports; the deadline is only the backstop
	// (image pull, dev database start, report) and must not cut the report short.
	DeadlineMargin = 5 * time.Minute
)

// migrateJob is the PreSync hook that runs `schemahook migrate apply` on the files of the
// migrations ConfigMap(s). The database URL reaches it only as a secretKeyRef.
func migrateJob(in Input, cmNames []string, shards [][]entry) (*batchv1.Job, error) {
	s := &in.Config.Spec
	timeout, err := time.ParseDuration(s.Apply.Timeout)
	if err != nil {
		return nil, fmt.Errorf("spec.apply.timeout %q: %w", s.Apply.Timeout, err)
	}
	lbls := stringLabels(labels(in, "migrate"))
	podLabels := maps.Clone(lbls)
	maps.Copy(podLabels, s.Job.Labels) // config refuses keys render sets
	job := batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ObjectName(in.Name, "migrate"),
			Labels:      lbls,
			Annotations: hookAnnotations(in.Revision),
		},
		Spec: batchv1.JobSpec{
			// A failed migration is not retried by Kubernetes: it fails the sync, and an
			// Argo CD retry recreates the Job, which resumes idempotently.
			BackoffLimit:          ptr(int32(0)),
			ActiveDeadlineSeconds: ptr(int64((timeout + DeadlineMargin) / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: s.EffectivePodAnnotations()},
				Spec:       hookPodSpec(s, migrateContainer(in), migrationsProjection(cmNames, shards)),
			},
		},
	}
	if err := checkRestricted(&job.Spec.Template); err != nil {
		src := in.ConfigSource
		if src == "" {
			src = "config"
		}
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return &job, nil
}

// hookAnnotations make the Job a PreSync hook of the migrate wave, replaced on every sync.
func hookAnnotations(revision string) map[string]string {
	annotations := map[string]string{
		AnnotationHook:             "PreSync",
		AnnotationHookDeletePolicy: "BeforeHookCreation",
		AnnotationSyncWave:         WaveMigrate,
	}
	if revision != "" {
		annotations[AnnotationRevision] = revision
	}
	return annotations
}

// migrateArgs is the hook container's command: every setting of the spec as a flag of
// `schemahook migrate apply`.
func migrateArgs(in Input) []string {
	s := &in.Config.Spec
	args := []string{"schemahook", "migrate", "apply", "--dir=" + MigrationsPath}
	if s.Migrations.Format != "" && s.Migrations.Format != string(migrations.FormatAuto) {
		args = append(args, "--format="+s.Migrations.Format)
	}
	// With a dev URL there is no --dev-url flag: the runtime reads SCHEMAHOOK_DEV_URL
	// itself, so the URL is neither in the manifest nor in the process's arguments.
	if s.Dev.Mode != config.DevURL {
		args = append(args, "--dev-url="+s.Dev.Mode)
	}
	args = append(args, "--lint="+string(s.Lint.Policy))
	for _, code := range slices.Sorted(maps.Keys(s.Lint.Rules)) {
		args = append(args, fmt.Sprintf("--lint-rule=%s=%s", code, s.Lint.Rules[code]))
	}
	if f := s.Lint.SmallTable.Flag(); f != "" {
		args = append(args, "--lint-small-table="+f)
	}
	args = append(args,
		"--tx-mode="+s.Apply.TxMode,
		"--lock-timeout="+s.Apply.LockTimeout,
		"--timeout="+s.Apply.Timeout,
		"--revisions-schema="+s.Revisions.Schema,
	)
	if s.Apply.OutOfOrder {
		args = append(args, "--allow-out-of-order")
	}
	// Only when set, so that configs without them render as before.
	if r := s.Apply.LockRetries; r != nil {
		if r.Attempts != nil {
			args = append(args, fmt.Sprintf("--lock-retries=%d", *r.Attempts))
		}
		if r.Wait != "" {
			args = append(args, "--lock-retry-wait="+r.Wait)
		}
		if r.MaxWait != "" {
			args = append(args, "--lock-retry-max-wait="+r.MaxWait)
		}
	}
	if s.Apply.ProgressInterval != "" {
		args = append(args, "--progress-interval="+s.Apply.ProgressInterval)
	}
	args = append(args, driftArgs(in)...)
	return append(args, "--termination-log="+TerminationLog)
}

// migrateEnv is the hook container's environment: the URLs as secretKeyRefs, never values.
func migrateEnv(in Input) []corev1.EnvVar {
	s := &in.Config.Spec
	env := []corev1.EnvVar{secretEnv("DATABASE_URL", s.URL.SecretKeyRef)}
	if s.Dev.Mode == config.DevURL {
		env = append(env, secretEnv("SCHEMAHOOK_DEV_URL", s.Dev.URL.SecretKeyRef))
	}
	env = append(env,
		corev1.EnvVar{Name: "SCHEMAHOOK_APP", Value: in.PartOf},
		corev1.EnvVar{Name: "SCHEMAHOOK_REVISION", Value: in.Revision},
		corev1.EnvVar{Name: "TMPDIR", Value: "/tmp"},
	)
	// spec.job's env comes after render's own, so it may refer to them as $(NAME);
	// config refuses the names render sets.
	return append(env, s.Job.Env...)
}

// secretEnv is an environment variable read from a key of a Secret.
func secretEnv(name string, ref *config.SecretKeyRef) corev1.EnvVar {
	return corev1.EnvVar{
		Name: name,
		ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name},
			Key:                  ref.Key,
		}},
	}
}

// migrationsProjection is one projected volume source per shard. A shard whose keys are all
// their own paths (a flat directory) is projected whole; only a shard with a renamed key
// lists its items, which keeps the Job small: one item per file would make a 10,000-file
// Job about 1 MB.
func migrationsProjection(cmNames []string, shards [][]entry) []corev1.VolumeProjection {
	sources := make([]corev1.VolumeProjection, len(shards))
	for i, sh := range shards {
		var items []corev1.KeyToPath
		if slices.ContainsFunc(sh, func(e entry) bool { return e.path != e.key }) {
			items = make([]corev1.KeyToPath, len(sh))
			for j, e := range sh {
				items[j] = corev1.KeyToPath{Key: e.key, Path: e.path}
			}
		}
		sources[i] = corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: cmNames[i]},
			Items:                items,
		}}
	}
	return sources
}

// migrateContainer runs the migration with a read-only root, no privileges and nothing
// but the migrations, /tmp and /dev/shm writable or mounted (plus spec.job's mounts).
func migrateContainer(in Input) corev1.Container {
	s := &in.Config.Spec
	return corev1.Container{
		Name:    "migrate",
		Image:   in.Image,
		Command: migrateArgs(in),
		Env:     migrateEnv(in),
		VolumeMounts: append([]corev1.VolumeMount{
			{Name: "migrations", MountPath: MigrationsPath, ReadOnly: true},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "dshm", MountPath: "/dev/shm"},
		}, s.Job.VolumeMounts...),
		Resources:                s.EffectiveResources(),
		TerminationMessagePath:   TerminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			ReadOnlyRootFilesystem:   ptr(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// hookPodSpec is the hook pod: container c as the image's non-root user, with the
// migrations projected from sources and spec.job's scheduling and volumes.
func hookPodSpec(s *config.Spec, c corev1.Container, sources []corev1.VolumeProjection) corev1.PodSpec {
	shmLimit := resource.MustParse("64Mi")
	return corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		// A named service account is there for its token (IRSA, Workload
		// Identity); the default one's token is of no use to the hook.
		ServiceAccountName:            s.Job.ServiceAccountName,
		AutomountServiceAccountToken:  ptr(s.Job.ServiceAccountName != ""),
		NodeSelector:                  s.Job.NodeSelector,
		Tolerations:                   s.Job.Tolerations,
		Affinity:                      s.Job.Affinity,
		PriorityClassName:             s.Job.PriorityClassName,
		ImagePullSecrets:              s.Job.ImagePullSecrets,
		EnableServiceLinks:            ptr(false),
		TerminationGracePeriodSeconds: ptr(int64(30)),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(RunAs)),
			RunAsGroup:     ptr(int64(RunAs)),
			FSGroup:        ptr(int64(RunAs)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{c},
		Volumes: append([]corev1.Volume{
			{Name: "migrations", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}},
			// The dev database's data directory and socket live under /tmp.
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
				Medium: corev1.StorageMediumMemory, SizeLimit: &shmLimit}}},
		}, s.Job.Volumes...),
	}
}

// restricted is the Pod Security level every hook pod must meet, in its latest version.
var restricted = psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}

var evaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// Prepare starts building the Pod Security evaluator (1.4 ms: a table of checks for every
// Kubernetes version) in the background, so that a caller reading its input first builds
// both at once; Render waits for it.
func Prepare() { go evaluator() }

// checkRestricted runs Kubernetes' own Pod Security admission checks on the pod template:
// config refuses the customisations it knows to be unsafe by field, and this catches any
// other way spec.job could make the namespace's admission refuse the hook (say, an
// AppArmor annotation), at render rather than as a sync that hangs.
func checkRestricted(tmpl *corev1.PodTemplateSpec) error {
	ev, err := evaluator()
	if err != nil {
		return fmt.Errorf("pod security evaluator: %w", err)
	}
	res := policy.AggregateCheckResults(ev.EvaluatePod(restricted, &tmpl.ObjectMeta, &tmpl.Spec))
	if !res.Allowed {
		return fmt.Errorf("spec.job: the hook pod would break the restricted Pod Security level: %s [pod-security]",
			res.ForbiddenDetail())
	}
	return nil
}

// ToObject converts a typed object to generic data without the fields the API server
// fills in (creationTimestamp, status), which would only add noise to the diff.
func ToObject(v any) (Object, error) {
	o, ok := generic(reflect.ValueOf(v))
	if m, isMap := o.(map[string]any); ok && isMap {
		return trimServerFields(m), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m Object
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return trimServerFields(m), nil
}

// trimServerFields drops status and null creationTimestamps.
func trimServerFields(o Object) Object {
	delete(o, "status")
	stripCreationTimestamp(o)
	return o
}

func stripCreationTimestamp(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if k == "metadata" {
				if m, ok := c.(map[string]any); ok {
					if m["creationTimestamp"] == nil {
						delete(m, "creationTimestamp")
					}
				}
			}
			stripCreationTimestamp(c)
		}
	case []any:
		for _, c := range t {
			stripCreationTimestamp(c)
		}
	}
}

func stringLabels(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.(string)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
