package hooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/migrations"
)

// devReplay is stage 2. On throwaway databases it (a) replays every file from the start on
// a fresh database, proving the directory builds a schema from nothing, and (b) applies the
// pending files to a schema-only copy of the target, catching conflicts with the live schema
// (objects created by hand, drift). The target is only read (pg_dump).
func (r *run) devReplay(ctx context.Context, plan *engine.Plan) error {
	if r.o.DevURL == "none" {
		r.logf("dev replay skipped (--dev-url none): pending migrations are not validated before the target")
		return nil
	}
	start := time.Now()
	major, err := serverMajor(ctx, r.target)
	if err != nil {
		return &Error{Stage: StageDev, Code: ExitDev, Rule: "server-version", Message: err.Error()}
	}
	var admin, bin string
	if r.o.DevURL == "ephemeral" {
		srv, err := devdb.Start(ctx, devdb.Options{Major: major})
		if err != nil {
			return &Error{Stage: StageDev, Code: ExitDev, Rule: "dev-server", Message: "starting the ephemeral dev Postgres: " + err.Error()}
		}
		defer srv.Stop()
		admin, bin = srv.URL("postgres"), srv.BinDir()
		r.logf("started an ephemeral Postgres %d for the dev replay in %s", major, time.Since(start).Round(time.Millisecond))
	} else {
		admin = r.o.DevURL
		if bin, err = devdb.FindBin(major); err != nil {
			return &Error{Stage: StageDev, Code: ExitDev, Rule: "dev-server", Message: "pg_dump for the schema copy: " + err.Error()}
		}
	}

	// (a) every file from the start. Files marked by --baseline never ran anywhere we can
	// replay, so with a baseline only (b) validates.
	baselined := false
	for _, m := range plan.Mark {
		baselined = baselined || m.Status == engine.StatusBaseline
	}
	if r.o.Baseline == "" && !baselined {
		if err := r.replayFresh(ctx, admin, plan); err != nil {
			return err
		}
	} else {
		r.logf("fresh replay skipped: files up to the baseline %s are not replayed", r.o.Baseline)
	}
	// (b) the pending files on a schema-only copy of the target.
	if err := r.replayOnCopy(ctx, admin, bin, plan); err != nil {
		return err
	}
	r.logf("dev replay passed in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *run) replayFresh(ctx context.Context, admin string, plan *engine.Plan) error {
	db, err := devdb.CreateTempDB(ctx, admin, "schemahook_dev")
	if err != nil {
		return &Error{Stage: StageDev, Code: ExitDev, Rule: "dev-server", Message: err.Error()}
	}
	defer db.Drop()
	pending := map[*migrations.File]bool{}
	for _, f := range plan.Pending {
		pending[f] = true
	}
	// Versioned files in version order, then the repeatables that would run.
	var files []*migrations.File
	for _, f := range r.dir.Files {
		if !f.Repeatable || pending[f] {
			files = append(files, f)
		}
	}
	for _, f := range r.dir.Files {
		if f.Repeatable && !pending[f] {
			files = append(files, f)
		}
	}
	if err := r.devApply(ctx, db.URL, files, nil, "fresh database"); err != nil {
		return err
	}
	r.logf("replayed all %d files on a fresh dev database", len(files))
	return nil
}

func (r *run) replayOnCopy(ctx context.Context, admin, bin string, plan *engine.Plan) error {
	db, err := devdb.CreateTempDB(ctx, admin, "schemahook_copy")
	if err != nil {
		return &Error{Stage: StageDev, Code: ExitDev, Rule: "dev-server", Message: err.Error()}
	}
	defer db.Drop()
	dump, err := r.dumpSchema(ctx, bin)
	if err != nil {
		return err
	}
	if err := restore(ctx, bin, db.URL, dump); err != nil {
		return &Error{Stage: StageDev, Code: ExitDev, Rule: "schema-copy",
			Message: "restoring the target's schema (pg_dump --schema-only) into the dev database failed: " + engine.RedactText(err.Error(), db.URL, r.o.DevURL)}
	}
	if err := r.devApply(ctx, db.URL, plan.Pending, plan.Resume, "copy of the target's schema"); err != nil {
		return err
	}
	r.logf("applied the %d pending files to a schema-only copy of the target", len(plan.Pending))
	return nil
}

// devApply applies files on a dev database with the apply engine (same transactions, no
// history written); a failure is exit 2 naming the file, line, column and SQLSTATE.
func (r *run) devApply(ctx context.Context, url string, files []*migrations.File, resume map[string]int, where string) error {
	conn, err := engine.Connect(ctx, url, engine.ConnectOptions{Timeout: 30 * time.Second, AppName: "schemahook dev"})
	if err != nil {
		return &Error{Stage: StageDev, Code: ExitDev, Rule: "dev-server", Message: err.Error()}
	}
	defer conn.Close(context.Background())
	txMode := r.o.TxMode
	if txMode == engine.TxAll {
		txMode = engine.TxFile // same statements; per file gives the failing file's name
	}
	_, err = engine.Apply(ctx, conn, nil, files, engine.ApplyOptions{TxMode: txMode, Resume: resume, StatementTimeout: r.o.Timeout})
	if err != nil {
		e := stageErr(StageDev, err)
		e.Stage, e.Code = StageDev, ExitDev
		msg := strings.TrimSuffix(e.Message, "; the file's transaction was rolled back, nothing of it was applied")
		e.Message = fmt.Sprintf("failed on the dev database (%s), the target was not touched: %s", where, msg)
		return e
	}
	return nil
}

// dumpSchema runs pg_dump --schema-only on the target, leaving out the revisions schema,
// owners and privileges (the dev server has none of the target's roles). The password goes
// through PGPASSWORD, never the command line.
func (r *run) dumpSchema(ctx context.Context, bin string) ([]byte, error) {
	u, pw := engine.StripPassword(r.o.URL)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
		"--no-publications", "--no-subscriptions", "--no-tablespaces", "--no-security-labels",
		"--exclude-schema="+r.o.RevisionsSchema, "-d", u)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pw, "PGAPPNAME=schemahook pg_dump")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &Error{Stage: StageDev, Code: ExitDev, Rule: "schema-copy",
			Message: fmt.Sprintf("pg_dump --schema-only of the target failed (%v): %s", err, engine.RedactText(strings.TrimSpace(stderr.String()), r.o.URL))}
	}
	return out, nil
}

// restore loads a plain pg_dump into url with psql (which understands pg_dump's meta-commands).
func restore(ctx context.Context, bin, url string, dump []byte) error {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-")
	cmd.Stdin = bytes.NewReader(withoutTransactionTimeout(dump))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// withoutTransactionTimeout drops the header line `SET transaction_timeout = 0;` that pg_dump
// 17 and newer write even when dumping an older server: a dev server before 17 refuses the
// unknown setting, and 0 (no timeout) is the default anyway.
func withoutTransactionTimeout(dump []byte) []byte {
	return bytes.Replace(dump, []byte("\nSET transaction_timeout = 0;\n"), []byte("\n"), 1)
}

// serverMajor reads the target's major version, so the dev server matches it.
func serverMajor(ctx context.Context, conn *pgx.Conn) (int, error) {
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, fmt.Errorf("reading the target's server version: %w", err)
	}
	return num / 10000, nil
}
