// Package failure is schemahook's one error model: the Error every layer returns when it
// refuses or fails (a migration file, the history, the dev replay, lint, the apply), and
// the exit codes the command returns for them (docs/architecture.md).
//
// It is a top-level package of its own, importing only the standard library, because every
// other package builds or reads these errors: migrations and engine at the bottom, hooks
// and the commands on top. One type means a failure keeps its file, position, rule and
// SQLSTATE from the layer that found it to the JSON report without being copied field by
// field, and the exit codes, which users and CI scripts depend on, are listed once.
package failure

import (
	"fmt"
	"strings"
)

// ExitCode is a process exit code of the schemahook command. The values are a contract:
// the hook Job's result, CI scripts and the e2e tests read them.
type ExitCode int

// The exit codes, one per kind of failure.
const (
	ExitOK      ExitCode = 0
	ExitUsage   ExitCode = 1 // bad flags, configuration or migration directory
	ExitDev     ExitCode = 2 // the dev replay failed (or Postgres would refuse the SQL)
	ExitLint    ExitCode = 3 // the lint policy blocked
	ExitHistory ExitCode = 4 // history or integrity: changed, missing, out-of-order or partial files
	ExitApply   ExitCode = 5 // applying to the target failed
	ExitConnect ExitCode = 6 // the target cannot be reached, locked or read
	ExitDrift   ExitCode = 7 // the target's schema drifted from its migrations under policy error
)

// The stages of a hook run, as named in errors and the JSON report.
const (
	StageConfig = "config"
	StageVerify = "verify"
	StageDev    = "dev"
	StageLint   = "lint"
	StageApply  = "apply"
	StageDrift  = "drift"
)

// Error is a refusal or failure that names where it happened and why. Every field but Msg
// is optional: a directory error has no stage until the hook run gives it one, and a
// connection error has no file. The JSON field names are those of the hook's report.
type Error struct {
	Stage string `json:"stage"`
	File  string `json:"file"` // path as the user knows it
	Line  int    `json:"line"` // 1-based; 0 when the whole file is meant
	Col   int    `json:"col,omitempty"`
	// Rule is a short stable name of what was broken ("checksum-mismatch"), or the code of
	// the lint rule that blocked ("SH101").
	Rule     string `json:"rule,omitempty"`
	SQLState string `json:"sqlstate,omitempty"`
	Msg      string `json:"message"`
	// Exit is the process exit code; 0 leaves it to the caller (see hooks' stage defaults).
	Exit ExitCode `json:"exitCode"`
	Err  error    `json:"-"` // the cause, for errors.Is and errors.As
}

// Error is "stage: file:line:col: message [rule]", leaving out what is unset.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Stage != "" {
		b.WriteString(e.Stage + ": ")
	}
	switch {
	case e.File != "" && e.Line > 0 && e.Col > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0 && e.Col > 0: // text without a file, e.g. from migrations.Split
		fmt.Fprintf(&b, "line %d:%d: ", e.Line, e.Col)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	if e.Rule != "" {
		b.WriteString(" [" + e.Rule + "]")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the process exit code for this error; the command finds it through this
// method, as it does on its own usage errors.
func (e *Error) ExitCode() int { return int(e.Exit) }
