package hooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// replayFresh is replay (a).
func (r *run) replayFresh(ctx context.Context, admin string, plan *engine.Plan) error {
	db, err := devdb.CreateTempDB(ctx, admin, "schemahook_dev")
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: err.Error()}
	}
	defer r.dropDev(db)
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

// dropDev drops a database made on the dev server given by --dev-url. The ephemeral
// server's go with it when it stops, so dropping them one by one first would only add to
// the run's time.
func (r *run) dropDev(db *devdb.TempDB) {
	if r.o.DevURL != config.DevEphemeral {
		db.Drop()
	}
}

// findClient finds pg_dump and psql for the schema copy of a target of major (see
// devdb.FindClient); near are searched first.
func (r *run) findClient(major int, near ...string) (devdb.Bin, error) {
	b, err := devdb.FindClient(major, near...)
	if err != nil {
		return b, &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "schema-copy", Msg: "pg_dump for the schema copy of the target: " + err.Error()}
	}
	return b, nil
}

// checkDevServer refuses a dev server (--dev-url) older than the target: the target's
// schema dump and its migrations may use what an older server lacks, failing the replay
// for no fault of the files. A newer one is used, with a log line.
func (r *run) checkDevServer(ctx context.Context, major int) error {
	conn, err := engine.Connect(ctx, r.o.DevURL, engine.ConnectOptions{Timeout: 30 * time.Second, AppName: "schemahook dev"})
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: err.Error()}
	}
	defer conn.Close(context.Background())
	dev, err := serverMajor(ctx, conn)
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: "the dev server: " + err.Error()}
	}
	switch {
	case dev < major:
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server-version", Msg: fmt.Sprintf(
			"the dev server (--dev-url, dev.url) runs Postgres %d, older than the target's %d: the target's schema and its migrations may use what Postgres %d lacks; point dev.url at a dev server of Postgres %d (or newer), or use the ephemeral dev replay (dev.mode ephemeral)",
			dev, major, dev, major)}
	case dev > major:
		r.logf("the dev server runs Postgres %d, newer than the target's %d: the replay may accept what Postgres %d refuses; a dev server of major %d replays exactly", dev, major, major, major)
	}
	return nil
}

// replayOnCopy is replay (b): the pending files on a database restored from dump, the
// target's schema.
func (r *run) replayOnCopy(ctx context.Context, admin string, client devdb.Bin, plan *engine.Plan, dump []byte) error {
	db, err := devdb.CreateTempDB(ctx, admin, "schemahook_copy")
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: err.Error()}
	}
	defer r.dropDev(db)
	if err := restore(ctx, client.Dir, db.URL, dump); err != nil {
		e := &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "schema-copy",
			Msg: "restoring the target's schema (pg_dump --schema-only) into the dev database failed: " + engine.RedactText(err.Error(), db.URL, r.o.DevURL)}
		missingExtension(e)
		return e
	}
	if err := r.devApply(ctx, db.URL, plan.Pending, plan.Resume, "copy of the target's schema"); err != nil {
		return err
	}
	if err := r.devCatalog(ctx, db.URL, plan); err != nil {
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
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: err.Error()}
	}
	defer conn.Close(context.Background())
	txMode := r.o.TxMode
	if txMode == engine.TxAll {
		txMode = engine.TxFile // same statements; per file gives the failing file's name
	}
	_, err = engine.Apply(ctx, conn, nil, files, engine.ApplyOptions{TxMode: txMode, Resume: resume, StatementTimeout: r.o.Timeout})
	if err != nil {
		e := stageErr(failure.StageDev, err)
		e.Stage, e.Exit = failure.StageDev, failure.ExitDev
		msg := strings.TrimSuffix(e.Msg, "; the file's transaction was rolled back, nothing of it was applied")
		e.Msg = fmt.Sprintf("failed on the dev database (%s), the target was not touched: %s", where, msg)
		missingExtension(e)
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
	// TLS settings reach pg_dump as they reach pgx: sslmode/sslrootcert in the URL, PGSSL*
	// in the environment; LibpqEnv fills in where libpq's defaults differ from pgx's.
	cmd.Env = append(append(os.Environ(), engine.LibpqEnv(r.o.URL)...), "PGPASSWORD="+pw, "PGAPPNAME=schemahook pg_dump")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "schema-copy",
			Msg: fmt.Sprintf("pg_dump --schema-only of the target failed (%v): %s", err, engine.RedactText(strings.TrimSpace(stderr.String()), r.o.URL))}
	}
	return out, nil
}

// restore loads a plain pg_dump into url with psql (which understands pg_dump's meta-commands).
func restore(ctx context.Context, bin, url string, dump []byte) error {
	conn, err := engine.Connect(ctx, url, engine.ConnectOptions{Timeout: 30 * time.Second, AppName: "schemahook dev"})
	if err != nil {
		return err
	}
	rows, _ := conn.Query(ctx, "SELECT name FROM pg_settings")
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	conn.Close(context.Background())
	if err != nil {
		return fmt.Errorf("reading the dev server's settings: %w", err)
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-")
	cmd.Stdin = bytes.NewReader(dropUnknownSettings(dump, known))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// dropUnknownSettings removes from the header of a plain pg_dump the `SET name = value;`
// lines of settings the dev server does not have: a pg_dump newer than the target writes
// its own major's (pg_dump 17+ writes `SET transaction_timeout = 0;`, which Postgres 16 and
// older refuse). The header ends at the first line that is not a comment, a psql
// meta-command, a SET or set_config; the rest is copied unchanged.
func dropUnknownSettings(dump []byte, known map[string]bool) []byte {
	var out bytes.Buffer
	rest := dump
	for len(rest) > 0 {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		l := string(line)
		switch {
		case !dumpHeader(l):
			out.Write(rest)
			return out.Bytes()
		case strings.HasPrefix(l, "SET "):
			name, _, _ := strings.Cut(strings.TrimPrefix(l, "SET "), " ")
			if !known[name] {
				rest = after
				continue
			}
		}
		out.Write(line)
		if found {
			out.WriteByte('\n')
		}
		rest = after
	}
	return out.Bytes()
}

// dumpHeader reports whether a line of a plain pg_dump belongs to its header: a comment, a
// psql meta-command, a SET or set_config, or blank.
func dumpHeader(l string) bool {
	return l == "" || strings.HasPrefix(l, "--") || strings.HasPrefix(l, `\`) ||
		strings.HasPrefix(l, "SET ") || strings.HasPrefix(l, "SELECT pg_catalog.set_config(")
}

// emptyDump reports whether a plain pg_dump --schema-only holds nothing but its header: a
// database without a single object of its own.
func emptyDump(dump []byte) bool {
	for line := range strings.Lines(string(dump)) {
		if !dumpHeader(strings.TrimRight(line, "\r\n")) {
			return false
		}
	}
	return true
}

// Postgres's words for an extension whose files are not installed: "extension "x" is not
// available" (15+), "could not open extension control file ".../x.control"" (all).
var (
	extUnavailable = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`extension "([^"]+)" is not available`) })
	extControl     = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)could not open extension control file "([^"]*/([^/"]+)\.control)"`)
	})
)

// missingExtension adds to a dev failure caused by an extension the dev server does not
// have what to do about it: the migration is fine, the dev server lacks the extension's files.
func missingExtension(e *failure.Error) {
	name, control := "", ""
	if m := extControl().FindStringSubmatch(e.Msg); m != nil {
		name, control = m[2], m[1]
	}
	if m := extUnavailable().FindStringSubmatch(e.Msg); m != nil {
		name = m[1]
	}
	if name == "" {
		return
	}
	where := ""
	if control != "" {
		where = " (no " + control + ")"
	}
	e.Rule = "dev-extension-missing"
	e.Msg = strings.TrimSuffix(e.Msg, ".") + fmt.Sprintf(". The dev server has no extension %q installed%s. "+
		"Fix: point dev.url (--dev-url) at a dev server of the target's major that has %s installed, "+
		"or run the hook in an image built FROM the schemahook image that installs %s for the Postgres server of the target's major",
		name, where, name, name)
}

// serverMajor reads the target's major version, so the dev server matches it.
func serverMajor(ctx context.Context, conn *pgx.Conn) (int, error) {
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, fmt.Errorf("reading the target's server version: %w", err)
	}
	return num / 10000, nil
}
