package migrations

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"github.com/schemahook/schemahook/failure"
)

// Split cuts sql into statements with the real Postgres parser, so dollar-quoted bodies,
// semicolons inside strings and comments stay byte-exact. Each Statement.SQL equals what
// pg_query.SplitWithParser(sql, true) returns; Offset, Line and Col are relative to sql.
// A syntax error is a *failure.Error with rule "syntax" at the parser's cursor position.
// SQL holding only comments or whitespace gives zero statements.
func Split(sql string) ([]Statement, error) {
	if err := checkText(sql); err != nil {
		return nil, err
	}
	stmts, err := splitRange(sql, newLineIndex(sql), 0, len(sql))
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

// splitRange splits content[start:end] and reports positions relative to content.
//
// The boundaries come from pg_query.SplitWithParser: the same raw Postgres parse that
// pg_query.Parse does, but without turning the whole tree into protobuf and then into Go
// objects, which cost about ten times the parse itself. Only a statement that could refuse
// a transaction, by the keywords it holds (mayRefuseTx), is parsed into a tree to decide
// NoTx. Whatever looks unexpected falls back to splitRangeTree, the one-parse way.
func splitRange(content string, idx *lineIndex, start, end int) ([]Statement, *failure.Error) {
	sql := content[start:end]
	texts, err := pg_query.SplitWithParser(sql, false)
	if err != nil {
		return nil, syntaxError(sql, idx, start, err)
	}
	// SplitWithParser gives substrings of sql (sql[loc:loc+len]), so where each lies is where
	// its bytes are. A statement of only whitespace and comments cannot come back, but an
	// empty one would carry no position and is skipped like any blank one below.
	base := uintptr(unsafe.Pointer(unsafe.StringData(sql)))
	out := make([]Statement, 0, len(texts))
	for _, text := range texts {
		trimmed := strings.TrimSpace(text)
		if trimmed == "" {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(text)))
		if len(text) > len(sql) || p < base || p-base > uintptr(len(sql)-len(text)) {
			return splitRangeTree(content, idx, start, end) // not a substring after all
		}
		loc := int(p - base)
		off := start + loc + (len(text) - len(strings.TrimLeft(text, " \t\r\n\v\f")))
		st := Statement{SQL: trimmed, Offset: off}
		st.Line, st.Col = idx.pos(off)
		if mayRefuseTx(text) {
			tree, err := pg_query.Parse(text)
			if err != nil || len(tree.Stmts) != 1 {
				return splitRangeTree(content, idx, start, end)
			}
			st.NoTx = refusesTx(tree.Stmts[0].Stmt)
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// splitRangeTree is splitRange by one pg_query.Parse of the whole range: the statement
// boundaries are the raw parser locations SplitWithParser cuts at, and the tree decides NoTx.
// It is the fallback of splitRange and the reference its tests compare against.
func splitRangeTree(content string, idx *lineIndex, start, end int) ([]Statement, *failure.Error) {
	sql := content[start:end]
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, syntaxError(sql, idx, start, err)
	}
	var out []Statement
	for _, raw := range tree.Stmts {
		loc, n := int(raw.StmtLocation), int(raw.StmtLen)
		if n == 0 { // the last statement without a semicolon runs to the end
			n = len(sql) - loc
		}
		if loc < 0 || n < 0 || loc+n > len(sql) {
			return nil, &failure.Error{Rule: RuleSyntax, Msg: fmt.Sprintf("parser reported a statement outside the text (%d+%d)", loc, n)}
		}
		text := sql[loc : loc+n]
		trimmed := strings.TrimSpace(text)
		if trimmed == "" {
			continue
		}
		off := start + loc + (len(text) - len(strings.TrimLeft(text, " \t\r\n\v\f")))
		line, col := idx.pos(off)
		out = append(out, Statement{SQL: trimmed, Offset: off, Line: line, Col: col, NoTx: refusesTx(raw.Stmt)})
	}
	return out, nil
}

// syntaxError turns the parser's refusal of content[start:] (sql) into a *failure.Error at its
// cursor.
func syntaxError(sql string, idx *lineIndex, start int, err error) *failure.Error {
	e := &failure.Error{Rule: RuleSyntax, Msg: err.Error()}
	var pe *parser.Error
	if errors.As(err, &pe) {
		// Keep the message on one line: Postgres quotes the offending text, breaks included.
		e.Msg = strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(pe.Message)
		e.Line, e.Col = idx.pos(start + ByteOffset(sql, pe.Cursorpos-1))
	} else {
		e.Line, e.Col = idx.pos(start)
	}
	return e
}

// txKeywords holds, in lower case, a keyword that every statement refusesTx can return true
// for must spell out: CREATE/DROP INDEX and DETACH PARTITION ... CONCURRENTLY, REINDEX,
// VACUUM, CREATE/DROP/ALTER DATABASE, CREATE/DROP TABLESPACE, ALTER SYSTEM, CREATE/ALTER/
// DROP SUBSCRIPTION, CLUSTER, DISCARD, COMMIT/ROLLBACK PREPARED. Postgres matches keywords
// only as written, ASCII letters in any case, never split or quoted, so a statement whose
// text holds none of them cannot refuse a transaction. Keep it in step with refusesTx.
var txKeywords = [...]string{"concurrently", "reindex", "vacuum", "database", "tablespace", "system", "subscription", "cluster", "discard", "prepared"}

// mayRefuseTx is the cheap, conservative prefilter of refusesTx: false only when the text
// holds none of txKeywords, case-insensitively, anywhere (comments and strings included).
func mayRefuseTx(text string) bool {
	for i := 0; i < len(text); i++ {
		var hit bool
		switch rest := text[i:]; rest[0] | 0x20 { // the first letters of txKeywords
		case 'c':
			hit = hasPrefixFold(rest, "concurrently") || hasPrefixFold(rest, "cluster")
		case 'r':
			hit = hasPrefixFold(rest, "reindex")
		case 'v':
			hit = hasPrefixFold(rest, "vacuum")
		case 'd':
			hit = hasPrefixFold(rest, "database") || hasPrefixFold(rest, "discard")
		case 't':
			hit = hasPrefixFold(rest, "tablespace")
		case 's':
			hit = hasPrefixFold(rest, "system") || hasPrefixFold(rest, "subscription")
		case 'p':
			hit = hasPrefixFold(rest, "prepared")
		}
		if hit {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with lower, a lower-case ASCII word, in any case.
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for j := 0; j < len(lower); j++ {
		if s[j]|0x20 != lower[j] {
			return false
		}
	}
	return true
}

// ByteOffset turns a 0-based character index of s into a byte offset (Postgres's error
// positions and the parser's cursor count characters); past the end it is len(s).
func ByteOffset(s string, chars int) int {
	off := 0
	for i := 0; i < chars && off < len(s); i++ {
		_, n := utf8.DecodeRuneInString(s[off:])
		off += n
	}
	return off
}

// checkText refuses what Postgres would refuse before parsing: NUL bytes (which would also
// cut the text short on its way into the C parser) and invalid UTF-8.
func checkText(s string) *failure.Error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		line, col := newLineIndex(s).pos(i)
		return &failure.Error{Line: line, Col: col, Rule: RuleEncoding, Msg: "NUL byte in SQL text"}
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		line, col := newLineIndex(s).pos(i)
		return &failure.Error{Line: line, Col: col, Rule: RuleEncoding, Msg: "invalid UTF-8 (migration files must be UTF-8)"}
	}
	return nil
}

// refusesTx reports whether Postgres refuses the statement inside a transaction block
// (PreventInTransactionBlock in the server). ALTER TYPE ... ADD VALUE is allowed since PG12.
func refusesTx(node *pg_query.Node) bool {
	if node == nil {
		return false
	}
	switch n := node.Node.(type) {
	case *pg_query.Node_IndexStmt:
		return n.IndexStmt.Concurrent
	case *pg_query.Node_DropStmt:
		return n.DropStmt.Concurrent
	case *pg_query.Node_ReindexStmt:
		switch n.ReindexStmt.Kind {
		case pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA, pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM, pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE:
			return true
		}
		return optionOn(n.ReindexStmt.Params, "concurrently", false)
	case *pg_query.Node_VacuumStmt:
		return n.VacuumStmt.IsVacuumcmd // ANALYZE alone runs in a transaction
	case *pg_query.Node_CreatedbStmt, *pg_query.Node_DropdbStmt,
		*pg_query.Node_CreateTableSpaceStmt, *pg_query.Node_DropTableSpaceStmt,
		*pg_query.Node_AlterSystemStmt:
		return true
	case *pg_query.Node_CreateSubscriptionStmt:
		o := n.CreateSubscriptionStmt.Options
		return optionOn(o, "connect", true) && optionOn(o, "create_slot", true)
	case *pg_query.Node_AlterSubscriptionStmt:
		switch n.AlterSubscriptionStmt.Kind {
		case pg_query.AlterSubscriptionType_ALTER_SUBSCRIPTION_REFRESH:
			return true
		case pg_query.AlterSubscriptionType_ALTER_SUBSCRIPTION_SET_PUBLICATION,
			pg_query.AlterSubscriptionType_ALTER_SUBSCRIPTION_ADD_PUBLICATION,
			pg_query.AlterSubscriptionType_ALTER_SUBSCRIPTION_DROP_PUBLICATION:
			return optionOn(n.AlterSubscriptionStmt.Options, "refresh", true)
		}
	case *pg_query.Node_DropSubscriptionStmt:
		return true // refused when it drops a replication slot, which only the server knows
	case *pg_query.Node_AlterTableStmt:
		for _, c := range n.AlterTableStmt.Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd != nil && cmd.Subtype == pg_query.AlterTableType_AT_DetachPartition && cmd.Def.GetPartitionCmd().GetConcurrent() {
				return true
			}
		}
	case *pg_query.Node_ClusterStmt:
		return n.ClusterStmt.Relation == nil // CLUSTER of every table
	case *pg_query.Node_AlterDatabaseStmt:
		for _, o := range n.AlterDatabaseStmt.Options {
			if o.GetDefElem().GetDefname() == "tablespace" {
				return true
			}
		}
	case *pg_query.Node_DiscardStmt:
		return n.DiscardStmt.Target == pg_query.DiscardMode_DISCARD_ALL
	case *pg_query.Node_TransactionStmt:
		k := n.TransactionStmt.Kind
		return k == pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED || k == pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED
	}
	return false
}

// optionOn reads a boolean option from a DefElem list (WITH (x = false), (CONCURRENTLY) ...);
// def is its value when absent.
func optionOn(opts []*pg_query.Node, name string, def bool) bool {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || d.Defname != name {
			continue
		}
		switch a := d.Arg.GetNode().(type) {
		case nil:
			return true
		case *pg_query.Node_Boolean:
			return a.Boolean.Boolval
		case *pg_query.Node_Integer:
			return a.Integer.Ival != 0
		case *pg_query.Node_String_:
			switch strings.ToLower(a.String_.Sval) {
			case "false", "off", "no", "0":
				return false
			}
			return true
		}
		return true
	}
	return def
}
