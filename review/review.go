// Package review checks app directories the way a pull-request pipeline needs: everything
// the render and the hook Job would refuse that can be known without a database, with the
// files of a Git base revision as the history and the files added since as the change.
// `schemahook check` and `schemahook lint` both run it; lint is the variant that only
// applies the lint policy.
package review

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/plugin"
)

// Stages a finding belongs to, the hook Job's, in the order the render and the hook meet
// them. The stage decides the exit code of an error finding: config 1, verify 4, lint 3.
const (
	StageConfig = failure.StageConfig
	StageVerify = failure.StageVerify
	StageLint   = failure.StageLint
)

// SchemaFreshness tells whether appDir/schema.sql is the schema the migrations directory
// builds. It is called only when the file exists; nil skips the check. `schemahook schema`
// provides it (the header of schema.sql names the directory checksum it was built from).
type SchemaFreshness func(appDir string) error

// Options tune Run.
type Options struct {
	// Base is a Git revision (branch, tag, commit): its files are the history, read for
	// which tables exist but never linted; files added or changed since are the change.
	// "" has no history from Git: every file is new unless Since says otherwise.
	Base string
	// Since treats files with a version up to and including it as history (lint --since).
	Since string
	// Lint holds the settings given on the command line; they win over schemahook.yaml.
	Lint Overrides
	// LintOnly applies the lint policy and nothing else (`schemahook lint`): no config,
	// sum file, integrity or schema.sql checks, and a refused directory is an error.
	LintOnly bool
	// Changed keeps only the app directories (found under the arguments) with a file that
	// differs from Base, untracked files included.
	Changed bool
	// SchemaFreshness checks schema.sql when an app directory has one; nil skips it.
	SchemaFreshness SchemaFreshness
}

// Overrides are lint settings from flags; zero fields keep the config's (or the default).
type Overrides struct {
	Format      string   // directory format; "" keeps the config's, else auto
	Policy      string   // error, warn, off
	Rules       []string // CODE=level, after the config's
	LockTimeout *bool    // the runner sets lock_timeout (apply.lockTimeout)
}

// Finding is one problem at one place. Rule is a lint code (SH301) or the name of the
// render's or the hook's rule (checksum-mismatch, stale-sum, config).
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"` // error or warning, as SARIF spells them
	Stage    string `json:"stage"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
	App      string `json:"app"` // the directory argument it was found under
}

func (f Finding) String() string {
	pos := f.File
	if f.Line > 0 {
		pos += fmt.Sprintf(":%d", f.Line)
		if f.Col > 0 {
			pos += fmt.Sprintf(":%d", f.Col)
		}
	}
	s := fmt.Sprintf("%s: %s %s", pos, f.Rule, f.Message)
	if f.Hint != "" {
		s += " (" + f.Hint + ")"
	}
	return s
}

// App is what was checked in one app (or migration) directory.
type App struct {
	Dir        string   `json:"dir"`
	Migrations string   `json:"migrations"`
	Format     string   `json:"format,omitempty"`
	History    []string `json:"history"` // files taken as already applied, never linted
	Changed    []string `json:"changed"` // files linted: new or changed since the base
	Schema     string   `json:"schema,omitempty"`
}

// Report is the outcome of a Run.
type Report struct {
	Base       string           `json:"base,omitempty"`
	BaseCommit string           `json:"baseCommit,omitempty"`
	Apps       []App            `json:"apps"`
	Findings   []Finding        `json:"findings"`
	ExitCode   failure.ExitCode `json:"exitCode"`
}

// Blocked reports whether any finding is an error.
func (r *Report) Blocked() bool { return r.ExitCode != failure.ExitOK }

// exitCode is the exit of the first stage that has an error finding, in the order the
// render and the hook meet them: config (1), verify (4), lint (3).
func exitCode(fs []Finding) failure.ExitCode {
	worst := failure.ExitOK
	rank := map[string]int{StageConfig: 3, StageVerify: 2, StageLint: 1}
	code := map[string]failure.ExitCode{StageConfig: failure.ExitUsage, StageVerify: failure.ExitHistory, StageLint: failure.ExitLint}
	best := 0
	for _, f := range fs {
		if f.Severity == lint.SeverityError && rank[f.Stage] > best {
			best, worst = rank[f.Stage], code[f.Stage]
		}
	}
	return worst
}

// Run checks every directory in args (app directories holding schemahook.yaml, or bare
// migration directories) and reports. The error is for usage problems only (a bad flag, a
// missing directory, a base revision git does not know); everything about the files is a
// finding.
func Run(args []string, o Options) (*Report, error) {
	ov, err := o.Lint.parse()
	if err != nil {
		return nil, err
	}
	if o.Base != "" && o.Since != "" {
		return nil, errors.New("--git-base and --since both say which files are history: give one")
	}
	if o.Changed && o.Base == "" {
		return nil, errors.New("--changed needs --git-base")
	}
	rep := &Report{Base: o.Base, Apps: []App{}, Findings: []Finding{}}
	var g *gitBase
	if o.Base != "" {
		if len(args) == 0 {
			return nil, errors.New("no directory given")
		}
		if g, err = openBase(args[0], o.Base); err != nil {
			return nil, err
		}
		rep.BaseCommit = g.commit
	}
	dirs := args
	if o.Changed {
		if dirs, err = g.changedApps(args); err != nil {
			return nil, err
		}
	}
	for _, d := range dirs {
		app, fs, err := checkDir(d, o, ov, g)
		if err != nil {
			return nil, err
		}
		for i := range fs {
			fs[i].App = app.Dir
		}
		rep.Apps = append(rep.Apps, app)
		rep.Findings = append(rep.Findings, fs...)
	}
	rep.ExitCode = exitCode(rep.Findings)
	return rep, nil
}

// settings are the parsed Overrides.
type settings struct {
	format      string
	policy      *lint.Level
	rules       map[string]lint.Level
	lockTimeout *bool
}

func (ov Overrides) parse() (settings, error) {
	s := settings{format: ov.Format, lockTimeout: ov.LockTimeout, rules: map[string]lint.Level{}}
	if ov.Policy != "" {
		l, err := lint.ParseLevel(ov.Policy)
		if err != nil {
			return s, fmt.Errorf("lint policy: %w", err)
		}
		s.policy = &l
	}
	for _, r := range ov.Rules {
		code, lvl, err := lint.ParseRule(r)
		if err != nil {
			return s, err
		}
		s.rules[code] = lvl
	}
	return s, nil
}

// target is one directory argument resolved: the migration directory and the settings in
// effect (schemahook.yaml when the argument holds one, then the flags).
type target struct {
	arg        string
	hasConfig  bool
	migDir     string // OS path
	shown      string // slash-separated, as findings name it
	format     migrations.Format
	lint       lint.Options
	outOfOrder bool
	txAll      bool // apply.txMode all: every pending file must run in a transaction
}

// configError is a schemahook.yaml the render refuses: a finding for check, an error for lint.
type configError struct{ f Finding }

func (e *configError) Error() string { return e.f.String() }

// resolve reads arg/schemahook.yaml when present and lays the flags over it, the way the
// render and `schemahook lint` always have: flags given win, then the config, then defaults.
func resolve(arg string, s settings) (target, error) {
	t := target{arg: arg, migDir: arg, format: migrations.FormatAuto}
	if st, err := os.Stat(arg); err != nil {
		return t, fmt.Errorf("directory %s: %w", arg, err)
	} else if !st.IsDir() {
		return t, fmt.Errorf("%s is not a directory", arg)
	}
	policy := lint.Policy{Default: lint.LevelError, Rules: map[string]lint.Level{}}
	cfgFile := filepath.Join(arg, config.FileName)
	data, err := os.ReadFile(cfgFile)
	switch {
	case err == nil:
		cfg, err := config.Load(filepath.ToSlash(cfgFile), data)
		if err != nil {
			return t, &configError{errFinding(err, StageConfig, filepath.ToSlash(cfgFile), "config")}
		}
		sp := cfg.Spec
		t.hasConfig = true
		t.migDir = filepath.Join(arg, filepath.FromSlash(sp.Migrations.Dir))
		if sp.Migrations.Format != "" {
			t.format = migrations.Format(sp.Migrations.Format)
		}
		if sp.Lint.Policy != "" {
			l, err := lint.ParseLevel(string(sp.Lint.Policy))
			if err != nil {
				return t, &configError{Finding{File: filepath.ToSlash(cfgFile), Rule: "config", Message: "spec.lint.policy: " + err.Error()}}
			}
			policy.Default = l
		}
		codes := make([]string, 0, len(sp.Lint.Rules))
		for code := range sp.Lint.Rules {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			c, l, err := lint.ParseRule(fmt.Sprintf("%s=%s", code, sp.Lint.Rules[code]))
			if err != nil {
				return t, &configError{Finding{File: filepath.ToSlash(cfgFile), Rule: "config", Message: "spec.lint.rules: " + err.Error()}}
			}
			policy.Rules[c] = l
		}
		d, err := time.ParseDuration(sp.Apply.LockTimeout)
		t.lint.LockTimeout = err == nil && d > 0
		t.outOfOrder = sp.Apply.OutOfOrder
		t.txAll = engine.TxMode(sp.Apply.TxMode) == engine.TxAll
		t.lint.StatementByStatement = engine.TxMode(sp.Apply.TxMode) == engine.TxNone
	case !errors.Is(err, fs.ErrNotExist):
		return t, fmt.Errorf("reading %s: %w", cfgFile, err)
	}
	if s.format != "" {
		t.format = migrations.Format(s.format)
	}
	if s.policy != nil {
		policy.Default = *s.policy
	}
	for code, l := range s.rules {
		policy.Rules[code] = l
	}
	if s.lockTimeout != nil {
		t.lint.LockTimeout = *s.lockTimeout
	}
	t.lint.Policy = policy
	t.shown = filepath.ToSlash(filepath.Clean(t.migDir))
	return t, nil
}

// checkDir checks one directory argument.
func checkDir(arg string, o Options, s settings, g *gitBase) (App, []Finding, error) {
	app := App{Dir: filepath.ToSlash(arg), History: []string{}, Changed: []string{}}
	t, err := resolve(arg, s)
	var ce *configError
	switch {
	case errors.As(err, &ce) && !o.LintOnly:
		return app, []Finding{ce.f}, nil
	case err != nil:
		return app, nil, err
	}
	app.Migrations = t.shown
	var found []Finding
	add := func(f Finding) { found = append(found, f) }

	root, err := os.OpenRoot(t.migDir)
	if err != nil {
		if t.hasConfig && !o.LintOnly {
			add(Finding{File: t.shown, Rule: "migrations-dir", Severity: lint.SeverityError, Stage: StageConfig,
				Message: "migrations directory not found (spec.migrations.dir)"})
			return app, found, nil
		}
		return app, nil, fmt.Errorf("opening migration directory: %w", err)
	}
	defer root.Close()
	head, err := migrations.Read(root.FS(), migrations.Options{Format: t.format, Path: t.shown})
	if err != nil {
		if res, ok := lint.ReadError(err, t.lint.Policy); ok {
			found = append(found, fromLint(res.Findings, "")...) // named under t.shown already
			return app, found, nil
		}
		if o.LintOnly {
			return app, nil, fmt.Errorf("lint: %w", err)
		}
		add(readFinding(err))
		return app, found, nil
	}
	app.Format = string(head.Format)
	if !o.LintOnly {
		if err := head.CheckSum(); err != nil {
			add(readFinding(err))
		}
	}

	earlier, pending := head.Files[:0:0], head.Files[:0:0]
	switch {
	case g != nil:
		base, err := g.dir(t, head.Format)
		if err != nil {
			add(Finding{File: t.shown, Rule: "base-unreadable", Severity: lint.SeverityError, Stage: StageVerify,
				Message: fmt.Sprintf("the migrations of base revision %s cannot be read, so history cannot be told from change: %v", g.ref, err)})
			return app, found, nil
		}
		var fs []Finding
		earlier, pending, fs = history(base, head, t.outOfOrder, g.ref)
		found = append(found, fs...)
	case o.Since != "":
		for _, f := range head.Files {
			if !f.Repeatable && migrations.CompareVersions(f.Version, o.Since) <= 0 {
				earlier = append(earlier, f)
			} else {
				pending = append(pending, f)
			}
		}
	default:
		pending = head.Files
	}
	for _, f := range earlier {
		app.History = append(app.History, path.Join(t.shown, f.Name))
	}
	for _, f := range pending {
		app.Changed = append(app.Changed, path.Join(t.shown, f.Name))
	}
	if t.txAll && !o.LintOnly {
		for _, f := range pending {
			if !f.Transactional() {
				add(Finding{File: path.Join(t.shown, f.Name), Rule: "tx-mode", Severity: lint.SeverityError, Stage: StageConfig,
					Message: "cannot run inside a transaction, so the hook refuses it under apply.txMode all",
					Hint:    "use apply.txMode file"})
			}
		}
	}
	res := lint.Files(earlier, pending, t.lint)
	found = append(found, fromLint(res.Findings, t.shown)...)
	if o.LintOnly || !t.hasConfig {
		return app, found, nil
	}

	// What the render refuses beyond the directory (the config with its validation, the
	// other manifests, the size limits), found by rendering: the same code, no copy of it.
	// Skipped when the directory was already refused, which the render would repeat.
	if !hasStage(found, StageConfig, StageVerify) {
		if f, ok := render(arg); !ok {
			add(f)
		}
	}
	if hasRule(found, "stale-schema") || hasRule(found, "schema-header") {
		app.Schema = "stale" // the render refused it already; once is enough
	} else {
		app.Schema = schemaState(arg, o.SchemaFreshness, add)
	}
	return app, found, nil
}

// schemaState checks arg/schema.sql through check when the file exists.
func schemaState(arg string, check SchemaFreshness, add func(Finding)) string {
	file := filepath.Join(arg, "schema.sql")
	if _, err := os.Stat(file); err != nil {
		return "absent"
	}
	if check == nil {
		return "not checked"
	}
	if err := check(arg); err != nil {
		add(errFinding(err, StageVerify, filepath.ToSlash(file), "stale-schema"))
		return "stale"
	}
	return "fresh"
}

func hasStage(fs []Finding, stages ...string) bool {
	for _, f := range fs {
		for _, s := range stages {
			if f.Severity == lint.SeverityError && f.Stage == s {
				return true
			}
		}
	}
	return false
}

// fromLint turns lint findings (file names relative to the directory) into findings.
func fromLint(lfs []lint.Finding, shown string) []Finding {
	out := make([]Finding, 0, len(lfs))
	for _, f := range lfs {
		out = append(out, Finding{File: path.Join(shown, f.File), Line: f.Line, Col: f.Col, Rule: f.Code,
			Severity: f.Severity, Stage: StageLint, Message: f.Message, Hint: f.Hint})
	}
	return out
}

// readFinding is a refusal of migrations.Read or CheckSum, with the hook's exit code: it
// cannot read the directory or its format (config, 1), or the files break the directory's
// rules (verify, 4: versions, names, the sum file).
func readFinding(err error) Finding {
	stage := StageVerify
	var fe *failure.Error
	if errors.As(err, &fe) && (fe.Rule == migrations.RuleRead || fe.Rule == migrations.RuleUnknownFormat) {
		stage = StageConfig
	}
	return errFinding(err, stage, "", "read")
}

// render runs the plugin's generate on arg, output discarded, and turns a refusal into a
// finding. A relative arg is passed as the source path, so the repository root is the
// current directory, as for Argo CD when run from the repository root, and files are named
// from there; otherwise the app directory is the root and names are joined to arg.
func render(arg string) (Finding, bool) {
	env := plugin.Env{}
	rel := filepath.ToSlash(filepath.Clean(arg))
	if !filepath.IsAbs(arg) && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") {
		env.SourcePath = rel
	}
	err := plugin.Generate(io.Discard, arg, env)
	if err == nil {
		return Finding{}, true
	}
	f := errFinding(err, StageConfig, "", "render")
	switch {
	case f.File == "":
		f.File = path.Join(filepath.ToSlash(arg), config.FileName)
	case env.SourcePath == "" && !path.IsAbs(f.File):
		f.File = path.Join(filepath.ToSlash(arg), f.File)
	}
	return f, false
}
