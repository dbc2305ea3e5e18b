package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/internal/version"
	"github.com/schemahook/schemahook/lint"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// MaxParametersSize caps ARGOCD_APP_PARAMETERS; real parameter lists are a few hundred bytes.
const MaxParametersSize = 256 << 10

// Parameter is one entry of ARGOCD_APP_PARAMETERS: a name and exactly one of string, array
// or map, as Argo CD sends them.
type Parameter struct {
	Name   string            `json:"name"`
	String *string           `json:"string,omitempty"`
	Array  []string          `json:"array,omitempty"`
	Map    map[string]string `json:"map,omitempty"`
}

// ParameterAnnouncement is what Argo CD's UI shows for a parameter (the CMP
// "parameters.static" entry and each element of the dynamic announcement).
type ParameterAnnouncement struct {
	Name           string            `json:"name"`
	Title          string            `json:"title,omitempty"`
	Tooltip        string            `json:"tooltip,omitempty"`
	Required       bool              `json:"required,omitempty"`
	ItemType       string            `json:"itemType,omitempty"`
	CollectionType string            `json:"collectionType,omitempty"`
	String         string            `json:"string,omitempty"`
	Array          []string          `json:"array,omitempty"`
	Map            map[string]string `json:"map,omitempty"`
}

// param is a known parameter: its announcement text, how to read the current value from a
// config, and how to set it.
type param struct {
	name, title, tooltip string
	isMap, isArray       bool
	get                  func(c *config.Database) string
	getMap               func(c *config.Database) map[string]string
	getArray             func(c *config.Database) []string
	set                  func(c *config.Database, v string) error
	setMap               func(c *config.Database, m map[string]string) error
	setArray             func(c *config.Database, a []string) error
}

// stringParam is a parameter that sets one string field of the config, as it is given.
func stringParam(name, title, tooltip string, field func(c *config.Database) *string) param {
	return param{name: name, title: title, tooltip: tooltip,
		get: func(c *config.Database) string { return *field(c) },
		set: func(c *config.Database, v string) error { *field(c) = v; return nil }}
}

// params lists every parameter in announcement order; names are kebab-case flat keys so an
// ApplicationSet can stamp them without knowing the config's nesting.
var params = []param{
	stringParam("name", "Name", "Prefix of every rendered object (DNS-1123 label). Default: metadata.name, else the Application's name.",
		func(c *config.Database) *string { return &c.Metadata.Name }),
	{name: "url-secret", title: "Database URL Secret", tooltip: "Name of the Secret (usually from a SealedSecret in the directory) holding the target database URL.",
		get: func(c *config.Database) string { return ref(c.Spec.URL.SecretKeyRef).Name },
		set: func(c *config.Database, v string) error { urlRef(c).Name = v; return nil }},
	{name: "url-key", title: "Database URL key", tooltip: "Key of the database URL in that Secret.",
		get: func(c *config.Database) string { return ref(c.Spec.URL.SecretKeyRef).Key },
		set: func(c *config.Database, v string) error { urlRef(c).Key = v; return nil }},
	stringParam("dir", "Migrations directory", "Directory of the migrations, relative to the app directory.",
		func(c *config.Database) *string { return &c.Spec.Migrations.Dir }),
	stringParam("format", "Directory format", "auto, schemahook, golang-migrate, goose, flyway or dbmate.",
		func(c *config.Database) *string { return &c.Spec.Migrations.Format }),
	{name: "dev-mode", title: "Dev database", tooltip: "ephemeral (a throwaway Postgres inside the Job), url (a dev server from dev-url-secret) or none.",
		get: func(c *config.Database) string { return c.Spec.Dev.Mode },
		set: func(c *config.Database, v string) error {
			c.Spec.Dev.Mode = v
			if v != config.DevURL {
				c.Spec.Dev.URL = nil
			}
			return nil
		}},
	{name: "dev-url-secret", title: "Dev database URL Secret", tooltip: "Secret holding the dev server's URL (sets dev-mode to url).",
		get: func(c *config.Database) string { return devRef(c, false).Name },
		set: func(c *config.Database, v string) error { devRef(c, true).Name = v; return nil }},
	{name: "dev-url-key", title: "Dev database URL key", tooltip: "Key of the dev URL in that Secret.",
		get: func(c *config.Database) string { return devRef(c, false).Key },
		set: func(c *config.Database, v string) error { devRef(c, true).Key = v; return nil }},
	{name: "lint-policy", title: "Lint policy", tooltip: "error blocks the apply on a lint error, warn only reports, off skips lint.",
		get: func(c *config.Database) string { return string(c.Spec.Lint.Policy) },
		set: func(c *config.Database, v string) error { c.Spec.Lint.Policy = lint.Level(v); return nil }},
	{name: "lint-rules", title: "Lint rule levels", tooltip: "Per-rule overrides: rule code → error, warn or off. Merged over spec.lint.rules.", isMap: true,
		getMap: func(c *config.Database) map[string]string {
			m := map[string]string{}
			for k, v := range c.Spec.Lint.Rules {
				m[k] = string(v)
			}
			return m
		},
		setMap: func(c *config.Database, m map[string]string) error {
			if c.Spec.Lint.Rules == nil {
				c.Spec.Lint.Rules = map[string]lint.Level{}
			}
			for k, v := range m {
				c.Spec.Lint.Rules[k] = lint.Level(v)
			}
			return nil
		}},
	stringParam("tx-mode", "Transaction mode", "file (one transaction per file), all (one for the whole run) or none.",
		func(c *config.Database) *string { return &c.Spec.Apply.TxMode }),
	stringParam("lock-timeout", "Lock timeout", "How long to wait for the migration lock on the target (Go duration).",
		func(c *config.Database) *string { return &c.Spec.Apply.LockTimeout }),
	stringParam("timeout", "Timeout", "Limit of the whole run (Go duration); the Job's deadline is this plus 5 minutes.",
		func(c *config.Database) *string { return &c.Spec.Apply.Timeout }),
	{name: "out-of-order", title: "Allow out-of-order", tooltip: "true applies a pending file older than the newest applied one instead of stopping.",
		get: func(c *config.Database) string { return fmt.Sprint(c.Spec.Apply.OutOfOrder) },
		set: func(c *config.Database, v string) error {
			switch v {
			case "true":
				c.Spec.Apply.OutOfOrder = true
			case "false":
				c.Spec.Apply.OutOfOrder = false
			default:
				return errors.New("want true or false")
			}
			return nil
		}},
	stringParam("revisions-schema", "Revisions schema", "Schema of the revisions table; one per migration directory on a database.",
		func(c *config.Database) *string { return &c.Spec.Revisions.Schema }),
	{name: "drift", title: "Drift policy", tooltip: "When the database's schema differs from what its migrations build: error stops the sync before anything is applied (exit 7), warn reports and applies, off skips the check.",
		get: func(c *config.Database) string { return string(c.Spec.Drift.Policy) },
		set: func(c *config.Database, v string) error { c.Spec.Drift.Policy = lint.Level(v); return nil }},
	stringParam("drift-schedule", "Drift check schedule", "Cron expression of a CronJob that checks for drift between syncs (read-only). Empty: none.",
		func(c *config.Database) *string { return &c.Spec.Drift.Schedule }),
	{name: "image", title: "Hook image", tooltip: "Image of the migrate Job. Default: the image of this sidecar, so they never drift apart.",
		get: func(c *config.Database) string {
			if c.Spec.Image != "" {
				return c.Spec.Image
			}
			return version.Image()
		},
		set: func(c *config.Database, v string) error { c.Spec.Image = v; return nil }},
	resourceParam("cpu-request", "CPU request", "requests", corev1.ResourceCPU),
	resourceParam("memory-request", "Memory request", "requests", corev1.ResourceMemory),
	resourceParam("cpu-limit", "CPU limit", "limits", corev1.ResourceCPU),
	resourceParam("memory-limit", "Memory limit", "limits", corev1.ResourceMemory),
	stringParam("service-account", "Service account", "ServiceAccount the migrate Job runs as, with its token mounted (IRSA, Workload Identity). Default: none, no token.",
		func(c *config.Database) *string { return &c.Spec.Job.ServiceAccountName }),
	mapParam("pod-annotations", "Pod annotations", "Annotations of the migrate Job's pod, merged over spec.job.annotations and the mesh opt-outs (sidecar.istio.io/inject: \"false\", ...).",
		func(c *config.Database) map[string]string { return c.Spec.EffectivePodAnnotations() },
		func(c *config.Database) *map[string]string { return &c.Spec.Job.Annotations }),
	mapParam("pod-labels", "Pod labels", "Labels of the migrate Job's pod, merged over spec.job.labels.",
		func(c *config.Database) map[string]string { return c.Spec.Job.Labels },
		func(c *config.Database) *map[string]string { return &c.Spec.Job.Labels }),
	mapParam("node-selector", "Node selector", "Node labels the migrate Job's pod must run on, merged over spec.job.nodeSelector.",
		func(c *config.Database) map[string]string { return c.Spec.Job.NodeSelector },
		func(c *config.Database) *map[string]string { return &c.Spec.Job.NodeSelector }),
	{name: "tolerations", title: "Tolerations", tooltip: "Taints the migrate Job's pod tolerates, as KEY[=VALUE][:EFFECT] (no VALUE: any value; * : every taint). Replaces spec.job.tolerations.", isArray: true,
		getArray: func(c *config.Database) []string {
			out := make([]string, 0, len(c.Spec.Job.Tolerations))
			for _, t := range c.Spec.Job.Tolerations {
				out = append(out, formatToleration(t))
			}
			return out
		},
		setArray: func(c *config.Database, a []string) error {
			ts := make([]corev1.Toleration, 0, len(a))
			for _, s := range a {
				t, err := parseToleration(s)
				if err != nil {
					return err
				}
				ts = append(ts, t)
			}
			c.Spec.Job.Tolerations = ts
			return nil
		}},
	stringParam("priority-class", "Priority class", "PriorityClass of the migrate Job's pod.",
		func(c *config.Database) *string { return &c.Spec.Job.PriorityClassName }),
	{name: "image-pull-secrets", title: "Image pull secrets", tooltip: "Secrets (in the Application's namespace) to pull the hook image with. Replaces spec.job.imagePullSecrets.", isArray: true,
		getArray: func(c *config.Database) []string {
			out := make([]string, 0, len(c.Spec.Job.ImagePullSecrets))
			for _, r := range c.Spec.Job.ImagePullSecrets {
				out = append(out, r.Name)
			}
			return out
		},
		setArray: func(c *config.Database, a []string) error {
			refs := make([]corev1.LocalObjectReference, 0, len(a))
			for _, n := range a {
				refs = append(refs, corev1.LocalObjectReference{Name: n})
			}
			c.Spec.Job.ImagePullSecrets = refs
			return nil
		}},
}

// mapParam is a map parameter merged key by key over a map of spec.job.
func mapParam(name, title, tooltip string, get func(c *config.Database) map[string]string, field func(c *config.Database) *map[string]string) param {
	return param{name: name, title: title, tooltip: tooltip, isMap: true, getMap: get,
		setMap: func(c *config.Database, m map[string]string) error {
			f := field(c)
			if *f == nil {
				*f = map[string]string{}
			}
			for k, v := range m {
				(*f)[k] = v
			}
			return nil
		}}
}

// parseToleration reads kubectl's taint syntax, KEY[=VALUE][:EFFECT], as the toleration of
// that taint: without a value any value is tolerated (Exists), and * tolerates every taint.
func parseToleration(s string) (corev1.Toleration, error) {
	var t corev1.Toleration
	rest, effect, hasEffect := strings.Cut(s, ":")
	if hasEffect {
		if effect == "" {
			return t, fmt.Errorf("%q: empty effect after ':' (want NoSchedule, PreferNoSchedule or NoExecute)", s)
		}
		t.Effect = corev1.TaintEffect(effect)
	}
	key, value, hasValue := strings.Cut(rest, "=")
	switch {
	case key == "" && !hasValue:
		return t, fmt.Errorf("%q: want KEY[=VALUE][:EFFECT], or * for every taint", s)
	case key == "*" && !hasValue:
		t.Operator = corev1.TolerationOpExists
	case hasValue:
		t.Key, t.Operator, t.Value = key, corev1.TolerationOpEqual, value
	default:
		t.Key, t.Operator = key, corev1.TolerationOpExists
	}
	return t, nil
}

// formatToleration writes a toleration in parseToleration's syntax (tolerationSeconds,
// which it cannot say, is only in spec.job.tolerations).
func formatToleration(t corev1.Toleration) string {
	s := t.Key
	switch {
	case t.Key == "" && t.Operator == corev1.TolerationOpExists:
		s = "*"
	case t.Operator != corev1.TolerationOpExists:
		s += "=" + t.Value
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	return s
}

func resourceParam(name, title, which string, res corev1.ResourceName) param {
	list := func(r corev1.ResourceRequirements) corev1.ResourceList {
		if which == "requests" {
			return r.Requests
		}
		return r.Limits
	}
	return param{name: name, title: title, tooltip: title + " of the migrate Job's container (Kubernetes quantity).",
		get: func(c *config.Database) string {
			q := list(c.Spec.EffectiveResources())[res]
			return q.String()
		},
		set: func(c *config.Database, v string) error {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return errors.New("want a Kubernetes quantity such as 500m or 512Mi")
			}
			if c.Spec.Resources == nil {
				c.Spec.Resources = &corev1.ResourceRequirements{}
			}
			if which == "requests" {
				if c.Spec.Resources.Requests == nil {
					c.Spec.Resources.Requests = corev1.ResourceList{}
				}
				c.Spec.Resources.Requests[res] = q
			} else {
				if c.Spec.Resources.Limits == nil {
					c.Spec.Resources.Limits = corev1.ResourceList{}
				}
				c.Spec.Resources.Limits[res] = q
			}
			return nil
		}}
}

func ref(r *config.SecretKeyRef) config.SecretKeyRef {
	if r == nil {
		return config.SecretKeyRef{}
	}
	return *r
}

func urlRef(c *config.Database) *config.SecretKeyRef {
	if c.Spec.URL.SecretKeyRef == nil {
		c.Spec.URL.SecretKeyRef = &config.SecretKeyRef{Key: config.DefaultURLKey}
	}
	return c.Spec.URL.SecretKeyRef
}

// devRef returns the dev URL reference; create switches the dev mode to url.
func devRef(c *config.Database, create bool) *config.SecretKeyRef {
	if c.Spec.Dev.URL == nil || c.Spec.Dev.URL.SecretKeyRef == nil {
		if !create {
			return &config.SecretKeyRef{}
		}
		c.Spec.Dev.URL = &config.URLSource{SecretKeyRef: &config.SecretKeyRef{Key: config.DefaultURLKey}}
	}
	if create {
		c.Spec.Dev.Mode = config.DevURL
	}
	return c.Spec.Dev.URL.SecretKeyRef
}

func lookup(name string) *param {
	for i := range params {
		if params[i].name == name {
			return &params[i]
		}
	}
	return nil
}

// ParseParameters reads ARGOCD_APP_PARAMETERS strictly: valid JSON, a list of objects with
// known fields, each a known parameter set once with the kind of value it takes. An empty
// string means no parameters.
func ParseParameters(data string) ([]Parameter, error) {
	if strings.TrimSpace(data) == "" {
		return nil, nil
	}
	if len(data) > MaxParametersSize {
		return nil, fmt.Errorf("ARGOCD_APP_PARAMETERS: %d bytes is over the %d byte limit", len(data), MaxParametersSize)
	}
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	var ps []Parameter
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("ARGOCD_APP_PARAMETERS: invalid JSON: %w [parameter]", err)
	}
	if rest, _ := dec.Token(); rest != nil || dec.More() {
		return nil, errors.New("ARGOCD_APP_PARAMETERS: invalid JSON: data after the list [parameter]")
	}
	seen := map[string]bool{}
	for i, p := range ps {
		kinds := 0
		if p.String != nil {
			kinds++
		}
		if p.Array != nil {
			kinds++
		}
		if p.Map != nil {
			kinds++
		}
		where := fmt.Sprintf("ARGOCD_APP_PARAMETERS[%d]", i)
		if p.Name == "" {
			return nil, fmt.Errorf("%s: parameter without a name [parameter]", where)
		}
		def := lookup(p.Name)
		if def == nil {
			return nil, fmt.Errorf("%s: unknown parameter %q (known: %s) [parameter]", where, p.Name, strings.Join(Names(), ", "))
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("%s: parameter %q given twice [parameter]", where, p.Name)
		}
		seen[p.Name] = true
		switch {
		case kinds > 1:
			return nil, fmt.Errorf("%s: parameter %q has more than one of string, array and map [parameter]", where, p.Name)
		case def.isMap && (p.String != nil || p.Array != nil):
			return nil, fmt.Errorf("%s: parameter %q takes a map [parameter]", where, p.Name)
		case def.isArray && (p.String != nil || p.Map != nil):
			return nil, fmt.Errorf("%s: parameter %q takes an array [parameter]", where, p.Name)
		case !def.isMap && !def.isArray && (p.Map != nil || p.Array != nil):
			return nil, fmt.Errorf("%s: parameter %q takes a string [parameter]", where, p.Name)
		}
	}
	return ps, nil
}

// Names lists the parameter names in announcement order.
func Names() []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.name
	}
	return names
}

// ApplyParameters overrides cfg with ps (already parsed). Empty strings are ignored, as
// Argo CD sends them for parameters the user cleared. Values are checked by Validate later;
// errors here name the parameter.
func ApplyParameters(cfg *config.Database, ps []Parameter) error {
	for _, p := range ps {
		def := lookup(p.Name)
		if def == nil {
			return fmt.Errorf("unknown parameter %q", p.Name)
		}
		var err error
		switch {
		case def.isMap:
			if len(p.Map) > 0 {
				err = def.setMap(cfg, p.Map)
			}
		case def.isArray:
			if len(p.Array) > 0 {
				err = def.setArray(cfg, p.Array)
			}
		case p.String != nil && *p.String != "":
			err = def.set(cfg, *p.String)
		}
		if err != nil {
			return fmt.Errorf("parameter %q: invalid value: %w [parameter]", p.Name, err)
		}
	}
	return nil
}

// announce describes every parameter with the effective value of cfg as its default.
func announce(cfg *config.Database) []ParameterAnnouncement {
	out := make([]ParameterAnnouncement, 0, len(params))
	for _, p := range params {
		a := ParameterAnnouncement{Name: p.name, Title: p.title, Tooltip: p.tooltip}
		switch {
		case p.isMap:
			a.CollectionType = "map"
			a.Map = map[string]string{}
			for k, v := range p.getMap(cfg) {
				a.Map[k] = v
			}
		case p.isArray:
			a.CollectionType = "array"
			a.Array = p.getArray(cfg)
		default:
			a.String = p.get(cfg)
		}
		out = append(out, a)
	}
	return out
}

// marshalAnnouncements renders announcements as indented JSON (map keys come out sorted).
func marshalAnnouncements(as []ParameterAnnouncement) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(as); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
