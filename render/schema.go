package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/schemahook/schemahook/config"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchemaKey is the ConfigMap key of the app directory's schema.sql: in "<name>-schema" it is
// what the Argo CD diff shows of the schema change; the Job reads it at SchemaPath.
const (
	SchemaKey  = "schema.sql"
	SchemaPath = ".schemahook/schema.sql" // inside MigrationsPath; a dot directory, which the migrations reader skips
)

// addSchema puts schema.sql in the data shared by the migrations and schema ConfigMaps,
// mapped to SchemaPath in the Job's volume.
func addSchema(in Input, data []entry) ([]entry, error) {
	if in.Schema == "" {
		return data, nil
	}
	i, found := slices.BinarySearchFunc(data, SchemaKey, func(e entry, key string) int { return strings.Compare(e.key, key) })
	if found {
		return nil, fmt.Errorf("%s and the app directory's schema.sql both map to ConfigMap key %q: rename the migration file", data[i].path, SchemaKey)
	}
	return slices.Insert(data, i, entry{SchemaKey, SchemaPath, in.Schema}), nil
}

// driftArgs are the hook's drift flags; none for the defaults, so that configs without
// spec.drift render as before.
func driftArgs(in Input) []string {
	var args []string
	if p := in.Config.Spec.Drift.Policy; p != "" && p != config.DefaultDriftPolicy {
		args = append(args, "--drift="+string(p))
	}
	if in.Schema != "" {
		args = append(args, "--schema-file="+MigrationsPath+"/"+SchemaPath)
	}
	return args
}

// driftCronJob is the check between syncs (spec.drift.schedule): the hook's pod, running
// `migrate drift` read-only with policy error, so drift fails the Job and Argo CD shows it.
// It is a normal resource and mounts the "<name>-schema" ConfigMaps (normal resources too,
// holding the same files), so it checks what was last synced. The Git revision is left out
// of it, as of the schema ConfigMaps, or every commit would make the app OutOfSync.
func driftCronJob(in Input, job *batchv1.Job, migrationNames, schemaNames []string) (Object, error) {
	j := job.DeepCopy()
	pod := j.Spec.Template
	pod.Labels["app.kubernetes.io/component"] = "drift"
	c := &pod.Spec.Containers[0]
	c.Name = "drift"
	var args []string
	for _, a := range c.Command {
		switch {
		case a == "apply":
			a = "drift"
		case len(a) > 8 && a[:8] == "--drift=":
			continue
		}
		args = append(args, a)
	}
	c.Command = append(args, "--drift=error")
	var env []corev1.EnvVar
	for _, e := range c.Env {
		if e.Name != "SCHEMAHOOK_REVISION" {
			env = append(env, e)
		}
	}
	c.Env = env
	names := map[string]string{}
	for i := range migrationNames {
		names[migrationNames[i]] = schemaNames[i]
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil && names[s.ConfigMap.Name] != "" {
				s.ConfigMap.Name = names[s.ConfigMap.Name]
			}
		}
	}
	lbls := stringLabels(labels(in, "drift"))
	cj := batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: ObjectName(in.Name, "drift"), Labels: lbls},
		Spec: batchv1.CronJobSpec{
			Schedule:                   in.Config.Spec.Drift.Schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr(int32(1)),
			FailedJobsHistoryLimit:     ptr(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: batchv1.JobSpec{
					BackoffLimit:          j.Spec.BackoffLimit,
					ActiveDeadlineSeconds: j.Spec.ActiveDeadlineSeconds,
					Template:              pod,
				},
			},
		},
	}
	if err := checkRestricted(&cj.Spec.JobTemplate.Spec.Template); err != nil {
		return nil, err
	}
	return ToObject(cj)
}
