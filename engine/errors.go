// Package engine applies migrations to a Postgres database with pgx: connection with retry,
// the advisory lock, the revisions table, history verification and adoption, and the apply
// loop that records exactly what ran.
package engine

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/schemahook/schemahook/migrations"
)

// Exit codes of DESIGN.md that engine errors carry.
const (
	CodeConfig  = 1
	CodeHistory = 4
	CodeApply   = 5
	CodeConnect = 6
)

// Error is a refusal or failure that names the file, the position in it and the rule, with
// the exit code the command returns for it.
type Error struct {
	Code     int
	File     string
	Line     int
	Col      int
	Rule     string // stable short name, e.g. "checksum-mismatch"
	SQLState string
	Msg      string
	Err      error
	blockers []Session // who blocked the statement's lock wait, when it timed out
}

func (e *Error) Error() string {
	pos := e.File
	if pos != "" && e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", pos, e.Line)
		if e.Col > 0 {
			pos = fmt.Sprintf("%s:%d", pos, e.Col)
		}
	}
	msg := e.Msg
	if pos != "" {
		msg = pos + ": " + msg
	}
	if e.Rule != "" {
		msg += " [" + e.Rule + "]"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the process exit code for this error.
func (e *Error) ExitCode() int { return e.Code }

// statementError describes err from running statement st of file f: the position Postgres
// reported mapped into the file, the SQLSTATE and Postgres's own message.
func statementError(f *migrations.File, st migrations.Statement, err error, code int) *Error {
	e := &Error{Code: code, File: f.Name, Line: st.Line, Col: st.Col, Rule: "statement-failed", Err: err}
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
