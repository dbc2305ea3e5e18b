package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// TxMode is how Apply groups statements into transactions (--tx-mode, spec.apply.txMode).
type TxMode string

// Transaction modes.
const (
	TxFile TxMode = "file" // one transaction per file (statement by statement where it cannot be)
	TxAll  TxMode = "all"  // one transaction for every pending file
	TxNone TxMode = "none" // every file statement by statement, progress recorded
)

// TxModes lists the transaction modes, the default first.
var TxModes = []TxMode{TxFile, TxAll, TxNone}

// Valid reports whether m is one of TxModes.
func (m TxMode) Valid() bool { return slices.Contains(TxModes, m) }

// ApplyOptions tune Apply.
type ApplyOptions struct {
	Schema string // revisions schema
	TxMode TxMode // TxFile ("" too), TxAll or TxNone
	// Record writes revisions; false on dev replays, where only success matters.
	Record           bool
	App, GitRevision string
	LockTimeout      time.Duration // SQL lock_timeout for the session; 0 keeps the server's
	StatementTimeout time.Duration // SQL statement_timeout; 0 keeps the server's
	Resume           map[string]int
	// OnStart and OnDone observe progress (per-file lines in the report).
	OnStart func(f *migrations.File)
	OnDone  func(f *migrations.File, d time.Duration)
	// Watch is a second session on the target: through it a lock wait's blockers are named
	// and long statements report progress. nil (dev replays) watches nothing.
	Watch *pgx.Conn
	// ProgressInterval is how often a long statement logs its progress (0: 10s).
	ProgressInterval time.Duration
	// Retry is how a statement that fails on lock_timeout is retried.
	Retry RetryPolicy
	// Log receives progress, retry and warning lines; Name names a file in them.
	Log  func(string)
	Name func(f *migrations.File) string
}

// Result is one applied file.
type Result struct {
	File     *migrations.File
	Duration time.Duration
}

// Apply writes the marks (adopted or baseline rows) and applies files in order on conn,
// which must hold the migration lock when recording. A transactional file's revision row is
// written in its transaction; a non-transactional one records progress after each
// statement, so a failure or kill leaves an exact record. Errors are *failure.Error with code 5
// (or 1 for a tx mode the files cannot run in); the results so far are returned with it.
func Apply(ctx context.Context, conn *pgx.Conn, marks []Revision, files []*migrations.File, o ApplyOptions) ([]Result, error) {
	a := newApplier(conn, o)
	if err := a.setTimeouts(ctx); err != nil {
		return nil, err
	}
	if o.Record {
		a.warnBlockers(ctx, files)
	}
	if o.TxMode == TxAll {
		if len(o.Resume) > 0 {
			return nil, &failure.Error{Exit: failure.ExitUsage, Rule: "tx-mode", Msg: "a partially applied file resumes statement by statement: use --tx-mode file with --resume-partial"}
		}
		for _, f := range files {
			if !f.Transactional() {
				return nil, &failure.Error{Exit: failure.ExitUsage, File: f.Name, Rule: "tx-mode",
					Msg: "cannot run inside a transaction, so it cannot run with --tx-mode all; use --tx-mode file"}
			}
		}
		return a.applyAll(ctx, marks, files)
	}
	if o.Record && len(marks) > 0 {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, m := range marks {
				if err := insertRevision(ctx, tx, o.Schema, a.stamp(m)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, &failure.Error{Exit: failure.ExitApply, Rule: "revisions-table", Msg: "recording adopted/baseline history: " + err.Error(), Err: err}
		}
	}
	var done []Result
	for len(files) > 0 {
		f := files[0]
		if o.OnStart != nil {
			o.OnStart(f)
		}
		start := time.Now()
		group := files[:1]
		var err error
		from, resume := o.Resume[Key(f)]
		if o.TxMode == TxNone || !f.Transactional() || resume {
			if err = a.stepwise(ctx, f, from, resume); err == nil {
				done = append(done, Result{File: f, Duration: time.Since(start)})
			}
		} else {
			group = a.group(files)
			var n int
			n, err = a.inTx(ctx, group)
			for _, g := range group[:n] { // a group's files share its time
				done = append(done, Result{File: g, Duration: time.Since(start)})
			}
		}
		if err != nil {
			return done, err
		}
		if o.OnDone != nil {
			o.OnDone(f, time.Since(start))
		}
		files = files[len(group):]
	}
	return done, nil
}

// Limits of a group of files replayed in one round trip.
const (
	groupFiles = 100
	groupBytes = 1 << 20
)

// group is the transactional files at the head of files that go to the server in one round
// trip, each still in a transaction of its own: on a dev replay (nothing recorded, nobody
// watching or retrying, no per-file progress) up to groupFiles of them; one on the target,
// where each file's revision row, progress lines and retries are its own.
func (a *applier) group(files []*migrations.File) []*migrations.File {
	o := a.o
	if o.Record || o.Watch != nil || o.OnStart != nil || o.OnDone != nil || o.Retry.Attempts > 0 {
		return files[:1]
	}
	n, size := 1, len(files[0].Content)
	for ; n < len(files) && n < groupFiles && files[n].Transactional(); n++ {
		if _, resume := o.Resume[Key(files[n])]; resume {
			break
		}
		if size += len(files[n].Content); size > groupBytes {
			break
		}
	}
	return files[:n]
}

type applier struct {
	conn *pgx.Conn
	o    ApplyOptions
	w    *watcher
	// prepared: the revision row's statement is prepared on conn (prepareRevision);
	// noPrepare: it is not used, having failed or been deallocated by a file.
	prepared, noPrepare bool
}

// prepareRevision prepares the revision row's statement once per run and reports whether
// it can be used. Without it (it failed, or a file deallocated it) the row is written as a
// plain statement: the same row, planned once per file.
func (a *applier) prepareRevision(ctx context.Context) bool {
	if a.prepared || a.noPrepare {
		return a.prepared && !a.noPrepare
	}
	_, err := a.conn.Exec(ctx, prepareRevisionSQL(a.o.Schema))
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42P05" {
		// Prepared by an earlier Apply on this session, maybe for another schema.
		if _, err = a.conn.Exec(ctx, "DEALLOCATE "+preparedRevision); err == nil {
			_, err = a.conn.Exec(ctx, prepareRevisionSQL(a.o.Schema))
		}
	}
	if err != nil {
		a.noPrepare = true
		return false
	}
	a.prepared = true
	return true
}

// newApplier fills o's unset callbacks and, with a Watch session, sets up the watcher: it
// samples a lock wait a few times per lock_timeout (20ms to 1s) and at least as often as
// progress is logged.
func newApplier(conn *pgx.Conn, o ApplyOptions) *applier {
	a := &applier{conn: conn, o: o}
	if a.o.Name == nil {
		a.o.Name = func(f *migrations.File) string { return f.Name }
	}
	if a.o.Log == nil {
		a.o.Log = func(string) {}
	}
	if o.Watch != nil {
		sample := time.Second
		if o.LockTimeout > 0 {
			sample = min(max(o.LockTimeout/4, 20*time.Millisecond), time.Second)
		}
		progress := o.ProgressInterval
		if progress <= 0 {
			progress = 10 * time.Second
		}
		sample = min(sample, progress)
		a.w = &watcher{conn: o.Watch, pid: conn.PgConn().PID(), sample: sample, progress: progress, log: a.o.Log}
	}
	return a
}

// exec runs one statement on q under the watcher: its error and who blocked it last.
func (a *applier) exec(ctx context.Context, q querier, f *migrations.File, st migrations.Statement) (error, []Session) {
	return a.w.watch(fmt.Sprintf("%s:%d", a.o.Name(f), st.Line), func() error {
		_, err := q.Exec(ctx, st.SQL)
		return err
	})
}

func (a *applier) setTimeouts(ctx context.Context) error {
	for name, d := range map[string]time.Duration{"lock_timeout": a.o.LockTimeout, "statement_timeout": a.o.StatementTimeout} {
		if d <= 0 {
			continue
		}
		if _, err := a.conn.Exec(ctx, fmt.Sprintf("SET %s = %d", name, d.Milliseconds())); err != nil {
			return &failure.Error{Exit: failure.ExitApply, Rule: "settings", Msg: fmt.Sprintf("setting %s: %v", name, err), Err: err}
		}
	}
	return nil
}

func (a *applier) stamp(r Revision) Revision {
	r.App, r.GitRevision = a.o.App, a.o.GitRevision
	return r
}

func (a *applier) revision(f *migrations.File, status string, applied int, d time.Duration, lastErr string) Revision {
	return a.stamp(Revision{Version: Key(f), Description: f.Description, Checksum: f.Checksum, Status: status,
		ExecutionMs: d.Milliseconds(), StatementsTotal: len(f.Statements), StatementsApplied: applied, LastError: lastErr})
}

// inTx runs files, each in one transaction with its revision row, in one round trip, again
// after a backoff when it failed only on lock_timeout (one file: a group of several is never
// retried). committed is how many files of the group were committed.
func (a *applier) inTx(ctx context.Context, files []*migrations.File) (committed int, err error) {
	if e := a.retryRolledBack(ctx, "the file was rolled back", func(e *failure.Error) string {
		return fmt.Sprintf("%s:%d", a.o.Name(files[0]), e.Line)
	}, func() (e *failure.Error) {
		committed, e = a.inTxOnce(ctx, files)
		return e
	}); e != nil {
		return committed, e
	}
	return len(files), nil
}

func (a *applier) inTxOnce(ctx context.Context, files []*migrations.File) (committed int, e *failure.Error) {
	prepared := a.o.Record && a.prepareRevision(ctx)
	b := newBatch(files, func(f *migrations.File) string {
		if !a.o.Record {
			return ""
		}
		r := a.revision(f, StatusApplied, len(f.Statements), 0, "")
		if prepared {
			return executeRevisionSQL(r)
		}
		return revisionSQL(a.o.Schema, r)
	})
	var completed int
	err, blockers := a.w.watch(b.label(a.o.Name(files[0])), func() (err error) {
		completed, err = b.exec(ctx, a.conn.PgConn())
		return err
	})
	if err == nil {
		return len(files), nil
	}
	if !a.conn.IsClosed() && a.conn.PgConn().TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		a.conn.Exec(ctx, "ROLLBACK")
		cancel()
	}
	p, err := b.failed(completed, err)
	if p == nil {
		p = &b.parts[len(b.parts)-1] // past the last part: the last COMMIT's
	}
	if pe := (*pgconn.PgError)(nil); prepared && p.what == "revision" && errors.As(err, &pe) && pe.Code == "26000" {
		// A file deallocated the prepared statement (this one's DEALLOCATE ALL, an earlier
		// non-transactional one's DISCARD ALL): this file was rolled back, so it runs again,
		// recorded without one, as is the rest of the run.
		a.noPrepare = true
		return a.inTxOnce(ctx, files)
	}
	var st *migrations.Statement
	tail := "; the file's transaction was rolled back, nothing of it was applied"
	switch {
	case p.st != nil:
		st = p.st
	case p.what == "revision":
		tail = "; recording it failed, the file's transaction was rolled back"
	case p.what == "COMMIT":
		tail = "; the commit failed, the file is not applied"
	}
	e = a.failure(ctx, files[p.file], st, err, tail)
	withBlockers(e, blockers)
	return p.file, e
}

// applyAll runs the marks and every file in one transaction, again after a backoff when it
// failed only on lock_timeout.
func (a *applier) applyAll(ctx context.Context, marks []Revision, files []*migrations.File) ([]Result, error) {
	var res []Result
	if e := a.retryRolledBack(ctx, "the whole run was rolled back", func(e *failure.Error) string {
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	}, func() (e *failure.Error) {
		res, e = a.applyAllOnce(ctx, marks, files)
		return e
	}); e != nil {
		return nil, e
	}
	return res, nil
}

func (a *applier) applyAllOnce(ctx context.Context, marks []Revision, files []*migrations.File) ([]Result, *failure.Error) {
	tx, err := a.conn.Begin(ctx)
	if err != nil {
		return nil, a.failure(ctx, nil, nil, err, "")
	}
	if a.o.Record {
		for _, m := range marks {
			if err := insertRevision(ctx, tx, a.o.Schema, a.stamp(m)); err != nil {
				rollback(tx)
				return nil, a.failure(ctx, nil, nil, err, "")
			}
		}
	}
	var done []Result
	for _, f := range files {
		if a.o.OnStart != nil {
			a.o.OnStart(f)
		}
		start := time.Now()
		if e := a.execInTx(ctx, tx, f, "; --tx-mode all: the whole run was rolled back, nothing was applied"); e != nil {
			return nil, e
		}
		d := time.Since(start)
		if a.o.Record {
			if err := insertRevision(ctx, tx, a.o.Schema, a.revision(f, StatusApplied, len(f.Statements), d, "")); err != nil {
				rollback(tx)
				return nil, a.failure(ctx, f, nil, err, "; --tx-mode all: the whole run was rolled back")
			}
		}
		done = append(done, Result{File: f, Duration: d})
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, a.failure(ctx, nil, nil, err, "; the commit failed, nothing was applied")
	}
	if a.o.OnDone != nil {
		for _, r := range done {
			a.o.OnDone(r.File, r.Duration)
		}
	}
	return done, nil
}

// execInTx runs f's statements in tx, leaving out the file's own plain BEGIN/COMMIT (see
// migrations.PlainTxControl). On a failure it rolls tx back and returns the statement's
// error, with tail saying what the rollback undid.
func (a *applier) execInTx(ctx context.Context, tx pgx.Tx, f *migrations.File, tail string) *failure.Error {
	for _, st := range f.Statements {
		if migrations.PlainTxControl(st.SQL) {
			continue
		}
		if err, blockers := a.exec(ctx, tx, f, st); err != nil {
			rollback(tx)
			e := a.failure(ctx, f, &st, err, tail)
			withBlockers(e, blockers)
			return e
		}
	}
	return nil
}

// retryRolledBack runs once, a transaction, again after a backoff for as long as it fails
// only on lock_timeout: the transaction rolled back cleanly, so running it again is safe.
// undone says what the rollback undid and where names the failure in the log.
func (a *applier) retryRolledBack(ctx context.Context, undone string, where func(*failure.Error) string, once func() *failure.Error) *failure.Error {
	for attempt := 1; ; attempt++ {
		e := once()
		if e == nil {
			return nil
		}
		if !lockTimedOut(e.Err) || ctx.Err() != nil {
			return e
		}
		if why := a.pause(ctx, attempt, where(e), blockersOf(e), undone); why != "" {
			e.Rule = RuleLockTimeout
			e.Msg += a.blockedBy(blockersOf(e)) + why
			return e
		}
	}
}

// stepwise runs f statement by statement from statement `from`, recording progress after
// each one, so a failure, SIGTERM or kill leaves exactly what ran on record. A statement
// that failed on lock_timeout is retried only when it cannot have done any work. On resume,
// the INVALID index a failed concurrent build of statement `from` left is dropped first.
func (a *applier) stepwise(ctx context.Context, f *migrations.File, from int, resume bool) error {
	start := time.Now()
	if a.o.Record && resume && from < len(f.Statements) {
		if err := a.dropLeftovers(ctx, f, f.Statements[from]); err != nil {
			return a.failure(ctx, f, &f.Statements[from], err, "; dropping the invalid index the failed statement left")
		}
	}
	if a.o.Record {
		if err := insertRevision(ctx, a.conn, a.o.Schema, a.revision(f, StatusPartial, from, 0, "")); err != nil {
			return a.failure(ctx, f, nil, err, "")
		}
	}
	for i := from; i < len(f.Statements); i++ {
		st := f.Statements[i]
		// What a failure may leave matters on the target only (dev replays do not retry).
		var kind stmtKind
		if a.o.Record {
			kind = classify(st.SQL)
		}
		var before []Index
		if kind.build != "" {
			before, _ = invalidIndexes(ctx, a.conn, kind)
			a.record(f, StatusPartial, i, time.Since(start),
				runningNote(fmt.Sprintf("%s:%d", f.Name, st.Line), kind, before, Key(f)))
		}
		err, blockers, left, why := a.attempt(ctx, f, st, kind, before)
		if err != nil {
			tail := ""
			if lockTimedOut(err) {
				tail = a.blockedBy(blockers) + why
			}
			if len(left) > 0 {
				tail += leftoverNote(kind, left, Key(f))
			}
			if a.o.Record {
				e := statementError(f, st, err, failure.ExitApply)
				a.record(f, StatusPartial, i, time.Since(start), e.Error()+tail)
				tail += fmt.Sprintf("; the file is not transactional: %d of %d statements were applied and it is recorded as partial, so the next run stops until it is resolved (see --resume-partial)", i, len(f.Statements))
			}
			e := a.failure(ctx, f, &st, err, tail)
			if lockTimedOut(err) && e.Rule == RuleStatementFailed {
				e.Rule = RuleLockTimeout
			}
			return e
		}
		if a.o.Record {
			// Progress is written even when ctx was cancelled right after the statement.
			if err := a.record(f, StatusPartial, i+1, time.Since(start), ""); err != nil {
				return a.failure(ctx, f, nil, err, fmt.Sprintf("; statement %d ran but recording it failed: check the database before resuming", i+1))
			}
		}
	}
	if a.o.Record {
		if err := a.record(f, StatusApplied, len(f.Statements), time.Since(start), ""); err != nil {
			return a.failure(ctx, f, nil, err, "; all statements ran but recording it failed")
		}
	}
	return nil
}

// attempt runs statement st of a non-transactional file, again after a backoff while it
// fails only on lock_timeout and cannot have done any work. It gives the last error, who
// blocked the statement, the INVALID indexes a failed concurrent build left (before are
// those there were) and why it was not retried further.
func (a *applier) attempt(ctx context.Context, f *migrations.File, st migrations.Statement, kind stmtKind, before []Index) (err error, blockers []Session, left []Index, why string) {
	for attempt := 1; ; attempt++ {
		err, blockers = a.exec(ctx, a.conn, f, st)
		if err == nil {
			return nil, blockers, left, ""
		}
		if kind.build != "" {
			if after, qerr := invalidIndexes(context.WithoutCancel(ctx), a.conn, kind); qerr == nil {
				left = newIndexes(before, after)
			}
		}
		if !lockTimedOut(err) || ctx.Err() != nil {
			return err, blockers, left, ""
		}
		if len(left) > 0 || (kind.multiTx && kind.build == "") || a.conn.PgConn().TxStatus() != 'I' {
			return err, blockers, left, "; not retried: the statement may have done part of its work"
		}
		if why = a.pause(ctx, attempt, fmt.Sprintf("%s:%d", a.o.Name(f), st.Line), blockers, "the statement did no work"); why != "" {
			return err, blockers, left, why
		}
	}
}

// dropLeftovers drops the INVALID indexes that the failed concurrent build st noted in
// the file's last_error, and only those: each must still exist under the same oid, be
// invalid, and be on the table st builds on. Anything else is left for a human.
func (a *applier) dropLeftovers(ctx context.Context, f *migrations.File, st migrations.Statement) error {
	kind := classify(st.SQL)
	if kind.build == "" {
		return nil
	}
	var lastErr string
	err := a.conn.QueryRow(ctx, `SELECT coalesce(last_error, '') FROM `+table(a.o.Schema)+` WHERE version = $1`, Key(f)).Scan(&lastErr)
	if err != nil {
		return err
	}
	now, err := invalidIndexes(ctx, a.conn, kind)
	if err != nil {
		return err
	}
	// After a failure the leftovers were recorded by oid; after a kill, only the invalid
	// indexes that existed before the build, so a new one must also bear the build's name.
	recorded := recordedLeftovers(lastErr)
	before, killed := recordedBefore(lastErr)
	for _, x := range now {
		switch {
		case len(recorded) > 0 && slices.Contains(recorded, x.OID):
		case len(recorded) == 0 && killed && len(newIndexes(before, []Index{x})) == 1 && kind.leaves(x.Relname):
		default:
			continue
		}
		a.o.Log(fmt.Sprintf("%s:%d: dropping INVALID index %s (oid %d) that the failed %s CONCURRENTLY left, before running it again",
			a.o.Name(f), st.Line, x.Name, x.OID, strings.ToUpper(kind.build)))
		// The oid was just read, and the regclass text is quoted as needed.
		if _, err := a.conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+x.Name); err != nil {
			return fmt.Errorf("DROP INDEX CONCURRENTLY %s: %w", x.Name, err)
		}
	}
	return nil
}

// record updates f's row with a context of its own, so it is written after a cancel too.
func (a *applier) record(f *migrations.File, status string, applied int, d time.Duration, lastErr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return insertRevision(ctx, a.conn, a.o.Schema, a.revision(f, status, applied, d, lastErr))
}

func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx.Rollback(ctx)
}

// failure builds the error of a failed file: the statement's position in the file and
// Postgres's error, or what interrupted the run.
func (a *applier) failure(ctx context.Context, f *migrations.File, st *migrations.Statement, err error, tail string) *failure.Error {
	var e *failure.Error
	switch {
	case f != nil && st != nil:
		e = statementError(f, *st, err, failure.ExitApply)
	default:
		e = &failure.Error{Exit: failure.ExitApply, Rule: "apply", Msg: err.Error(), Err: err}
		if f != nil {
			e.File = f.Name
		}
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) {
			e.SQLState = pe.Code
		}
	}
	if ctx.Err() != nil {
		e.Rule = "interrupted"
		e.Msg = "interrupted (SIGTERM or the run's timeout) while running it: " + e.Msg
	} else if a.conn.IsClosed() || errors.Is(err, context.DeadlineExceeded) {
		e.Rule = "connection-lost"
		e.Msg = "lost the connection to the database (server restarted or unreachable?) while running it: " + e.Msg + "; the server rolls back an open transaction, rerun to continue"
	}
	e.Msg += tail
	return e
}
