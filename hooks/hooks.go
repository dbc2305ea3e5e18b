// Package hooks is what runs inside the PreSync hook Job: verify the directory and history,
// replay on a dev database, lint, apply to the target, report. Each stage's failure has its
// own exit code (failure.ExitCode, docs/architecture.md), and nothing reaches the target before stages 1-3 passed.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
)

// Options are the migrate command's flags.
type Options struct {
	Dir         string
	Format      migrations.Format
	URL         string
	DevURL      string // config.DevEphemeral, config.DevNone or a Postgres URL of a dev server
	Lint        string // one of lint.Levels
	LintRules   []string
	TxMode      engine.TxMode
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
	// LintSmallTable is ROWS:SIZE of lint.ParseSmallTable; "" is off.
	LintSmallTable string
	// Drift is the drift policy: error, warn or off (drift.go).
	Drift string
	// SchemaFile is the app directory's schema.sql, which the target must match after apply.
	SchemaFile     string
	Output         string // OutputText or OutputJSON
	TerminationLog string // "" writes none
	App            string
	GitRevision    string
	Stdout, Stderr io.Writer
}

// Mode selects what Run does.
type Mode int

// The migrate subcommands.
const (
	ModePlan   Mode = iota // stages 1-3
	ModeApply              // stages 1-5
	ModeStatus             // the history against the files, without a lock or writes (Status)
)

// run is one invocation's state.
type run struct {
	o      Options
	mode   Mode
	dir    *migrations.Dir
	target *pgx.Conn
	rep    Report
	start  time.Time
	policy lint.Policy // parsed by validate
	// devFuncs is the volatility of the functions the pending files call, read from the dev
	// copy after they were replayed on it (hooks/catalog.go); nil without a dev replay.
	devFuncs map[string]lint.Volatility
	// targetEmpty: the target has no history and its schema dump holds no object (dev.go).
	targetEmpty bool
}

// Summary formats of --output.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// defaults fills the zero options with config's defaults, as the migrate command's flags do.
func (o *Options) defaults() {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Dir == "" {
		o.Dir = config.DefaultMigrationsDir
	}
	if o.DevURL == "" {
		o.DevURL = config.DefaultDevMode
	}
	if o.Lint == "" {
		o.Lint = string(config.DefaultLintPolicy)
	}
	if o.TxMode == "" {
		o.TxMode = config.DefaultTxMode
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = config.DefaultLockTimeout
	}
	if o.Timeout == 0 {
		o.Timeout = config.DefaultTimeout
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = config.DefaultConnectTimeout
	}
	if o.RevisionsSchema == "" {
		o.RevisionsSchema = config.DefaultRevisionsSchema
	}
	if o.Output == "" {
		o.Output = OutputText
	}
	if o.Drift == "" {
		o.Drift = string(config.DefaultDriftPolicy)
	}
}

// validate checks the options and parses the lint policy, once for the run.
func (o *Options) validate() (lint.Policy, error) {
	bad := func(msg string, args ...any) error {
		return &failure.Error{Stage: failure.StageConfig, Exit: failure.ExitUsage, Rule: "usage", Msg: fmt.Sprintf(msg, args...)}
	}
	switch {
	case o.URL == "":
		return lint.Policy{}, bad("no target database: set --url or DATABASE_URL")
	case o.Output != OutputText && o.Output != OutputJSON:
		return lint.Policy{}, bad("--output %q: want %s or %s", o.Output, OutputText, OutputJSON)
	case !o.TxMode.Valid():
		return lint.Policy{}, bad("--tx-mode %q: want %s", o.TxMode, enum.Or(engine.TxModes))
	case !lint.Level(o.Lint).Valid():
		return lint.Policy{}, bad("--lint %q: want %s", o.Lint, enum.Or(lint.Levels))
	case !validDrift(o.Drift):
		return lint.Policy{}, bad("--drift %q: want error, warn or off", o.Drift)
	case o.LockTimeout < 0 || o.Timeout < 0:
		return lint.Policy{}, bad("--lock-timeout and --timeout must be positive")
	case o.LockRetries < 0 || o.LockRetryWait < 0 || o.LockRetryMaxWait < 0 || o.ProgressInterval < 0:
		return lint.Policy{}, bad("--lock-retries, --lock-retry-wait, --lock-retry-max-wait and --progress-interval must not be negative")
	case o.RevisionsSchema == "" || strings.ContainsAny(o.RevisionsSchema, "\x00"):
		return lint.Policy{}, bad("--revisions-schema must name a schema")
	}
	policy, err := lint.ParsePolicy(o.Lint, o.LintRules)
	if err != nil {
		return lint.Policy{}, bad("%v", err)
	}
	if _, err := lint.ParseSmallTable(o.LintSmallTable); err != nil {
		return lint.Policy{}, bad("--lint-small-table: %v", err)
	}
	return policy, nil
}

// Run runs the stages of mode and reports. The returned error is a *failure.Error whose ExitCode
// is the process's; the report has been written by then (stdout, stderr, termination log).
func Run(ctx context.Context, mode Mode, o Options) error {
	if mode == ModeStatus {
		return Status(ctx, o)
	}
	o.defaults()
	r := &run{o: o, mode: mode, start: time.Now(), rep: newReport()}
	err := r.stages(ctx)
	var herr *failure.Error
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
	policy, err := r.o.validate()
	if err != nil {
		return err
	}
	r.policy = policy
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()

	// 1. verify: the directory, its sum file, the target's history.
	conn, recorded, err := r.connectWhile(ctx, r.readDir)
	if err != nil {
		return err
	}
	r.target = conn
	defer conn.Close(context.Background())
	if r.upToDateBy(recorded) {
		// Nothing to do, without the lock: the history already records every file with
		// its checksum and none partially, so no runner can apply or change anything of
		// this directory, and one holding the lock now can only find the same. Anything
		// else is looked at again under the lock.
		return nil
	}
	if err := engine.Lock(ctx, conn, r.o.RevisionsSchema, r.o.LockTimeout, r.log); err != nil {
		return stageErr(failure.StageVerify, err)
	}
	defer engine.Unlock(context.Background(), conn, r.o.RevisionsSchema)
	if done, err := r.upToDate(ctx); done || err != nil {
		return err
	}
	// Something is pending, or the history differs: every file's statements, then the
	// history row by row. Meanwhile the dev server starts and the target's schema is dumped.
	dev := r.prepareDev(ctx)
	defer dev.close()
	if err := r.dir.Split(); err != nil {
		return stageErr(failure.StageVerify, err)
	}
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
		r.setUpToDate(len(plan.History))
		return nil
	}
	if r.o.TxMode == engine.TxAll {
		for _, f := range plan.Pending {
			if !f.Transactional() {
				return &failure.Error{Stage: failure.StageVerify, Exit: failure.ExitUsage, File: r.name(f), Rule: "tx-mode",
					Msg: "cannot run inside a transaction, so it cannot run with --tx-mode all; use --tx-mode file"}
			}
		}
	}
	r.logf("%d pending: %s", len(plan.Pending), list(r.rep.PendingFiles, 20))

	// 2. dev replay; 3. lint. Nothing has touched the target yet.
	if err := r.devAndLint(ctx, plan, dev); err != nil {
		return err
	}
	dev.stop() // the dev server goes away while the apply runs
	if r.mode == ModePlan {
		r.rep.Status = "planned"
		return nil
	}

	// 4. apply.
	if err := engine.EnsureTable(ctx, conn, r.o.RevisionsSchema); err != nil {
		return stageErr(failure.StageApply, err)
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
		return stageErr(failure.StageApply, err)
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

// connectWhile connects to the target while read reads the directory, so the connection's
// round trips overlap the reading. Where the nothing-to-do shortcut applies (upToDate), the
// connection then reads the history's versions and checksums too, still beside the
// reading; the Recorded is nil when it did not (an error there is met again, and
// reported, under the lock). read's refusal wins as before: the connection is then
// dropped, and what it would have logged (retries) is never printed; once read is done,
// the lines held meanwhile are printed and later ones as they come.
func (r *run) connectWhile(ctx context.Context, read func() error) (*pgx.Conn, *engine.Recorded, error) {
	var mu sync.Mutex
	holding, held := true, []string(nil)
	logLine := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if holding {
			held = append(held, msg)
			return
		}
		r.log(msg)
	}
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		conn *pgx.Conn
		rec  *engine.Recorded
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := engine.Connect(connCtx, r.o.URL, engine.ConnectOptions{Timeout: r.o.ConnectTimeout, AppName: r.appName(), Log: logLine})
		res := result{conn: conn, err: err}
		if err == nil && r.shortcut() {
			if rec, err := engine.ReadRecorded(connCtx, conn, r.o.RevisionsSchema); err == nil {
				res.rec = &rec
			}
		}
		done <- res
	}()
	if err := read(); err != nil {
		cancel()
		if res := <-done; res.conn != nil {
			res.conn.Close(context.Background())
		}
		return nil, nil, err
	}
	mu.Lock()
	for _, msg := range held {
		r.log(msg)
	}
	holding = false
	mu.Unlock()
	res := <-done
	if res.err != nil {
		return nil, nil, stageErr(failure.StageVerify, res.err)
	}
	return res.conn, res.rec, nil
}

// readDir reads the directory confined to it (migrations.OpenDir), so no file outside it
// can be reached. Statements are split later, once the history says they are needed.
func (r *run) readDir() error {
	root, err := migrations.OpenDir(r.o.Dir)
	if err != nil {
		return &failure.Error{Stage: failure.StageConfig, Exit: failure.ExitUsage, File: r.o.Dir, Rule: "dir", Msg: "cannot open the migration directory: " + errText(err)}
	}
	defer root.Close()
	dir, err := migrations.Read(root, migrations.Options{Format: r.o.Format, Path: r.o.Dir, DeferStatements: true})
	if err != nil {
		return stageErr(failure.StageVerify, err)
	}
	if err := dir.CheckSum(); err != nil {
		return stageErr(failure.StageVerify, err)
	}
	r.dir = dir
	return nil
}

// upToDate is the nothing-to-do run's shortcut, under the lock: when the history records
// exactly the files with their checksums, nothing is pending and nothing is split or read
// row by row. done is false when verify must look closer; a drift check and
// --resume-partial always do.
func (r *run) upToDate(ctx context.Context) (done bool, err error) {
	if !r.shortcut() {
		return false, nil
	}
	rec, err := engine.ReadRecorded(ctx, r.target, r.o.RevisionsSchema)
	if err != nil {
		return false, stageErr(failure.StageVerify, err)
	}
	return r.upToDateBy(&rec), nil
}

// upToDateBy ends the run up to date when rec records exactly the files, each with its
// checksum, and none partially; a nil rec (not read) says nothing.
func (r *run) upToDateBy(rec *engine.Recorded) bool {
	if rec == nil || !rec.Matches(r.dir.Files) {
		return false
	}
	r.logVerified(rec.Revisions())
	r.setUpToDate(rec.Revisions())
	return true
}

// shortcut reports whether the run may end at "up to date" from the recorded versions and
// checksums alone.
func (r *run) shortcut() bool { return r.mode != ModeDrift && r.o.ResumePartial == "" }

func (r *run) logVerified(revisions int) {
	r.logf("verified %d files (%s format) against %d recorded revisions", len(r.dir.Files), r.dir.Format, revisions)
}

func (r *run) setUpToDate(applied int) {
	r.rep.Status = "up-to-date"
	r.logf("up-to-date: %d migrations applied, nothing pending", applied)
}

// verify reads the history (or adopts another tool's) and checks it against the files.
func (r *run) verify(ctx context.Context) (*engine.Plan, error) {
	hist, _, err := engine.LoadHistory(ctx, r.target, r.o.RevisionsSchema)
	if err != nil {
		return nil, stageErr(failure.StageVerify, err)
	}
	var adopted []engine.Revision
	if len(hist) == 0 {
		var from string
		adopted, from, err = engine.Adopt(ctx, r.target, r.dir)
		if err != nil {
			return nil, stageErr(failure.StageVerify, err)
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
		return nil, stageErr(failure.StageVerify, err)
	}
	plan.Mark = append(adopted, plan.Mark...)
	r.logVerified(len(plan.History))
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

// stageErr makes err a *failure.Error of stage. An error that has a stage keeps it; one
// without gets this one, and its own exit code, or for a migration directory's refusal the
// code its rule means, or the stage's.
func stageErr(stage string, err error) *failure.Error {
	var fe *failure.Error
	if !errors.As(err, &fe) {
		return &failure.Error{Stage: stage, Msg: err.Error(), Exit: stageExit(stage)}
	}
	if fe.Stage != "" {
		return fe
	}
	e := *fe
	e.Stage = stage
	if e.Exit == 0 { // a migrations refusal: only engine and hooks errors carry a code
		e.Exit = dirExit(e.Rule)
	}
	return &e
}

// dirExit is the exit code of a migration directory's refusal.
func dirExit(rule string) failure.ExitCode {
	switch rule {
	case migrations.RuleSyntax, migrations.RuleEncoding:
		return failure.ExitDev // Postgres would refuse it on the dev database
	case migrations.RuleRead, migrations.RuleUnknownFormat:
		return failure.ExitUsage
	}
	return failure.ExitHistory
}

// stageExit is the exit code of a failure in stage that does not say its own.
func stageExit(stage string) failure.ExitCode {
	switch stage {
	case failure.StageVerify:
		return failure.ExitHistory
	case failure.StageDev:
		return failure.ExitDev
	case failure.StageLint:
		return failure.ExitLint
	case failure.StageApply:
		return failure.ExitApply
	}
	return failure.ExitUsage
}

// toError makes err a hooks Error with file names as the user knows them and no password.
func (r *run) toError(err error) *failure.Error {
	e := stageErr(failure.StageConfig, err)
	if r.dir != nil && r.dir.Path != "" {
		for _, f := range r.dir.Files {
			if e.File == f.Name {
				e.File = path.Join(r.dir.Path, f.Name)
			}
		}
	}
	e.Msg = engine.RedactText(e.Msg, r.o.URL, r.o.DevURL)
	return e
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
