package hooks

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/schema"
)

// ModeDrift is `migrate drift`: verify, then compare the target's schema with the one its
// applied files build. Read-only: nothing is applied or recorded.
const ModeDrift Mode = 100

// maxDriftNames is how many differences a message names before "and N more": the
// termination message must stay within its 4 KiB.
const maxDriftNames = 10

// validDrift says whether p is a drift policy: the lint levels, error, warn or off.
func validDrift(p string) bool { return lint.Level(p).Valid() }

// appliedFiles are the files the target's history says ran, in fresh-replay order.
func appliedFiles(dir *migrations.Dir, plan *engine.Plan) []*migrations.File {
	pending := map[*migrations.File]bool{}
	for _, f := range plan.Pending {
		pending[f] = true
	}
	var out []*migrations.File
	for _, f := range schema.Files(dir) {
		if !pending[f] {
			out = append(out, f)
		}
	}
	return out
}

// driftSkip says why the target's history cannot be replayed, or "".
func (r *run) driftSkip(plan *engine.Plan) string {
	if r.o.Baseline != "" {
		return "the history is baselined (--baseline " + r.o.Baseline + "): files up to the baseline never ran on the target, so no replay builds its schema"
	}
	have := map[string]bool{}
	for _, f := range r.dir.Files {
		have[strings.TrimLeft(engine.Key(f), "0")] = true
	}
	for _, rev := range append(append([]engine.Revision{}, plan.History...), plan.Mark...) {
		switch {
		case rev.Status == engine.StatusBaseline:
			return "the history is baselined (version " + rev.Version + "): files up to the baseline never ran on the target, so no replay builds its schema"
		case rev.Status == engine.StatusPartial || len(plan.Resume) > 0:
			return "a partially applied file is in the history: its first statements are on the target, so no replay of whole files builds its schema"
		case !have[strings.TrimLeft(rev.Version, "0")]:
			return "the history holds version " + rev.Version + " without a file in the directory (adopted or squashed history), so no replay builds the target's schema"
		}
	}
	return ""
}

// driftBefore is the check before apply, on the dev server the replay runs on: the target's
// live schema against the schema its applied files build on an empty database.
func (r *run) driftBefore(ctx context.Context, admin string, client devdb.Bin, plan *engine.Plan) error {
	if r.o.Drift == "off" {
		return nil
	}
	if why := r.driftSkip(plan); why != "" {
		r.logf("drift check skipped: %s", why)
		return nil
	}
	applied := appliedFiles(r.dir, plan)
	if len(applied) == 0 && r.targetEmpty {
		// No migration builds the empty schema, which the target's dump just showed.
		r.logf("drift check before apply: the target's schema is empty, as no applied migration builds anything")
		return nil
	}
	db, err := devdb.CreateTempDB(ctx, admin, "schemahook_drift")
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: err.Error()}
	}
	defer r.dropDev(db)
	if err := r.devApply(ctx, db.URL, applied, nil, "applied files only, for the drift check"); err != nil {
		return err
	}
	return r.compare(ctx, client.Dir, db.URL, fmt.Sprintf("the schema the %d applied migration(s) build", len(applied)), false)
}

// driftOnly is ModeDrift's check: the same comparison with a dev server of its own.
func (r *run) driftOnly(ctx context.Context, plan *engine.Plan) error {
	r.rep.Status = "checked"
	if why := r.driftSkip(plan); why != "" {
		r.logf("drift check skipped: %s", why)
		return nil
	}
	if r.o.DevURL == config.DevNone {
		r.logf("drift check skipped: it needs a dev database (--dev-url none)")
		return nil
	}
	major, err := serverMajor(ctx, r.target)
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "server-version", Msg: err.Error()}
	}
	client, err := r.findClient(major)
	if err != nil {
		return err
	}
	applied := appliedFiles(r.dir, plan)
	want, err := schema.BuildFiles(ctx, applied, schema.BuildOptions{DevURL: r.o.DevURL, Major: major, Log: r.log})
	if err != nil {
		e := stageErr(failure.StageDev, err)
		e.Stage, e.Exit = failure.StageDev, failure.ExitDev
		return e
	}
	return r.compareWith(ctx, client.Dir, want, fmt.Sprintf("the schema the %d applied migration(s) build", len(applied)), false)
}

// driftAfter checks, after apply, the target's schema against schema.sql when the Job has
// one (--schema-file).
func (r *run) driftAfter(ctx context.Context) error {
	if r.o.Drift == "off" || r.o.SchemaFile == "" {
		return nil
	}
	data, err := os.ReadFile(r.o.SchemaFile)
	if os.IsNotExist(err) {
		return nil // the app directory has no schema.sql
	}
	if err != nil {
		return &failure.Error{Stage: failure.StageDrift, Exit: failure.ExitUsage, File: r.o.SchemaFile, Rule: "schema-file", Msg: errText(err)}
	}
	sum, _, body, err := schema.ReadFile(schema.FileName, string(data))
	if err != nil {
		return &failure.Error{Stage: failure.StageDrift, Exit: failure.ExitUsage, File: schema.FileName, Line: 1, Rule: "schema-header", Msg: err.Error()}
	}
	if now := schema.DirSum(r.dir.ComputeSum()); sum != now {
		r.logf("schema check after apply skipped: %s was built from migrations %s, the directory is %s (render refuses that; was the Job edited?)", schema.FileName, sum, now)
		return nil
	}
	want, _ := schema.Parse(body)
	major, err := serverMajor(ctx, r.target)
	if err != nil {
		return &failure.Error{Stage: failure.StageDrift, Exit: failure.ExitDrift, Rule: "server-version", Msg: err.Error()}
	}
	client, err := devdb.FindClient(major)
	if err != nil {
		return &failure.Error{Stage: failure.StageDrift, Exit: failure.ExitDrift, Rule: "schema-copy", Msg: "pg_dump for the schema check after apply: " + err.Error()}
	}
	return r.compareWith(ctx, client.Dir, want, schema.FileName, true)
}

// compare dumps the database at wantURL as the expected schema, then compares.
func (r *run) compare(ctx context.Context, clientDir, wantURL, label string, after bool) error {
	want, err := schema.DumpParsed(ctx, clientDir, wantURL)
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "schema-copy", Msg: engine.RedactText(err.Error(), wantURL, r.o.DevURL)}
	}
	return r.compareWith(ctx, clientDir, want, label, after)
}

// compareWith dumps the target and reports every difference from want: each object in the
// log and the report, a unified diff in the log, and under policy error a failure (exit 7)
// naming the first differences and the count.
func (r *run) compareWith(ctx context.Context, clientDir string, want *schema.Schema, label string, after bool) error {
	live, err := schema.DumpParsed(ctx, clientDir, r.o.URL, r.o.RevisionsSchema)
	if err != nil {
		return &failure.Error{Stage: failure.StageDrift, Exit: failure.ExitDrift, Rule: "schema-dump", Msg: engine.RedactText(err.Error(), r.o.URL)}
	}
	when := "before apply"
	if after {
		when = "after apply"
	}
	diffs := schema.Diff(want, live)
	if len(diffs) == 0 {
		r.logf("drift check %s: the target's schema matches %s", when, label)
		return nil
	}
	r.rep.Drift = append(r.rep.Drift, diffs...)
	r.logf("drift %s: the target's schema differs from %s in %d object(s):", when, label, len(diffs))
	for _, d := range diffs {
		r.logf("  %s", d)
	}
	r.logf("drift %s, unified diff:\n%s", when, strings.TrimRight(schema.Unified(want, live, label, "the target's live schema"), "\n"))
	msg := fmt.Sprintf("the target's schema differs from %s in %d object(s): %s", label, len(diffs), driftNames(diffs))
	if r.o.Drift != string(lint.LevelError) {
		r.logf("warning: %s; continuing (drift policy warn)", msg)
		return nil
	}
	if after {
		msg += ". The migrations were applied; bring the target and the migrations back together (a new migration, or undo the change made by hand), then refresh schema.sql with `schemahook schema`"
	} else {
		msg += ". Nothing was applied. Undo the change made by hand on the target, or write it into a migration, then sync again (or set spec.drift.policy: warn)"
	}
	return &failure.Error{Stage: failure.StageDrift, Exit: failure.ExitDrift, Rule: "drift", Msg: msg}
}

// driftNames names the first maxDriftNames differences.
func driftNames(diffs []schema.Difference) string {
	var names []string
	for i, d := range diffs {
		if i == maxDriftNames {
			names = append(names, fmt.Sprintf("and %d more (see the Job's log)", len(diffs)-i))
			break
		}
		names = append(names, d.String())
	}
	return strings.Join(names, ", ")
}
