package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/internal/version"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/render"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Input limits: generate runs inside the repo-server on whatever a repository holds, so
// every read is capped. A migration file must fit one ConfigMap shard.
const (
	MaxMigrationFileSize = render.ShardBudget             // per migration file
	MaxMigrationsSize    = migrations.DefaultMaxTotalSize // whole migrations directory
	MaxMigrationFiles    = migrations.DefaultMaxFiles
	MaxManifestFileSize  = 1 << 20 // per passed-through manifest file
	MaxManifestsSize     = 8 << 20 // all manifest files together
	MaxManifestFiles     = 200
)

// Generate is the CMP generate command: it renders appDir (the directory Argo CD runs the
// plugin in) with env and writes the YAML stream to w. It reads nothing outside the
// repository root and touches no database, network or cluster.
func Generate(w io.Writer, appDir string, env Env) error {
	in, err := load(appDir, env)
	if err != nil {
		return err
	}
	objs, err := render.Render(in)
	if err != nil {
		return err
	}
	return render.Encode(w, objs)
}

// Announce returns the dynamic parameter announcement: every parameter with the value it
// takes for appDir (from schemahook.yaml and the current parameters) as its default.
func Announce(appDir string, env Env) ([]byte, error) {
	a, err := open(appDir, env)
	if err != nil {
		return nil, err
	}
	defer a.root.Close()
	// Announce even when the config is incomplete, so the UI can show what to fill in.
	cfg, _, err := effectiveConfig(a, env, false)
	if err != nil {
		return nil, err
	}
	return marshalAnnouncements(announce(cfg))
}

// app is an opened app directory.
type app struct {
	root    *os.Root
	fsys    fs.FS  // the app directory inside root
	rel     string // the app directory relative to the repository root ("." when unknown)
	absName string // the app directory's base name, the last fallback for the object names
}

// open finds the repository root (appDir minus ARGOCD_APP_SOURCE_PATH when that is its
// suffix, else appDir itself) and opens it with os.OpenRoot, so no path or symlink can
// lead a read outside it.
func open(appDir string, env Env) (*app, error) {
	abs, err := filepath.Abs(appDir)
	if err != nil {
		return nil, fmt.Errorf("app directory %s: %w", appDir, err)
	}
	rootDir, rel := abs, "."
	if sp := path.Clean(filepath.ToSlash(env.SourcePath)); env.SourcePath != "" && sp != "." && !strings.HasPrefix(sp, "../") && !path.IsAbs(sp) {
		suffix := string(filepath.Separator) + filepath.FromSlash(sp)
		if strings.HasSuffix(abs, suffix) {
			rootDir, rel = strings.TrimSuffix(abs, suffix), sp
			if rootDir == "" {
				rootDir = string(filepath.Separator)
			}
		}
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", rootDir, err)
	}
	fsys, err := fs.Sub(root.FS(), rel)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("open app directory %s: %w", rel, err)
	}
	return &app{root: root, fsys: fsys, rel: rel, absName: filepath.Base(abs)}, nil
}

// display names a file inside the app directory as the user knows it (repository-relative).
func (a *app) display(name string) string {
	return path.Join(a.rel, name)
}

// effectiveConfig is defaults < schemahook.yaml < parameters, validated, and the name the
// objects take: the name parameter or metadata.name, else the Application's, else the dir's.
func effectiveConfig(a *app, env Env, validate bool) (*config.Database, string, error) {
	cfg := config.Default()
	where := a.display(config.FileName)
	data, err := readCapped(a, config.FileName, config.MaxSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		where = "config (defaults, no " + where + ")"
	case err != nil:
		return nil, "", err
	default:
		if cfg, err = config.Load(a.display(config.FileName), data); err != nil {
			return nil, "", fmt.Errorf("%w [config]", err)
		}
	}
	ps, err := ParseParameters(env.Parameters)
	if err != nil {
		return nil, "", err
	}
	if err := ApplyParameters(cfg, ps); err != nil {
		return nil, "", err
	}
	name := cfg.Metadata.Name
	if name == "" {
		name = sanitizeName(env.AppName)
	}
	if name == "" {
		name = sanitizeName(a.absName)
	}
	if name == "" {
		name = "schemahook"
	}
	if cfg.Metadata.Name == "" {
		cfg.Metadata.Name = name
	}
	if !validate {
		return cfg, name, nil
	}
	if err := cfg.Validate(); err != nil {
		if len(ps) > 0 {
			where += " with ARGOCD_APP_PARAMETERS"
		}
		return nil, "", fmt.Errorf("%s: %w [config]", where, err)
	}
	return cfg, name, nil
}

// sanitizeName turns an Application or directory name into a DNS-1123 label.
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	for strings.Contains(n, "--") {
		n = strings.ReplaceAll(n, "--", "-")
	}
	if len(n) > validation.DNS1123LabelMaxLength {
		n = strings.Trim(render.LabelValue(n), "-")
	}
	return n
}

// load reads and checks everything render needs from the app directory.
func load(appDir string, env Env) (render.Input, error) {
	var in render.Input
	a, err := open(appDir, env)
	if err != nil {
		return in, err
	}
	defer a.root.Close()
	cfg, name, err := effectiveConfig(a, env, true)
	if err != nil {
		return in, err
	}
	migDir := path.Clean(cfg.Spec.Migrations.Dir)
	// A Root of its own at the migrations directory: every file is then one openat, and
	// still nothing leads outside (this root is inside the repository's).
	if st, err := fs.Stat(a.fsys, migDir); err != nil || !st.IsDir() {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return in, fmt.Errorf("%s: %w", a.display(migDir), describeOpenErr(err))
		}
		return in, fmt.Errorf("%s: migrations directory not found (spec.migrations.dir) [migrations-dir]", a.display(migDir))
	}
	migRoot, err := a.root.OpenRoot(path.Join(a.rel, migDir))
	if err != nil {
		return in, fmt.Errorf("%s: %w", a.display(migDir), describeOpenErr(err))
	}
	defer migRoot.Close()
	dirFS := migRoot.FS()
	rec := &recordingFS{fsys: dirFS, files: map[string][]byte{}}
	dir, err := migrations.Read(rec, migrations.Options{
		Format:       migrations.Format(cfg.Spec.Migrations.Format),
		MaxFileSize:  MaxMigrationFileSize,
		MaxTotalSize: MaxMigrationsSize,
		MaxFiles:     MaxMigrationFiles,
		Path:         a.display(migDir),
	})
	if err != nil {
		return in, err
	}
	if dir.Sum != nil {
		if err := dir.CheckSum(); err != nil {
			return in, err
		}
	}
	files, err := dirFiles(rec, a.display(migDir))
	if err != nil {
		return in, err
	}
	manifests, err := readManifests(a, migDir)
	if err != nil {
		return in, err
	}
	schemaSQL, err := readSchema(a, dir)
	if err != nil {
		return in, err
	}
	// The Job reads the directory in the format detected here, so it cannot detect another.
	cfg.Spec.Migrations.Format = string(dir.Format)
	image := cfg.Spec.Image
	if image == "" {
		image = version.Image()
	}
	partOf := env.AppName
	if partOf == "" {
		partOf = name
	}
	source := a.display(config.FileName)
	if strings.TrimSpace(env.Parameters) != "" {
		source += " with ARGOCD_APP_PARAMETERS"
	}
	return render.Input{
		ConfigSource: source,
		Name:         name,
		PartOf:       partOf,
		Revision:     env.Revision,
		Image:        image,
		Config:       cfg,
		Files:        files,
		Manifests:    manifests,
		Schema:       schemaSQL,
	}, nil
}

// rootErr shortens os.Root errors to their cause.
func rootErr(err error) error {
	if err == nil {
		return errors.New("not a directory")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dirFiles are the files of the migrations directory the Job needs, byte for byte: what
// migrations.Read looks at (top-level .sql files and the sum file) plus atlas.sum, which
// marks a directory as Atlas's. Read has already checked types and sizes.
func dirFiles(dirFS *recordingFS, display string) ([]render.File, error) {
	// migrations.Read has listed the directory through dirFS; list it again only if not.
	entries := dirFS.top
	if entries == nil {
		var err error
		if entries, err = fs.ReadDir(dirFS.fsys, "."); err != nil {
			return nil, fmt.Errorf("%s: %w", display, rootErr(err))
		}
	}
	var files []render.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "README") {
			continue
		}
		if !strings.HasSuffix(n, ".sql") && n != migrations.SumFileName && n != "atlas.sum" {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", path.Join(display, n))
		}
		b, ok := dirFS.files[n]
		if !ok {
			var err error
			if b, err = fs.ReadFile(dirFS.fsys, n); err != nil {
				return nil, fmt.Errorf("%s: %w", path.Join(display, n), rootErr(err))
			}
		}
		files = append(files, render.File{Name: n, Content: string(b)})
	}
	return files, nil
}

// recordingFS keeps the bytes of every file read to its end through it, and the listing of
// the top directory, so what migrations.Read has listed and read (and checked) is not
// listed or read a second time for the ConfigMaps.
type recordingFS struct {
	fsys  fs.FS
	files map[string][]byte
	top   []fs.DirEntry // the entries of ".", once listed
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	f, err := r.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return &recordingFile{File: f, name: name, fs: r}, nil
}

// ReadDir keeps fs.ReadDir on the underlying FS's fast path.
func (r *recordingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(r.fsys, name)
	if err == nil && name == "." {
		r.top = entries
	}
	return entries, err
}

type recordingFile struct {
	fs.File
	name string
	fs   *recordingFS
	buf  bytes.Buffer
}

func (f *recordingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.buf.Write(p[:n])
	if err == io.EOF {
		f.fs.files[f.name] = f.buf.Bytes()
	}
	return n, err
}

// readCapped reads one file of the app directory, refusing it past max bytes and naming a
// symlink that leads out of the repository.
func readCapped(a *app, name string, max int64) ([]byte, error) {
	f, err := a.fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", a.display(name), describeOpenErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.display(name), err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file [not-regular-file]", a.display(name))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes is over the %d byte limit [limit-file-size]", a.display(name), st.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.display(name), err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over the %d byte limit [limit-file-size]", a.display(name), max)
	}
	return b, nil
}

// describeOpenErr makes os.Root's refusal of a symlink out of the repository say so.
func describeOpenErr(err error) error {
	if strings.Contains(err.Error(), "escapes") {
		return errors.New("is a symlink that leads outside the repository: refused [symlink-outside]")
	}
	return rootErr(err)
}

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
	docSep = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)
	lineRE = regexp.MustCompile(`line (\d+)`)
)

// parseManifests splits a YAML stream into documents and checks each: an object with
// apiVersion, kind and metadata.name; no plaintext Secret; a SealedSecret that decodes into
// the sealed-secrets type. Errors name the file and the line.
func parseManifests(file string, data []byte) ([]render.Manifest, error) {
	var out []render.Manifest
	type doc struct {
		text string
		line int
	}
	var docs []doc
	start, line := 0, 1
	for _, loc := range docSep.FindAllIndex(data, -1) {
		docs = append(docs, doc{string(data[start:loc[0]]), line})
		line += bytes.Count(data[start:loc[1]], []byte("\n"))
		start = loc[1]
	}
	docs = append(docs, doc{string(data[start:]), line})
	for _, d := range docs {
		js, err := yaml.YAMLToJSON([]byte(d.text))
		if err != nil {
			msg := err.Error()
			if i := strings.Index(msg, "yaml: "); i >= 0 {
				msg = msg[i+len("yaml: "):]
			}
			l := d.line
			if m := lineRE.FindStringSubmatch(msg); m != nil {
				n, _ := strconv.Atoi(m[1])
				l = d.line + n - 1
				msg = strings.TrimPrefix(lineRE.ReplaceAllString(msg, ""), ": ")
			}
			return nil, fmt.Errorf("%s:%d: invalid YAML: %s [manifest-yaml]", file, l, msg)
		}
		js = bytes.TrimSpace(js)
		if len(js) == 0 || string(js) == "null" {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, firstContentLine(d.text, d.line))
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
			var ss ssv1alpha1.SealedSecret
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
		out = append(out, render.Manifest{Source: where, Object: obj})
	}
	return out, nil
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
