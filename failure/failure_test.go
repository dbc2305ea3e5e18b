package failure

import (
	"errors"
	"io"
	"testing"
)

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "001_a.sql", Line: 2, Col: 5, Msg: "syntax error", Rule: "syntax"}, "001_a.sql:2:5: syntax error [syntax]"},
		{Error{File: "001_a.sql", Line: 2, Msg: "bad"}, "001_a.sql:2: bad"},
		{Error{File: "001_a.sql", Msg: "changed", Rule: "checksum-mismatch"}, "001_a.sql: changed [checksum-mismatch]"},
		{Error{Line: 3, Col: 1, Msg: "bad"}, "line 3:1: bad"},
		{Error{Line: 3, Msg: "bad"}, "line 3: bad"},
		{Error{Msg: "no target database"}, "no target database"},
		{Error{Stage: StageLint, File: "004.sql", Line: 1, Col: 1, Rule: "SH101", Msg: "drops a table"}, "lint: 004.sql:1:1: drops a table [SH101]"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestErrorChain(t *testing.T) {
	var err error = &Error{Msg: "reading", Exit: ExitHistory, Err: io.ErrUnexpectedEOF}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("the cause is not reachable through Unwrap")
	}
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != 4 {
		t.Errorf("ExitCode through errors.As: %v", ec)
	}
}
