// Package engine applies migrations to a Postgres database with pgx: connection with retry,
// the advisory lock, the revisions table, history verification and adoption, and the apply
// loop that records exactly what ran.
package engine

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// Rules of engine errors that the engine itself tells apart; every error it returns is a
// *failure.Error carrying one of the exit codes failure.ExitUsage, ExitHistory, ExitApply
// or ExitConnect.
const (
	RuleStatementFailed = "statement-failed" // Postgres refused a statement
	RuleLockTimeout     = "lock-timeout"     // a statement gave up waiting for a lock
)

// blockedError is the cause of a statement's failure with who blocked its lock wait, so
// the retry loop can name them; errors.As still reaches the Postgres error beneath.
type blockedError struct {
	err      error
	blockers []Session
}

func (e *blockedError) Error() string { return e.err.Error() }
func (e *blockedError) Unwrap() error { return e.err }

// withBlockers records on e who blocked the statement's lock wait (none: e is unchanged).
func withBlockers(e *failure.Error, blockers []Session) {
	if len(blockers) > 0 {
		e.Err = &blockedError{err: e.Err, blockers: blockers}
	}
}

// blockersOf returns the sessions withBlockers recorded on e.
func blockersOf(e *failure.Error) []Session {
	var be *blockedError
	if errors.As(e.Err, &be) {
		return be.blockers
	}
	return nil
}

// statementError describes err from running statement st of file f: the position Postgres
// reported mapped into the file, the SQLSTATE and Postgres's own message.
func statementError(f *migrations.File, st migrations.Statement, err error, exit failure.ExitCode) *failure.Error {
	e := &failure.Error{Exit: exit, File: f.Name, Line: st.Line, Col: st.Col, Rule: RuleStatementFailed, Err: err}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		e.SQLState = pe.Code
		e.Msg = fmt.Sprintf("%s: %s (SQLSTATE %s)", pe.Severity, pe.Message, pe.Code)
		if pe.Detail != "" {
			e.Msg += "; detail: " + pe.Detail
		}
		if pe.Hint != "" {
			e.Msg += "; hint: " + pe.Hint
		}
		if pe.Position > 0 {
			e.Line, e.Col = f.Pos(st.Offset + migrations.ByteOffset(st.SQL, int(pe.Position)-1))
		}
		return e
	}
	e.Msg = err.Error()
	return e
}
