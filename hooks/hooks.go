// Package hooks is what runs inside the PreSync hook Job: verify the directory and history,
// replay on a dev database, lint, apply to the target, report. Each stage's failure has its
// own exit code (DESIGN.md), and nothing reaches the target before stages 1-3 passed.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/migrations"
)

// Stages, as named in errors and the JSON report.
const (
	StageConfig = "config"
	StageVerify = "verify"
	StageDev    = "dev"
	StageLint   = "lint"
	StageApply  = "apply"
)

// Exit codes of DESIGN.md.
const (
	ExitUsage   = 1
	ExitDev     = 2
	ExitLint    = 3
	ExitHistory = 4
	ExitApply   = 5
	ExitConnect = 6
	// ExitDrift (7) is in drift.go.
)

// Options are the migrate command's flags.
type Options struct {
	Dir         string
	Format      migrations.Format
	URL         string
	DevURL      string // "ephemeral", "none" or a Postgres URL of a dev server
	Lint        string // error, warn, off
	LintRules   []string
	TxMode      string
	LockTimeout time.Duration
	Timeout     time.Duration
	// LockRetries is how often a statement (or transactional file) that failed only on
	// lock_timeout runs again, after LockRetryWait doubled per retry up to LockRetryMaxWait.
	LockRetries      int
	LockRetryWait    time.Duration
	LockRetryMaxWait time.Duration
	// ProgressInterval is how often a long statement logs its progress (default 10s).
	ProgressInterval time.Duration
	ConnectTimeout   time.Duration
	AllowOutOfOrder  bool
	Baseline         string
	ResumePartial    string
	RevisionsSchema  string
	// Drift is the drift policy: error, warn or off (drift.go).
	Drift string
	// SchemaFile is the app directory's schema.sql, which the target must match after apply.
	SchemaFile     string
	Output         string // text or json
	TerminationLog string // "" writes none
	App            string
	GitRevision    string
	Stdout, Stderr io.Writer
}

// Error is a failed run: the stage, the place in a file, and the exit code.
type Error struct {
	Stage    string `json:"stage"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col,omitempty"`
	Rule     string `json:"rule,omitempty"`
	SQLState string `json:"sqlstate,omitempty"`
	Message  string `json:"message"`
	Code     int    `json:"exitCode"`
}

func (e *Error) Error() string {
	pos := e.File
	if pos != "" && e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", pos, e.Line)
		if e.Col > 0 {
			pos = fmt.Sprintf("%s:%d", pos, e.Col)
		}
	}
	msg := e.Stage + ": "
	if pos != "" {
		msg += pos + ": "
	}
	msg += e.Message
	if e.Rule != "" {
		msg += " [" + e.Rule + "]"
	}
	return msg
}

// ExitCode is the process exit code (DESIGN.md).
func (e *Error) ExitCode() int { return e.Code }

// Mode selects what Run does.
type Mode int

// The migrate subcommands.
const (
	ModePlan  Mode = iota // stages 1-3
	ModeApply             // stages 1-5
)

// run is one invocation's state.
type run struct {
	o      Options
	mode   Mode
	dir    *migrations.Dir
	target *pgx.Conn
	rep    Report
	start  time.Time
}

func (o *Options) defaults() {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Dir == "" {
		o.Dir = "migrations"
	}
	if o.DevURL == "" {
		o.DevURL = "ephemeral"
	}
	if o.Lint == "" {
		o.Lint = "error"
	}
	if o.TxMode == "" {
		o.TxMode = engine.TxFile
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 10 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = time.Minute
	}
	if o.RevisionsSchema == "" {
		o.RevisionsSchema = "schemahook"
	}
	if o.Output == "" {
		o.Output = "text"
	}
	if o.Drift == "" {
		o.Drift = "warn"
	}
}

func (o *Options) validate() error {
	bad := func(msg string, args ...any) error {
		return &Error{Stage: StageConfig, Code: ExitUsage, Rule: "usage", Message: fmt.Sprintf(msg, args...)}
	}
	switch {
	case o.URL == "":
		return bad("no target database: set --url or DATABASE_URL")
	case o.Output != "text" && o.Output != "json":
		return bad("--output %q: want text or json", o.Output)
	case o.TxMode != engine.TxFile && o.TxMode != engine.TxAll && o.TxMode != engine.TxNone:
		return bad("--tx-mode %q: want file, all or none", o.TxMode)
	case o.Lint != "error" && o.Lint != "warn" && o.Lint != "off":
		return bad("--lint %q: want error, warn or off", o.Lint)
	case !validDrift(o.Drift):
		return bad("--drift %q: want error, warn or off", o.Drift)
	case o.LockTimeout < 0 || o.Timeout < 0:
		return bad("--lock-timeout and --timeout must be positive")
	case o.LockRetries < 0 || o.LockRetryWait < 0 || o.LockRetryMaxWait < 0 || o.ProgressInterval < 0:
		return bad("--lock-retries, --lock-retry-wait, --lock-retry-max-wait and --progress-interval must not be negative")
	case o.RevisionsSchema == "" || strings.ContainsAny(o.RevisionsSchema, "\x00"):
		return bad("--revisions-schema must name a schema")
	}
	if _, err := lintPolicy(o.Lint, o.LintRules); err != nil {
		return bad("%v", err)
	}
	return nil
}

// Run runs the stages of mode and reports. The returned error is an *Error whose ExitCode
// is the process's; the report has been written by then (stdout, stderr, termination log).
func Run(ctx context.Context, mode Mode, o Options) error {
	o.defaults()
	r := &run{o: o, mode: mode, start: time.Now(), rep: newReport()}
	err := r.stages(ctx)
	var herr *Error
	if err != nil {
		herr = r.toError(err)
		r.rep.Status = "failed"
		r.rep.Error = herr
	}
	r.finish()
	if herr != nil {
		return herr
	}
	return nil
}

func (r *run) stages(ctx context.Context) error {
	if err := r.o.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()

	// 1. verify: the directory, its sum file, the target's history.
	if err := r.readDir(); err != nil {
		return err
	}
	conn, err := engine.Connect(ctx, r.o.URL, engine.ConnectOptions{Timeout: r.o.ConnectTimeout, AppName: r.appName(), Log: r.log})
	if err != nil {
		return stageErr(StageVerify, err)
	}
	r.target = conn
	defer conn.Close(context.Background())
	if err := engine.Lock(ctx, conn, r.o.RevisionsSchema, r.o.LockTimeout, r.log); err != nil {
		return stageErr(StageVerify, err)
	}
	defer engine.Unlock(context.Background(), conn, r.o.RevisionsSchema)
	plan, err := r.verify(ctx)
	if err != nil {
		return err
	}
	r.rep.Pending = len(plan.Pending)
	for _, f := range plan.Pending {
		r.rep.PendingFiles = append(r.rep.PendingFiles, r.name(f))
	}
	if r.mode == ModeDrift {
		return r.driftOnly(ctx, plan)
	}
	if len(plan.Pending) == 0 && len(plan.Mark) == 0 {
		r.rep.Status = "up-to-date"
		r.logf("up-to-date: %d migrations applied, nothing pending", len(plan.History))
		return nil
	}
	if r.o.TxMode == engine.TxAll {
		for _, f := range plan.Pending {
			if !f.Transactional() {
				return &Error{Stage: StageVerify, Code: ExitUsage, File: r.name(f), Rule: "tx-mode",
					Message: "cannot run inside a transaction, so it cannot run with --tx-mode all; use --tx-mode file"}
			}
		}
	}
	r.logf("%d pending: %s", len(plan.Pending), list(r.rep.PendingFiles, 20))

	// 2. dev replay; 3. lint. Nothing has touched the target yet.
	if err := r.devReplay(ctx, plan); err != nil {
		return err
	}
	if err := r.lint(plan); err != nil {
		return err
	}
	if r.mode == ModePlan {
		r.rep.Status = "planned"
		return nil
	}

	// 4. apply.
	if err := engine.EnsureTable(ctx, conn, r.o.RevisionsSchema); err != nil {
		return stageErr(StageApply, err)
	}
	if len(plan.Mark) > 0 {
		r.logf("recording %d migrations as already applied (adopted history or --baseline)", len(plan.Mark))
	}
	watch := r.watch(ctx)
	if watch != nil {
		defer watch.Close(context.Background())
	}
	results, err := engine.Apply(ctx, conn, plan.Mark, plan.Pending, engine.ApplyOptions{
		Schema: r.o.RevisionsSchema, TxMode: r.o.TxMode, Record: true, App: r.o.App, GitRevision: r.o.GitRevision,
		LockTimeout: r.o.LockTimeout, StatementTimeout: r.o.Timeout, Resume: plan.Resume,
		Watch: watch, ProgressInterval: r.o.ProgressInterval, Log: r.log, Name: r.name,
		Retry:   engine.RetryPolicy{Attempts: r.o.LockRetries, Wait: r.o.LockRetryWait, MaxWait: r.o.LockRetryMaxWait},
		OnStart: func(f *migrations.File) { r.logf("applying %s ...", r.name(f)) },
		OnDone: func(f *migrations.File, d time.Duration) {
			r.logf("applied %s in %s", r.name(f), d.Round(time.Millisecond))
		},
	})
	for _, res := range results {
		r.rep.Applied = append(r.rep.Applied, AppliedFile{Version: res.File.Version, Name: r.name(res.File), DurationMs: res.Duration.Milliseconds()})
	}
	r.rep.Pending = len(plan.Pending) - len(results)
	r.rep.PendingFiles = r.rep.PendingFiles[len(results):]
	if err != nil {
		return stageErr(StageApply, err)
	}
	r.rep.Status = "applied"
	return r.driftAfter(ctx)
}

// watch opens the second session through which the apply names lock blockers and logs
// progress. Without it the run still works, only quieter, so a failure is a warning.
func (r *run) watch(ctx context.Context) *pgx.Conn {
	c, err := engine.Connect(ctx, r.o.URL, engine.ConnectOptions{Timeout: 10 * time.Second, AppName: r.appName() + " watch"})
	if err != nil {
		r.logf("warning: no second session to watch the migrations (lock blockers and progress will not be reported): %v", err)
		return nil
	}
	return c
}

// readDir reads the directory through an os.Root, so no file outside it can be reached.
func (r *run) readDir() error {
	root, err := os.OpenRoot(r.o.Dir)
	if err != nil {
		return &Error{Stage: StageConfig, Code: ExitUsage, File: r.o.Dir, Rule: "dir", Message: "cannot open the migration directory: " + errText(err)}
	}
	defer root.Close()
	dir, err := migrations.Read(root.FS(), migrations.Options{Format: r.o.Format, Path: r.o.Dir})
	if err != nil {
		return stageErr(StageVerify, err)
	}
	if err := dir.CheckSum(); err != nil {
		return stageErr(StageVerify, err)
	}
	r.dir = dir
	return nil
}

// verify reads the history (or adopts another tool's) and checks it against the files.
func (r *run) verify(ctx context.Context) (*engine.Plan, error) {
	hist, _, err := engine.LoadHistory(ctx, r.target, r.o.RevisionsSchema)
	if err != nil {
		return nil, stageErr(StageVerify, err)
	}
	var adopted []engine.Revision
	if len(hist) == 0 {
		var from string
		adopted, from, err = engine.Adopt(ctx, r.target, r.dir)
		if err != nil {
			return nil, stageErr(StageVerify, err)
		}
		if from != "" {
			r.logf("adopting the history of %s: %d migrations already applied", from, len(adopted))
		}
	}
	plan, err := engine.Verify(r.dir, append(hist, adopted...), engine.PlanOptions{
		AllowOutOfOrder: r.o.AllowOutOfOrder, Baseline: r.o.Baseline, ResumePartial: r.o.ResumePartial,
		RevisionsSchema: r.o.RevisionsSchema,
	})
	if err != nil {
		return nil, stageErr(StageVerify, err)
	}
	plan.Mark = append(adopted, plan.Mark...)
	r.logf("verified %d files (%s format) against %d recorded revisions", len(r.dir.Files), r.dir.Format, len(plan.History))
	return plan, nil
}

func (r *run) appName() string {
	if r.o.App != "" {
		return "schemahook " + r.o.App
	}
	return "schemahook"
}

func (r *run) name(f *migrations.File) string {
	if r.dir != nil && r.dir.Path != "" {
		return path.Join(r.dir.Path, f.Name)
	}
	return f.Name
}

func (r *run) log(msg string) {
	fmt.Fprintf(r.o.Stderr, "schemahook: %s\n", engine.RedactText(msg, r.o.URL, r.o.DevURL))
}

func (r *run) logf(format string, args ...any) { r.log(fmt.Sprintf(format, args...)) }

// stageErr turns an engine or migrations error into a hooks Error of stage; the exit code
// is the error's own, or the stage's.
func stageErr(stage string, err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	e := &Error{Stage: stage, Message: err.Error()}
	var ee *engine.Error
	var me *migrations.Error
	switch {
	case errors.As(err, &ee):
		e.File, e.Line, e.Col, e.Rule, e.SQLState, e.Message, e.Code = ee.File, ee.Line, ee.Col, ee.Rule, ee.SQLState, ee.Msg, ee.Code
	case errors.As(err, &me):
		e.File, e.Line, e.Col, e.Rule, e.Message = me.File, me.Line, me.Col, me.Rule, me.Msg
		switch me.Rule {
		case "syntax", "encoding":
			e.Code = ExitDev // Postgres would refuse it on the dev database
		case "read", "unknown-format":
			e.Code = ExitUsage
		default:
			e.Code = ExitHistory
		}
	}
	if e.Code == 0 {
		e.Code = map[string]int{StageVerify: ExitHistory, StageDev: ExitDev, StageLint: ExitLint, StageApply: ExitApply}[stage]
	}
	if e.Code == 0 {
		e.Code = ExitUsage
	}
	return e
}

// toError makes err a hooks Error with file names as the user knows them and no password.
func (r *run) toError(err error) *Error {
	e := stageErr(StageConfig, err)
	if r.dir != nil && r.dir.Path != "" {
		for _, f := range r.dir.Files {
			if e.File == f.Name {
				e.File = path.Join(r.dir.Path, f.Name)
			}
		}
	}
	e.Message = engine.RedactText(e.Message, r.o.URL, r.o.DevURL)
	return e
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
