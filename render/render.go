// Package render turns an effective config and a migration directory into the Kubernetes
// objects docs/architecture.md lists. It is a pure function: no clock, no environment, no
// map order leaks, so the same input always gives byte-identical output and Argo CD's diff
// only moves when Git does.
package render

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/schemahook/schemahook/config"
	yaml "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Argo CD annotations and the values render uses.
const (
	AnnotationHook             = "argocd.argoproj.io/hook"
	AnnotationHookDeletePolicy = "argocd.argoproj.io/hook-delete-policy"
	AnnotationSyncWave         = "argocd.argoproj.io/sync-wave"
	AnnotationSyncOptions      = "argocd.argoproj.io/sync-options"
	AnnotationRevision         = "schemahook.dev/revision"

	// WaveCredentials runs before WaveMigrate, so the Secret the Job reads exists first.
	WaveCredentials = "-1"
	WaveMigrate     = "0"
)

// ShardBudget is how many bytes of keys and values one ConfigMap carries before render
// starts another: under the API server's 1 MiB limit with room for metadata.
const ShardBudget = 900 << 10

// Object is one rendered manifest as generic JSON-shaped data; Encode writes it with sorted
// keys.
type Object = map[string]any

// Input is everything a render depends on. Callers resolve and validate it (package plugin).
type Input struct {
	// Name prefixes every object; a DNS-1123 label (shortened names keep a hash of it).
	Name string
	// PartOf is the app.kubernetes.io/part-of label: the Argo CD Application, else Name.
	PartOf string
	// Revision is the Git commit rendered; it goes on the Job only (see schemaConfigMaps).
	Revision string
	// Image is the hook Job's container image.
	Image string
	// Config is the effective, validated config.
	Config *config.Database
	// ConfigSource names where Config came from (schemahook.yaml, parameters) in errors
	// about what it set.
	ConfigSource string
	// Files are the migration directory's files, sorted by Name (slash-separated, relative
	// to the migrations directory), including the sum file: the exact bytes the Job reads.
	Files []File
	// Manifests are the other manifests of the app directory in file, then document order.
	Manifests []Manifest
	// Schema is the app directory's schema.sql, "" when it has none (schema.go).
	Schema string
}

// File is one file of the migrations directory.
type File struct {
	Name    string
	Content string
}

// Manifest is a passed-through document of the app directory.
type Manifest struct {
	Source string // file:line, for errors
	Object Object
}

// Render builds the objects in a stable order: credentials SealedSecrets (wave -1 hooks),
// the migrations ConfigMap(s) and Job (wave 0 hooks), the schema ConfigMap(s), then every
// other manifest as found.
func Render(in Input) ([]Object, error) {
	if msgs := validation.IsDNS1123Label(in.Name); len(msgs) > 0 {
		return nil, fmt.Errorf("name %q: %s", in.Name, strings.Join(msgs, "; "))
	}
	if in.Config == nil {
		return nil, fmt.Errorf("render %s: no config", in.Name)
	}
	data, err := configMapData(in.Files)
	if err != nil {
		return nil, err
	}
	if data, err = addSchema(in, data); err != nil {
		return nil, err
	}
	shards := shard(data)

	var creds, others []Object
	credNames := credentialSecretNames(in.Config)
	for _, m := range in.Manifests {
		if isSealedSecret(m.Object) && credNames[nameOf(m.Object)] {
			creds = append(creds, credentialHook(m.Object))
			continue
		}
		others = append(others, m.Object)
	}

	// One data map per shard, shared by the hook and the schema ConfigMap of that shard, so
	// Encode writes its (large) YAML once.
	shardData := make([]map[string]any, len(shards))
	for i, sh := range shards {
		shardData[i] = make(map[string]any, len(sh))
		for _, e := range sh {
			shardData[i][e.key] = e.content
		}
	}

	out := append([]Object{}, creds...)
	migrationNames := make([]string, len(shards))
	for i := range shards {
		migrationNames[i] = shardName(in.Name, "migrations", i, len(shards))
		cm := configMap(in, migrationNames[i], "migrations", shardData[i])
		setAnnotations(cm, map[string]string{
			AnnotationHook:             "PreSync",
			AnnotationHookDeletePolicy: "BeforeHookCreation",
			AnnotationSyncWave:         WaveMigrate,
			AnnotationSyncOptions:      "ServerSideApply=true",
		})
		out = append(out, cm)
	}
	job, err := migrateJob(in, migrationNames, shards)
	if err != nil {
		return nil, err
	}
	jobObj, err := ToObject(*job)
	if err != nil {
		return nil, err
	}
	out = append(out, jobObj)
	schemaCMs := schemaConfigMaps(in, shardData)
	out = append(out, schemaCMs...)
	if in.Config.Spec.Drift.Schedule != "" {
		var schemaNames []string
		for _, cm := range schemaCMs {
			schemaNames = append(schemaNames, nameOf(cm))
		}
		cron, err := driftCronJob(in, job, migrationNames, schemaNames)
		if err != nil {
			return nil, err
		}
		out = append(out, cron)
	}
	out = append(out, others...)
	return out, nil
}

// schemaConfigMaps are the normal resources Argo CD diffs: the readable SQL and the sum.
// The Git revision is deliberately not in them: it changes on every commit, so it would
// make every Application OutOfSync on unrelated commits. It is on the hook Job instead.
func schemaConfigMaps(in Input, shards []map[string]any) []Object {
	var out []Object
	for i, sh := range shards {
		cm := configMap(in, shardName(in.Name, "schema", i, len(shards)), "schema", sh)
		setAnnotations(cm, map[string]string{AnnotationSyncOptions: "ServerSideApply=true"})
		out = append(out, cm)
	}
	return out
}

func configMap(in Input, name, component string, data map[string]any) Object {
	return Object{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   Object{"name": name, "labels": labels(in, component)},
		"data":       data,
	}
}

// labels are the standard app.kubernetes.io labels plus the database name; values are
// shortened like names. The database goes under schemahook.dev/database, not
// app.kubernetes.io/instance: that is Argo CD's default tracking label, which Argo CD sets to
// the Application's name on top-level objects, so on pod templates it would file the hook's
// pods under an Application that does not exist.
func labels(in Input, component string) map[string]any {
	partOf := in.PartOf
	if partOf == "" {
		partOf = in.Name
	}
	return map[string]any{
		"app.kubernetes.io/name":       "schemahook",
		"schemahook.dev/database":      LabelValue(in.Name),
		"app.kubernetes.io/component":  component,
		"app.kubernetes.io/part-of":    LabelValue(partOf),
		"app.kubernetes.io/managed-by": "schemahook",
	}
}

func setAnnotations(o Object, add map[string]string) {
	meta := o["metadata"].(Object)
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
	}
	for k, v := range add {
		ann[k] = v
	}
	meta["annotations"] = ann
}

// ConfigMapKey maps a file's relative path to a ConfigMap key, which must match
// [-._a-zA-Z0-9]+: "/" becomes "__" and any other byte outside the set becomes "-". The
// Job's volume maps each key back to its path, so the Job sees the directory unchanged.
func ConfigMapKey(name string) string {
	i := strings.IndexFunc(name, func(r rune) bool { return !keyByte(r) })
	if i < 0 {
		return name // the usual file name, kept without a copy
	}
	var b strings.Builder
	b.Grow(len(name) + 8)
	b.WriteString(name[:i])
	for ; i < len(name); i++ {
		switch c := name[i]; {
		case c == '/':
			b.WriteString("__")
		case keyByte(rune(c)):
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// keyByte reports whether c may stand in a ConfigMap key.
func keyByte(c rune) bool {
	return c == '-' || c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// entry is one key of the migrations ConfigMaps: a file's content and the path the Job
// mounts it at.
type entry struct{ key, path, content string }

func byKey(a, b entry) int { return strings.Compare(a.key, b.key) }

// configMapData keys the files, in key order, and refuses a key Kubernetes would refuse and
// two files that map to one key. The files come sorted by name, so the keys of a directory
// without renamed paths are already in order. Room is left for schema.sql (addSchema).
func configMapData(files []File) ([]entry, error) {
	data := make([]entry, 0, len(files)+1)
	refused := false
	for _, f := range files {
		key := ConfigMapKey(f.Name)
		// A key of ConfigMapKey has only key characters: only these cases can be refused.
		refused = refused || key == "" || len(key) > validation.DNS1123SubdomainMaxLength || key[0] == '.'
		data = append(data, entry{key, f.Name, f.Content})
	}
	if !slices.IsSortedFunc(data, byKey) {
		slices.SortStableFunc(data, byKey)
	}
	for i := 1; i < len(data) && !refused; i++ {
		refused = data[i].key == data[i-1].key
	}
	if refused {
		if err := refuseKeys(files); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// refuseKeys names, in file order, the first file whose key Kubernetes refuses or that maps
// to the key of an earlier file.
func refuseKeys(files []File) error {
	paths := make(map[string]string, len(files))
	for _, f := range files {
		key := ConfigMapKey(f.Name)
		if msgs := validation.IsConfigMapKey(key); len(msgs) > 0 {
			return fmt.Errorf("%s: cannot be a ConfigMap key: %s", f.Name, strings.Join(msgs, "; "))
		}
		if prev, ok := paths[key]; ok {
			return fmt.Errorf("%s and %s both map to ConfigMap key %q: rename one of them", prev, f.Name, key)
		}
		paths[key] = f.Name
	}
	return nil
}

// shard splits data (in key order) into ConfigMaps of at most ShardBudget bytes, so the
// same files always land in the same shard.
func shard(data []entry) [][]entry {
	var shards [][]entry
	start, size := 0, 0
	for i, e := range data {
		n := len(e.key) + len(e.content)
		if size > 0 && size+n > ShardBudget {
			shards = append(shards, data[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(shards, data[start:])
}

// shardName is "<name>-<suffix>" for a single shard, "<name>-<suffix>-<i+1>" otherwise.
func shardName(name, suffix string, i, n int) string {
	if n > 1 {
		suffix = fmt.Sprintf("%s-%d", suffix, i+1)
	}
	return ObjectName(name, suffix)
}

// ObjectName joins name and suffix into a DNS-1123 label of at most 63 characters. A name
// too long is cut and gets 8 hex characters of its sha256, so two long names that share a
// prefix still render distinct objects, and the same name always renders the same object.
func ObjectName(name, suffix string) string {
	full := name + "-" + suffix
	if len(full) <= validation.DNS1123LabelMaxLength {
		return full
	}
	sum := sha256.Sum256([]byte(name))
	hash := hex.EncodeToString(sum[:])[:8]
	keep := validation.DNS1123LabelMaxLength - len(suffix) - len(hash) - 2
	if keep < 1 {
		keep = 1
	}
	base := strings.TrimRight(name[:min(keep, len(name))], "-")
	return base + "-" + hash + "-" + suffix
}

// LabelValue shortens a label value to 63 characters the same way ObjectName does.
func LabelValue(v string) string {
	if len(v) <= validation.LabelValueMaxLength {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	hash := hex.EncodeToString(sum[:])[:8]
	base := strings.TrimRight(v[:validation.LabelValueMaxLength-len(hash)-1], "-_.")
	return base + "-" + hash
}

func nameOf(o Object) string {
	meta, _ := o["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

func isSealedSecret(o Object) bool {
	return o["apiVersion"] == "bitnami.com/v1alpha1" && o["kind"] == "SealedSecret"
}

// credentialSecretNames are the Secrets the Job reads: the target's and the dev server's.
func credentialSecretNames(c *config.Database) map[string]bool {
	names := map[string]bool{}
	if r := c.Spec.URL.SecretKeyRef; r != nil {
		names[r.Name] = true
	}
	if c.Spec.Dev.URL != nil && c.Spec.Dev.URL.SecretKeyRef != nil {
		names[c.Spec.Dev.URL.SecretKeyRef.Name] = true
	}
	return names
}

// credentialHook makes a credentials SealedSecret a PreSync hook one wave before the Job, so
// on the very first sync its Secret exists (Argo CD waits for the SealedSecret to be
// healthy, i.e. decrypted, before the next wave). Argo CD deletes such a hook before
// re-creating it on every sync (BeforeHookCreation, also its default before v3.3); to keep
// that from garbage-collecting the Secret the app uses, the Secret is created without an
// owner reference and marked as managed, so the re-created SealedSecret adopts and updates
// it in place. Both are template annotations: the ciphertext is untouched.
func credentialHook(src Object) Object {
	o := deepCopy(src)
	setAnnotations(o, map[string]string{
		AnnotationHook:             "PreSync",
		AnnotationHookDeletePolicy: "BeforeHookCreation",
		AnnotationSyncWave:         WaveCredentials,
	})
	ann := child(child(child(child(o, "spec"), "template"), "metadata"), "annotations")
	ann["sealedsecrets.bitnami.com/skip-set-owner-references"] = "true"
	ann["sealedsecrets.bitnami.com/managed"] = "true"
	return o
}

// child is the object under key in m, set to a new empty one when there is none.
func child(m map[string]any, key string) map[string]any {
	c, _ := m[key].(map[string]any)
	if c == nil {
		c = map[string]any{}
		m[key] = c
	}
	return c
}

func deepCopy(o Object) Object {
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("render: copy of a JSON object failed: %v", err))
	}
	var c Object
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("render: copy of a JSON object failed: %v", err))
	}
	return c
}

// Encode writes objs as one YAML stream, "---" between documents, map keys sorted (yaml.v2's
// order: by character, runs of digits by value). It emits YAML from the objects directly
// rather than through sigs.k8s.io/yaml's JSON round trip, which parses every document a
// second time and made up half of generate's time on large directories.
//
// Documents are encoded concurrently and joined in order, so the output does not depend on
// scheduling; a "data" map shared by several documents is encoded once (see splitData).
func Encode(w io.Writer, objs []Object) error {
	type part struct {
		head, tail map[string]any // the keys before and after "data"
		data       map[string]any
	}
	parts := make([]part, len(objs))
	var shared []map[string]any
	index := map[uintptr]int{}
	for i, o := range objs {
		head, data, tail, ok := splitData(o)
		if !ok {
			parts[i] = part{head: o}
			continue
		}
		parts[i] = part{head: head, tail: tail, data: data}
		if _, seen := index[mapID(data)]; !seen {
			index[mapID(data)] = len(shared)
			shared = append(shared, data)
		}
	}
	plans := make([]*dataYAML, len(shared))
	heads, tails := make([][]byte, len(objs)), make([][]byte, len(objs))
	errs := make([]error, len(objs)+len(shared))
	var wg sync.WaitGroup
	for i, d := range shared {
		wg.Go(func() {
			plans[i], errs[len(objs)+i] = planData(d)
		})
	}
	for i, p := range parts {
		wg.Go(func() {
			heads[i], errs[i] = yaml.Marshal(normalize(p.head))
			if errs[i] == nil && p.tail != nil {
				tails[i], errs[i] = yaml.Marshal(normalize(p.tail))
			}
		})
	}
	wg.Wait()
	for i, p := range parts {
		err := errs[i]
		if err == nil && p.data != nil {
			err = errs[len(objs)+index[mapID(p.data)]]
		}
		if err != nil {
			return fmt.Errorf("encode %s: %w", nameOf(objs[i]), err)
		}
	}
	// Written once all is planned, so an error leaves w untouched. A shared data map's
	// YAML, most of the bytes, is written once per document that holds it, through the
	// buffer: joining the stream in one buffer of its size first faulted in fresh pages
	// for all of it.
	bw := bufio.NewWriterSize(w, 32<<10)
	for i, p := range parts {
		if i > 0 {
			bw.Write(docSep)
		}
		bw.Write(heads[i])
		if p.data != nil {
			// Top-level keys in sorted order: apiVersion, data, kind, metadata.
			plans[index[mapID(p.data)]].write(bw)
			bw.Write(tails[i])
		}
	}
	return bw.Flush()
}

var docSep = []byte("---\n")

// splitData splits a ConfigMap-shaped object (top-level keys apiVersion, data, kind,
// metadata only) into the keys that sort before "data", its data map, and the keys after.
// A block mapping can be written in pieces, so the three encodings concatenate to exactly
// the encoding of the whole object.
func splitData(o Object) (head map[string]any, data map[string]any, tail map[string]any, ok bool) {
	data, ok = o["data"].(map[string]any)
	if !ok {
		return nil, nil, nil, false
	}
	head, tail = map[string]any{}, map[string]any{}
	for k, v := range o {
		switch k {
		case "apiVersion":
			head[k] = v
		case "kind", "metadata":
			tail[k] = v
		case "data":
		default:
			return nil, nil, nil, false
		}
	}
	if len(head) == 0 || len(tail) == 0 {
		return nil, nil, nil, false
	}
	return head, data, tail, true
}

// mapID identifies a map by its pointer: the same map value shared by two objects.
func mapID(m map[string]any) uintptr {
	return reflect.ValueOf(m).Pointer()
}

// normalize turns json.Number into int64 (or float64 when not integral), the numbers yaml.v2
// writes as numbers; everything else is already a YAML-ready JSON value.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = normalize(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = normalize(c)
		}
		return out
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
		return t
	}
	return v
}
