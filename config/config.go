// Package config is schemahook.yaml: the Database document an app directory carries, its
// defaults, and a strict load that names every unknown field and bad value, because a typo
// in a config that drives a database migration must stop the render, not be ignored.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
)

// FileName is the config file; its presence is what the plugin's discovery matches.
const FileName = "schemahook.yaml"

// The document's type.
const (
	APIVersion = "schemahook.dev/v1alpha1"
	Kind       = "Database"
)

// MaxSize caps schemahook.yaml: a config is a few hundred bytes, anything near this is a mistake.
const MaxSize = 64 << 10

// The defaults of a run, in one place: the spec's (defaultSpec), the migrate command's
// flags and the hook's Options take them from here. The value lists live with their
// owners: migrations.Formats, engine.TxModes, lint.Levels, and DevModes below.
const (
	DefaultURLKey           = "url" // key of the URL in the Secret
	DefaultMigrationsDir    = "migrations"
	DefaultFormat           = migrations.FormatAuto
	DefaultDevMode          = DevEphemeral
	DefaultLintPolicy       = lint.LevelError
	DefaultTxMode           = engine.TxFile
	DefaultLockTimeout      = 10 * time.Second
	DefaultTimeout          = 30 * time.Minute
	DefaultConnectTimeout   = time.Minute
	DefaultRevisionsSchema  = "schemahook"
	DefaultLockRetries      = 5
	DefaultLockRetryWait    = time.Second
	DefaultLockRetryMaxWait = 30 * time.Second
	DefaultProgressInterval = 10 * time.Second
	DefaultDriftPolicy      = lint.LevelWarn
)

// Dev modes: where the migrations are replayed before the target (spec.dev.mode). The hook's
// --dev-url takes DevEphemeral, DevNone or a URL.
const (
	DevEphemeral = "ephemeral" // a throwaway Postgres inside the hook Job
	DevNone      = "none"      // no replay
	DevURL       = "url"       // the dev server of spec.dev.url
)

// DevModes lists the dev modes, the default first.
var DevModes = []string{DevEphemeral, DevNone, DevURL}

var defaultSpec = Spec{
	URL:        URLSource{SecretKeyRef: &SecretKeyRef{Key: DefaultURLKey}},
	Migrations: Migrations{Dir: DefaultMigrationsDir, Format: string(DefaultFormat)},
	Dev:        Dev{Mode: DefaultDevMode},
	Lint:       Lint{Policy: DefaultLintPolicy},
	Apply:      Apply{TxMode: string(DefaultTxMode), LockTimeout: shortDuration(DefaultLockTimeout), Timeout: shortDuration(DefaultTimeout)},
	Revisions:  Revisions{Schema: DefaultRevisionsSchema},
	Drift:      Drift{Policy: DefaultDriftPolicy},
}

// shortDuration writes d as a user would ("30m", not time.Duration's "30m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Database is the schemahook.yaml document.
type Database struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the database; the name prefixes every rendered object.
type Metadata struct {
	Name string `json:"name,omitempty"`
}

// Spec is what the hook Job does and with which credentials.
type Spec struct {
	URL        URLSource  `json:"url"`
	Migrations Migrations `json:"migrations"`
	Dev        Dev        `json:"dev"`
	Lint       Lint       `json:"lint"`
	Apply      Apply      `json:"apply"`
	Revisions  Revisions  `json:"revisions"`
	// Drift: see drift.go.
	Drift Drift `json:"drift"`
	// Image overrides the hook Job's image (default: the image this binary was built for).
	Image string `json:"image,omitempty"`
	// Resources of the hook container; unset fields keep the defaults.
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// Job fits the hook Job's pod to the cluster (service account, mesh, scheduling, ...).
	Job Job `json:"job,omitempty"`
}

// URLSource points at a database URL; only a Secret reference, never a literal, so a URL
// cannot end up in Git or in rendered manifests.
type URLSource struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// SecretKeyRef names a key of a Secret in the Application's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Migrations locates the directory inside the app directory.
type Migrations struct {
	Dir    string `json:"dir,omitempty"`
	Format string `json:"format,omitempty"`
}

// Dev chooses the database the migrations are first replayed on.
type Dev struct {
	Mode string     `json:"mode,omitempty"` // one of DevModes (url is implied by url)
	URL  *URLSource `json:"url,omitempty"`
}

// Lint sets the policy and per-rule overrides (CODE: error|warn|off).
type Lint struct {
	Policy lint.Level            `json:"policy,omitempty"`
	Rules  map[string]lint.Level `json:"rules,omitempty"`
	// SmallTable, when set, makes the hook report lock-heavy findings on existing tables
	// under both limits as warnings (docs/lint.md, "What the hook Job adds"). Unset by
	// default: an upgrade never unblocks what blocked before.
	SmallTable *SmallTable `json:"smallTable,omitempty"`
}

// SmallTable is spec.lint.smallTable: a table is small with at most Rows estimated rows
// and at most Size on disk (Postgres units: "10MB").
type SmallTable struct {
	Rows *int64 `json:"rows,omitempty"`
	Size string `json:"size,omitempty"`
}

// Flag writes the setting as the migrate command's --lint-small-table takes it.
func (t *SmallTable) Flag() string {
	if t == nil || t.Rows == nil {
		return ""
	}
	return fmt.Sprintf("%d:%s", *t.Rows, t.Size)
}

// Apply tunes how the target is migrated. Durations are Go durations ("10s", "30m").
type Apply struct {
	TxMode      string `json:"txMode,omitempty"`
	LockTimeout string `json:"lockTimeout,omitempty"`
	Timeout     string `json:"timeout,omitempty"`
	OutOfOrder  bool   `json:"outOfOrder,omitempty"`
	// LockRetries tunes how a statement that failed only on lock_timeout is retried; unset
	// keeps the runtime's defaults (DefaultLockRetries retries, DefaultLockRetryWait
	// doubling to at most DefaultLockRetryMaxWait).
	LockRetries *LockRetries `json:"lockRetries,omitempty"`
	// ProgressInterval is how often a long statement logs its progress (default
	// DefaultProgressInterval).
	ProgressInterval string `json:"progressInterval,omitempty"`
}

// LockRetries: Attempts retries after the first try (0 turns retrying off), Wait before the
// first retry, doubled for each next one up to MaxWait, with jitter.
type LockRetries struct {
	Attempts *int   `json:"attempts,omitempty"`
	Wait     string `json:"wait,omitempty"`
	MaxWait  string `json:"maxWait,omitempty"`
}

// MaxLockRetries bounds spec.apply.lockRetries.attempts; the run's timeout bounds the time.
const MaxLockRetries = 100

// Revisions names the schema of the revisions table; one per migration directory.
type Revisions struct {
	Schema string `json:"schema,omitempty"`
}

// Default returns the config used when the directory has no schemahook.yaml.
func Default() *Database {
	d := &Database{APIVersion: APIVersion, Kind: Kind, Spec: defaultSpec}
	ref := *defaultSpec.URL.SecretKeyRef
	d.Spec.URL.SecretKeyRef = &ref
	return d
}

// Load parses schemahook.yaml strictly over the defaults: unknown or duplicate fields are
// errors naming their path. It does not Validate, since parameters may still override
// values (call Validate on the effective config). file names the source in errors.
func Load(file string, data []byte) (*Database, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %d bytes is over the %d byte limit for a config file", file, len(data), MaxSize)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, cleanYAMLError(err))
	}
	d := Default()
	if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
		return nil, fmt.Errorf("%s: empty document: want apiVersion %s, kind %s", file, APIVersion, Kind)
	}
	strict, err := sigsjson.UnmarshalStrict(js, d, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, cleanJSONError(err))
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = explainUnknownJobField(e.Error())
		}
		return nil, fmt.Errorf("%s: %s", file, strings.Join(msgs, "; "))
	}
	// A secretKeyRef written without a key keeps the default key.
	if r := d.Spec.URL.SecretKeyRef; r != nil && r.Key == "" {
		r.Key = DefaultURLKey
	}
	return d, nil
}

// cleanYAMLError drops the converter's prefixes, keeping "yaml: line N: ...".
func cleanYAMLError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "yaml: "); i >= 0 {
		msg = msg[i:]
	}
	return errors.New(msg)
}

func cleanJSONError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return errors.New(msg)
}

// Validate checks every value and names the offending field and value.
func (d *Database) Validate() error {
	var errs []string
	bad := func(field, value, want string) {
		errs = append(errs, fmt.Sprintf("%s: invalid value %q: %s", field, value, want))
	}
	if d.APIVersion != APIVersion {
		bad("apiVersion", d.APIVersion, "want "+APIVersion)
	}
	if d.Kind != Kind {
		bad("kind", d.Kind, "want "+Kind)
	}
	if n := d.Metadata.Name; n != "" {
		if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
			bad("metadata.name", n, strings.Join(msgs, "; "))
		}
	}
	s := &d.Spec
	checkRef := func(field string, r *SecretKeyRef, required bool) {
		if r == nil {
			if required {
				errs = append(errs, field+": required: the Secret holding the database URL")
			}
			return
		}
		if r.Name == "" {
			errs = append(errs, field+".name: required: the name of the Secret holding the URL")
		} else if msgs := validation.IsDNS1123Subdomain(r.Name); len(msgs) > 0 {
			bad(field+".name", r.Name, "want a Secret name (DNS-1123 subdomain)")
		}
		if msgs := validation.IsConfigMapKey(r.Key); r.Key == "" || len(msgs) > 0 {
			bad(field+".key", r.Key, "want a Secret key ([-._a-zA-Z0-9]+)")
		}
	}
	checkRef("spec.url.secretKeyRef", s.URL.SecretKeyRef, true)
	if err := checkRelDir(s.Migrations.Dir); err != "" {
		bad("spec.migrations.dir", s.Migrations.Dir, err)
	}
	if !migrations.Format(s.Migrations.Format).Valid() {
		bad("spec.migrations.format", s.Migrations.Format, "one of "+enum.Join(migrations.Formats, ", "))
	}
	switch {
	case !slices.Contains(DevModes, s.Dev.Mode):
		bad("spec.dev.mode", s.Dev.Mode, "one of "+strings.Join(DevModes, ", "))
	case s.Dev.Mode == DevURL && (s.Dev.URL == nil || s.Dev.URL.SecretKeyRef == nil):
		errs = append(errs, "spec.dev.url.secretKeyRef: required when spec.dev.mode is url")
	case s.Dev.Mode != DevURL && s.Dev.URL != nil:
		errs = append(errs, fmt.Sprintf("spec.dev.url: set while spec.dev.mode is %q: remove one of them", s.Dev.Mode))
	}
	if s.Dev.URL != nil {
		checkRef("spec.dev.url.secretKeyRef", s.Dev.URL.SecretKeyRef, true)
	}
	if !s.Lint.Policy.Valid() {
		bad("spec.lint.policy", string(s.Lint.Policy), "one of "+enum.Join(lint.Levels, ", "))
	}
	for _, code := range slices.Sorted(maps.Keys(s.Lint.Rules)) {
		if _, ok := lint.RuleByCode(code); !ok {
			bad("spec.lint.rules", code, "want a rule code that `schemahook lint` knows (see docs/lint.md)")
		}
		if lvl := s.Lint.Rules[code]; !lvl.Valid() {
			bad("spec.lint.rules."+code, string(lvl), "one of "+enum.Join(lint.Levels, ", "))
		}
	}
	if t := s.Lint.SmallTable; t != nil {
		switch {
		case t.Rows == nil:
			errs = append(errs, "spec.lint.smallTable.rows: required (estimated rows at most, e.g. 10000)")
		case *t.Rows < 0:
			bad("spec.lint.smallTable.rows", fmt.Sprint(*t.Rows), "want 0 or more rows")
		}
		if t.Size == "" {
			errs = append(errs, "spec.lint.smallTable.size: required (size on disk at most, e.g. 10MB)")
		} else if _, err := lint.ParseSize(t.Size); err != nil {
			bad("spec.lint.smallTable.size", t.Size, "want a size such as 8MB, 512kB or a number of bytes")
		}
	}
	if !engine.TxMode(s.Apply.TxMode).Valid() {
		bad("spec.apply.txMode", s.Apply.TxMode, "one of "+enum.Join(engine.TxModes, ", "))
	}
	durations := []struct{ field, v string }{{"spec.apply.lockTimeout", s.Apply.LockTimeout}, {"spec.apply.timeout", s.Apply.Timeout}}
	if s.Apply.ProgressInterval != "" {
		durations = append(durations, struct{ field, v string }{"spec.apply.progressInterval", s.Apply.ProgressInterval})
	}
	if r := s.Apply.LockRetries; r != nil {
		if r.Attempts != nil && (*r.Attempts < 0 || *r.Attempts > MaxLockRetries) {
			bad("spec.apply.lockRetries.attempts", fmt.Sprint(*r.Attempts), fmt.Sprintf("want 0 (no retries) to %d", MaxLockRetries))
		}
		for _, f := range []struct{ field, v string }{{"spec.apply.lockRetries.wait", r.Wait}, {"spec.apply.lockRetries.maxWait", r.MaxWait}} {
			if f.v != "" {
				durations = append(durations, f)
			}
		}
	}
	for _, f := range durations {
		if dur, err := time.ParseDuration(f.v); err != nil || dur <= 0 {
			bad(f.field, f.v, "want a positive duration such as 10s or 30m")
		}
	}
	if !lowerIdent(s.Revisions.Schema) {
		bad("spec.revisions.schema", s.Revisions.Schema, "want a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)")
	}
	if s.Image != "" && !imageRE().MatchString(s.Image) {
		bad("spec.image", s.Image, "want an image reference such as registry/repo:tag")
	}
	if r := s.Resources; r != nil {
		if len(r.Claims) > 0 {
			errs = append(errs, "spec.resources.claims: not supported")
		}
		for _, kind := range []struct {
			field string
			l     corev1.ResourceList
		}{{"spec.resources.requests", r.Requests}, {"spec.resources.limits", r.Limits}} {
			for _, name := range slices.Sorted(maps.Keys(kind.l)) {
				if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage {
					bad(kind.field, string(name), "want cpu, memory or ephemeral-storage")
				}
				if q := kind.l[name]; q.Sign() <= 0 {
					bad(kind.field+"."+string(name), q.String(), "want a positive quantity")
				}
			}
		}
	}
	errs = append(errs, s.validateJob()...)
	errs = append(errs, s.validateDrift()...)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// lowerIdent reports whether s is a lowercase SQL identifier, [a-z_][a-z0-9_]{0,62}: a
// loop, as a regexp's counted repetition makes a program whose compilation took 0.7 ms of
// every generate.
func lowerIdent(s string) bool {
	if s == "" || len(s) > 63 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// imageRE is compiled on first use: its counted repetitions make a large program, whose
// compilation would otherwise be part of every command's start-up. It is deliberately
// loose: registry/path[:tag][@digest] without spaces or quotes.
var imageRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9._\-/:]*[a-z0-9]?(:[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
})

// checkRelDir refuses absolute paths and "..": the migrations dir stays inside the app dir.
func checkRelDir(dir string) string {
	if dir == "" {
		return "want a relative directory"
	}
	if strings.HasPrefix(dir, "/") || strings.Contains(dir, `\`) {
		return "want a relative, slash-separated directory inside the app directory"
	}
	for _, part := range strings.Split(dir, "/") {
		if part == ".." {
			return "must not leave the app directory (..)"
		}
	}
	return ""
}

// DefaultResources are the hook container's requests and limits: enough for a small
// ephemeral Postgres plus the runtime, capped so a runaway replay cannot starve the node.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("256Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("1"),
			corev1.ResourceMemory: resource.MustParse("1Gi"),
		},
	}
}

// EffectiveResources overlays spec.resources on the defaults, key by key.
func (s *Spec) EffectiveResources() corev1.ResourceRequirements {
	r := DefaultResources()
	if s.Resources == nil {
		return r
	}
	for k, v := range s.Resources.Requests {
		r.Requests[k] = v
	}
	for k, v := range s.Resources.Limits {
		r.Limits[k] = v
	}
	return r
}
