package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Job is what a real cluster needs of the hook Job's pod (cloud IAM, meshes, node pools,
// private registries, CA files), under Kubernetes' own field names and types so that
// teams can copy them from their other manifests. Security-relevant pod fields
// (securityContext, host namespaces) are deliberately absent: the pod stays "restricted".
type Job struct {
	// ServiceAccountName runs the pod as this ServiceAccount, with its token mounted, as
	// IRSA, GKE Workload Identity and Azure workload identity need. Without it no token is mounted.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// Annotations and Labels go on the pod template, merged over the ones render sets.
	Annotations       map[string]string             `json:"annotations,omitempty"`
	Labels            map[string]string             `json:"labels,omitempty"`
	NodeSelector      map[string]string             `json:"nodeSelector,omitempty"`
	Tolerations       []corev1.Toleration           `json:"tolerations,omitempty"`
	Affinity          *corev1.Affinity              `json:"affinity,omitempty"`
	PriorityClassName string                        `json:"priorityClassName,omitempty"`
	ImagePullSecrets  []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// Env, Volumes and VolumeMounts are added to the migrate container and its pod.
	Env          []corev1.EnvVar      `json:"env,omitempty"`
	Volumes      []corev1.Volume      `json:"volumes,omitempty"`
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
}

// MeshAnnotations opt the hook pod out of sidecar injection by the common service meshes.
// An injected proxy never exits, so the Job never completes and the PreSync hook, and the
// whole sync, hangs; Istio's and Linkerd's init containers also need capabilities the
// restricted level refuses. spec.job.annotations overrides any of them (for example
// sidecar.istio.io/inject: "true" with native sidecars).
func MeshAnnotations() map[string]string {
	return map[string]string{
		"sidecar.istio.io/inject":             "false",
		"linkerd.io/inject":                   "disabled",
		"kuma.io/sidecar-injection":           "disabled",
		"consul.hashicorp.com/connect-inject": "false",
	}
}

// EffectivePodAnnotations are the mesh defaults overlaid with spec.job.annotations.
func (s *Spec) EffectivePodAnnotations() map[string]string {
	a := MeshAnnotations()
	maps.Copy(a, s.Job.Annotations)
	return a
}

// Names the hook container keeps for itself; the runtime and render depend on them.
var (
	// ReservedEnv are the migrate container's own variables (and all of SCHEMAHOOK_*): the
	// URLs come only from their Secrets, the rest from render.
	ReservedEnv = []string{"DATABASE_URL", "SCHEMAHOOK_DEV_URL", "SCHEMAHOOK_APP", "SCHEMAHOOK_REVISION", "TMPDIR"}
	// ReservedVolumes are the volume names render uses.
	ReservedVolumes = []string{"migrations", "tmp", "dshm"}
	// ReservedPaths are the mount paths render uses, and where Kubernetes mounts the
	// service account token; a mount at, above or below one of them would shadow it.
	ReservedPaths = []string{"/migrations", "/tmp", "/dev/shm", "/dev/termination-log", "/var/run/secrets/kubernetes.io/serviceaccount"}
	// ReservedLabelPrefixes are the labels render sets on every object; a pod template that
	// changed them would no longer be found as schemahook's.
	ReservedLabelPrefixes = []string{"app.kubernetes.io/", "schemahook.dev/"}
)

// restrictedVolumes are the volume types the "restricted" Pod Security level allows.
var restrictedVolumes = "configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret"

// forbiddenJobFields explain why a pod field that spec.job lacks is not there: strict
// loading refuses it as unknown, and this says why.
var forbiddenJobFields = map[string]string{
	"securityContext":              "the hook pod's security context is fixed at the restricted Pod Security level",
	"hostNetwork":                  "host namespaces break the restricted Pod Security level",
	"hostPID":                      "host namespaces break the restricted Pod Security level",
	"hostIPC":                      "host namespaces break the restricted Pod Security level",
	"privileged":                   "privileged containers break the restricted Pod Security level",
	"capabilities":                 "added capabilities break the restricted Pod Security level",
	"runAsUser":                    "the hook runs as the image's non-root user (restricted Pod Security level)",
	"runAsNonRoot":                 "the hook runs as the image's non-root user (restricted Pod Security level)",
	"automountServiceAccountToken": "the token is mounted exactly when serviceAccountName is set",
	"containers":                   "the hook pod has one container, migrate; use env, volumes and volumeMounts",
	"initContainers":               "the hook pod has one container, migrate",
}

var unknownJobFieldRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`unknown field "spec\.job\.([A-Za-z]+)"`) })

// explainUnknownJobField adds the reason to an unknown-field error for a pod field that
// spec.job leaves out on purpose.
func explainUnknownJobField(msg string) string {
	m := unknownJobFieldRE().FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	if why, ok := forbiddenJobFields[m[1]]; ok {
		return msg + ": not allowed: " + why
	}
	return msg
}

// validateJob checks spec.job and names the field and the rule for every refusal.
func (s *Spec) validateJob() []string {
	j := &s.Job
	var errs []string
	bad := func(f, format string, args ...any) {
		errs = append(errs, f+": "+fmt.Sprintf(format, args...))
	}
	if n := j.ServiceAccountName; n != "" && len(validation.IsDNS1123Subdomain(n)) > 0 {
		bad("spec.job.serviceAccountName", "invalid value %q: want a ServiceAccount name (DNS-1123 subdomain)", n)
	}
	if n := j.PriorityClassName; n != "" && len(validation.IsDNS1123Subdomain(n)) > 0 {
		bad("spec.job.priorityClassName", "invalid value %q: want a PriorityClass name (DNS-1123 subdomain)", n)
	}
	for _, e := range metav1validation.ValidateLabels(j.Labels, field.NewPath("spec", "job", "labels")) {
		errs = append(errs, e.Error())
	}
	for _, k := range slices.Sorted(maps.Keys(j.Labels)) {
		for _, p := range ReservedLabelPrefixes {
			if strings.HasPrefix(k, p) {
				bad("spec.job.labels."+k, "reserved: schemahook sets the %s* labels itself", p)
			}
		}
	}
	for _, e := range metav1validation.ValidateLabels(j.NodeSelector, field.NewPath("spec", "job", "nodeSelector")) {
		errs = append(errs, e.Error())
	}
	for _, k := range slices.Sorted(maps.Keys(j.Annotations)) {
		f := "spec.job.annotations." + k
		if msgs := validation.IsQualifiedName(strings.ToLower(k)); len(msgs) > 0 {
			bad(f, "invalid key: %s", strings.Join(msgs, "; "))
		}
		if why := secretLooking(j.Annotations[k]); why != "" {
			bad(f, "refused: %s; annotations are in Git and in the rendered manifests", why)
		}
	}
	for i, t := range j.Tolerations {
		f := fmt.Sprintf("spec.job.tolerations[%d]", i)
		switch t.Operator {
		case "", corev1.TolerationOpEqual:
			if t.Key == "" {
				bad(f+".key", "required unless operator is Exists")
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				bad(f+".value", "must be empty when operator is Exists")
			}
		default:
			bad(f+".operator", "invalid value %q: want Equal or Exists", t.Operator)
		}
		if t.Key != "" && len(validation.IsQualifiedName(t.Key)) > 0 {
			bad(f+".key", "invalid value %q: want a label key", t.Key)
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			bad(f+".effect", "invalid value %q: want NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
		}
	}
	for i, r := range j.ImagePullSecrets {
		if len(validation.IsDNS1123Subdomain(r.Name)) > 0 {
			bad(fmt.Sprintf("spec.job.imagePullSecrets[%d].name", i), "invalid value %q: want a Secret name", r.Name)
		}
	}
	seenEnv := map[string]bool{}
	for i, e := range j.Env {
		f := fmt.Sprintf("spec.job.env[%d]", i)
		if msgs := validation.IsEnvVarName(e.Name); e.Name == "" || len(msgs) > 0 {
			bad(f+".name", "invalid value %q: want an environment variable name", e.Name)
			continue
		}
		f = "spec.job.env." + e.Name
		switch {
		case slices.Contains(ReservedEnv, e.Name) || strings.HasPrefix(e.Name, "SCHEMAHOOK_"):
			bad(f, "reserved: schemahook sets it (database URLs come only from spec.url and spec.dev.url secretKeyRefs)")
		case seenEnv[e.Name]:
			bad(f, "given twice")
		case e.Value != "" && e.ValueFrom != nil:
			bad(f, "set value or valueFrom, not both")
		case e.Value != "":
			if why := secretLooking(e.Value); why != "" {
				bad(f+".value", "refused: %s; take it from a Secret with valueFrom.secretKeyRef", why)
			} else if passwordName(e.Name) {
				bad(f+".value", "refused: a password in Git; take it from a Secret with valueFrom.secretKeyRef")
			}
		}
		seenEnv[e.Name] = true
	}
	volumes := map[string]bool{}
	for i, v := range j.Volumes {
		f := fmt.Sprintf("spec.job.volumes[%d]", i)
		switch {
		case len(validation.IsDNS1123Label(v.Name)) > 0:
			bad(f+".name", "invalid value %q: want a DNS-1123 label", v.Name)
		case slices.Contains(ReservedVolumes, v.Name):
			bad(f+".name", "%q is reserved: schemahook's own volumes are %s", v.Name, strings.Join(ReservedVolumes, ", "))
		case volumes[v.Name]:
			bad(f+".name", "%q given twice", v.Name)
		}
		volumes[v.Name] = true
		if v.HostPath != nil {
			bad(f+".hostPath", "not allowed: a host path breaks the restricted Pod Security level (want one of %s)", restrictedVolumes)
		} else if kind := volumeKind(v.VolumeSource); kind == "" {
			bad(f, "no volume source: want one of %s", restrictedVolumes)
		} else if !strings.Contains(", "+restrictedVolumes+",", ", "+kind+",") {
			bad(f+"."+kind, "not allowed by the restricted Pod Security level (want one of %s)", restrictedVolumes)
		}
	}
	mountPaths := map[string]bool{}
	for i, m := range j.VolumeMounts {
		f := fmt.Sprintf("spec.job.volumeMounts[%d]", i)
		if !volumes[m.Name] {
			bad(f+".name", "%q is not a volume of spec.job.volumes", m.Name)
		}
		p := m.MountPath
		switch {
		case !strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), ".."):
			bad(f+".mountPath", "invalid value %q: want an absolute path without ..", p)
		case mountPaths[path.Clean(p)]:
			bad(f+".mountPath", "%q mounted twice", p)
		default:
			for _, r := range ReservedPaths {
				if overlaps(path.Clean(p), r) {
					bad(f+".mountPath", "%q collides with %s, which the hook uses", p, r)
					break
				}
			}
		}
		mountPaths[path.Clean(p)] = true
		if m.SubPath != "" && (path.IsAbs(m.SubPath) || slices.Contains(strings.Split(m.SubPath, "/"), "..")) {
			bad(f+".subPath", "invalid value %q: want a relative path without ..", m.SubPath)
		}
		if m.MountPropagation != nil && *m.MountPropagation == corev1.MountPropagationBidirectional {
			bad(f+".mountPropagation", "Bidirectional needs a privileged container, which the restricted Pod Security level refuses")
		}
	}
	return errs
}

// overlaps reports whether a mount at p would hide r or be hidden by it.
func overlaps(p, r string) bool {
	return p == r || strings.HasPrefix(r, strings.TrimSuffix(p, "/")+"/") || strings.HasPrefix(p, r+"/")
}

// volumeKind is the JSON name of the one source a volume sets, "" for none.
func volumeKind(v corev1.VolumeSource) string {
	kinds := map[string]bool{
		"configMap": v.ConfigMap != nil, "csi": v.CSI != nil, "downwardAPI": v.DownwardAPI != nil,
		"emptyDir": v.EmptyDir != nil, "ephemeral": v.Ephemeral != nil,
		"persistentVolumeClaim": v.PersistentVolumeClaim != nil, "projected": v.Projected != nil,
		"secret": v.Secret != nil, "hostPath": v.HostPath != nil, "nfs": v.NFS != nil,
		"iscsi": v.ISCSI != nil, "rbd": v.RBD != nil, "cephfs": v.CephFS != nil,
		"glusterfs": v.Glusterfs != nil, "gitRepo": v.GitRepo != nil, "image": v.Image != nil,
		"awsElasticBlockStore": v.AWSElasticBlockStore != nil, "gcePersistentDisk": v.GCEPersistentDisk != nil,
		"azureDisk": v.AzureDisk != nil, "azureFile": v.AzureFile != nil, "fc": v.FC != nil,
		"flexVolume": v.FlexVolume != nil, "cinder": v.Cinder != nil, "flocker": v.Flocker != nil,
		"vsphereVolume": v.VsphereVolume != nil, "quobyte": v.Quobyte != nil,
		"photonPersistentDisk": v.PhotonPersistentDisk != nil, "portworxVolume": v.PortworxVolume != nil,
		"scaleIO": v.ScaleIO != nil, "storageos": v.StorageOS != nil,
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		if kinds[k] {
			return k
		}
	}
	return ""
}

var dsnPasswordRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(^|\s)password\s*=`) })

// secretLooking says why a literal value looks like a credential: a URL with a password,
// or a libpq connection string with password=. Such values belong in a Secret, never in Git.
func secretLooking(v string) string {
	for _, word := range strings.Fields(v) {
		if u, err := url.Parse(word); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return "the value is a URL with a password"
			}
		}
	}
	if dsnPasswordRE().MatchString(v) {
		return "the value is a connection string with a password"
	}
	return ""
}

// passwordName matches variables that by name hold a password or secret (PGPASSWORD,
// DB_SECRET, ...); a plain value for one is a secret in Git.
func passwordName(name string) bool {
	n := strings.ToUpper(name)
	return strings.Contains(n, "PASSWORD") || strings.Contains(n, "SECRET") || strings.HasSuffix(n, "_TOKEN")
}

// MarshalJSON writes j as encoding/json would without it. It is there so that decoding a
// Spec (Load) does not build encoders: encoding/json's field cache builds, on its first
// use of a struct type, the encoder of every type reachable from it, here all of
// corev1's volume and affinity types, 2 ms of every generate; a Marshaler ends that walk.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	return json.Marshal(plain(j))
}
