package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/render"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// readManifests reads the other manifests at the top of the app directory (not in the
// migrations directory, not schemahook.yaml): *.yaml, *.yml and *.json, sorted by name.
func readManifests(a *app, migDir string) ([]render.Manifest, error) {
	entries, err := fs.ReadDir(a.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.display("."), rootErr(err))
	}
	var out []render.Manifest
	var total int64
	count := 0
	for _, e := range entries {
		n := e.Name()
		ext := path.Ext(n)
		if e.IsDir() || n == config.FileName || strings.HasPrefix(n, ".") || n == migDir ||
			(ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		count++
		if count > MaxManifestFiles {
			return nil, fmt.Errorf("%s: more than %d manifest files [limit-files]", a.display("."), MaxManifestFiles)
		}
		b, err := readCapped(a, n, MaxManifestFileSize)
		if err != nil {
			return nil, err
		}
		total += int64(len(b))
		if total > MaxManifestsSize {
			return nil, fmt.Errorf("%s: manifests add up to more than %d bytes [limit-total-size]", a.display(n), MaxManifestsSize)
		}
		ms, err := parseManifests(a.display(n), b)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

var (
	docSep = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`) })
	lineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })
)

// parseManifests splits a YAML stream into documents and checks each: an object with
// apiVersion, kind and metadata.name; no plaintext Secret; a SealedSecret that decodes into
// the sealed-secrets type. Errors name the file and the line.
func parseManifests(file string, data []byte) ([]render.Manifest, error) {
	var out []render.Manifest
	for _, d := range splitDocuments(data) {
		js, err := yaml.YAMLToJSON([]byte(d.text))
		if err != nil {
			return nil, yamlError(file, d.line, err)
		}
		js = bytes.TrimSpace(js)
		if len(js) == 0 || string(js) == "null" {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, firstContentLine(d.text, d.line))
		obj, err := checkManifest(where, js)
		if err != nil {
			return nil, err
		}
		out = append(out, render.Manifest{Source: where, Object: obj})
	}
	return out, nil
}

// document is one document of a YAML stream and the line it starts on.
type document struct {
	text string
	line int
}

// splitDocuments cuts a YAML stream at its --- lines.
func splitDocuments(data []byte) []document {
	var docs []document
	start, line := 0, 1
	for _, loc := range docSep().FindAllIndex(data, -1) {
		docs = append(docs, document{string(data[start:loc[0]]), line})
		line += bytes.Count(data[start:loc[1]], []byte("\n"))
		start = loc[1]
	}
	return append(docs, document{string(data[start:]), line})
}

// yamlError names the line of the stream a YAML error of the document at line is on.
func yamlError(file string, line int, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "yaml: "); i >= 0 {
		msg = msg[i+len("yaml: "):]
	}
	if m := lineRE().FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		line += n - 1
		msg = strings.TrimPrefix(lineRE().ReplaceAllString(msg, ""), ": ")
	}
	return fmt.Errorf("%s:%d: invalid YAML: %s [manifest-yaml]", file, line, msg)
}

// checkManifest decodes one document's JSON into an object and refuses what must not pass
// through: no Kubernetes object, a plaintext Secret, a SealedSecret that is not one.
func checkManifest(where string, js []byte) (map[string]any, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber() // numbers pass through exactly, not as float64
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%s: not a Kubernetes object (want a mapping with apiVersion, kind and metadata) [manifest-object]", where)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return nil, fmt.Errorf("%s: not a Kubernetes object: apiVersion, kind and metadata.name are required [manifest-object]", where)
	}
	switch {
	case kind == "Secret" && apiVersion == "v1":
		return nil, fmt.Errorf("%s: Secret %q in plaintext refused: secrets go to Git sealed: run `kubeseal` or `schemahook seal --cert CERT --name %s --namespace NS --key KEY` and commit the SealedSecret [plaintext-secret]", where, name, name)
	case kind == "SealedSecret" && apiVersion == "bitnami.com/v1alpha1":
		var ss sealedSecret
		strict, err := sigsjson.UnmarshalStrict(js, &ss, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
		if err == nil && len(strict) > 0 {
			err = strict[0]
		}
		if err != nil {
			return nil, fmt.Errorf("%s: SealedSecret %q: %v [sealed-secret]", where, name, strings.TrimPrefix(err.Error(), "json: "))
		}
		if len(ss.Spec.EncryptedData) == 0 && len(ss.Spec.Data) == 0 {
			return nil, fmt.Errorf("%s: SealedSecret %q has no spec.encryptedData [sealed-secret]", where, name)
		}
	}
	return obj, nil
}

// firstContentLine is the line of a document's first non-blank, non-comment line.
func firstContentLine(text string, line int) int {
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") {
			return line
		}
		line++
	}
	return line
}
