package lint

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// rerunnable reports, in a file that runs statement by statement, a statement that fails
// when it runs a second time. Only a file that can stop half-applied counts: a transactional
// one is all or nothing, and so is one of a single statement (SET statements aside), the
// usual home of a CREATE INDEX CONCURRENTLY.
func (sc *stmtCheck) rerunnable(n *pg_query.Node, at int) {
	if sc.inTx() || !sc.state().canStopHalfway(sc) {
		return
	}
	if what := notRerunnable(n); what != "" {
		sc.add(codeNotRerunnable, at, what+" fails if the file runs again after stopping half-way")
	}
}

// canStopHalfway reports whether the file has more than one statement that is not only a
// SET, counted once per file.
func (fs *fileState) canStopHalfway(sc *stmtCheck) bool {
	if fs.steps < 0 {
		fs.steps = 0
		for _, st := range sc.file.Statements {
			if tree, err := pg_query.Parse(st.SQL); err != nil || !isSetOnly(tree) {
				fs.steps++
			}
		}
	}
	return fs.steps > 1
}

// notRerunnable names the part of a statement that lacks IF [NOT] EXISTS; "" when none.
// ADD CONSTRAINT has no IF NOT EXISTS in Postgres and is not reported.
func notRerunnable(n *pg_query.Node) string {
	// The statements that take IF NOT EXISTS; a nil one (n is another) is not valid.
	for _, c := range []struct {
		stmt ifNotExists
		what string
	}{
		{n.GetCreateStmt(), "CREATE TABLE"},
		{n.GetIndexStmt(), "CREATE INDEX"},
		{n.GetCreateSeqStmt(), "CREATE SEQUENCE"},
		{n.GetCreateSchemaStmt(), "CREATE SCHEMA"},
		{n.GetCreateTableAsStmt(), "CREATE ... AS"},
		{n.GetCreateExtensionStmt(), "CREATE EXTENSION"},
	} {
		if c.stmt.ProtoReflect().IsValid() && !c.stmt.GetIfNotExists() {
			return c.what + " without IF NOT EXISTS"
		}
	}
	switch {
	case n.GetDropStmt() != nil && !n.GetDropStmt().MissingOk:
		return "DROP without IF EXISTS"
	case n.GetAlterEnumStmt() != nil:
		e := n.GetAlterEnumStmt()
		if e.NewVal != "" && e.OldVal == "" && !e.SkipIfNewValExists {
			return "ADD VALUE without IF NOT EXISTS"
		}
	case n.GetAlterTableStmt() != nil:
		for _, cmd := range alterCmds(n.GetAlterTableStmt()) {
			if what := guarded[cmd.Subtype]; what != "" && !cmd.MissingOk {
				return what
			}
		}
	}
	return ""
}

// ifNotExists is a statement that takes IF NOT EXISTS.
type ifNotExists interface {
	protoreflect.ProtoMessage
	GetIfNotExists() bool
}

// guarded are the ALTER TABLE subcommands that take IF [NOT] EXISTS, and what lacks it.
var guarded = map[pg_query.AlterTableType]string{
	pg_query.AlterTableType_AT_AddColumn:      "ADD COLUMN without IF NOT EXISTS",
	pg_query.AlterTableType_AT_DropColumn:     "DROP COLUMN without IF EXISTS",
	pg_query.AlterTableType_AT_DropConstraint: "DROP CONSTRAINT without IF EXISTS",
}
