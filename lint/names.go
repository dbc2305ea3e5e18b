package lint

import (
	"fmt"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// maxIdent is NAMEDATALEN-1: Postgres keeps the first 63 bytes of a longer identifier.
const maxIdent = 63

// identifiers reports identifiers over maxIdent bytes. It reads the statement's tokens
// from Postgres's own scanner, since the parse tree already holds the cut name.
func (sc *stmtCheck) identifiers() {
	if !mayHaveLongIdent(sc.st.SQL) {
		return
	}
	res, err := pg_query.Scan(sc.st.SQL)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, tok := range res.Tokens {
		if tok.Token != pg_query.Token_IDENT || int(tok.End) > len(sc.st.SQL) {
			continue
		}
		name := sc.st.SQL[tok.Start:tok.End]
		if strings.HasPrefix(name, `"`) && len(name) >= 2 {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		} else {
			name = strings.ToLower(name)
		}
		if len(name) <= maxIdent || seen[name] {
			continue
		}
		seen[name] = true
		sc.add(codeLongIdent, int(tok.Start), fmt.Sprintf("identifier \"%s\" is %d bytes; Postgres cuts it to \"%s\"", name, len(name), clip(name)))
	}
}

// mayHaveLongIdent is a cheap, conservative test run before the scanner: without a double
// quote, an identifier is a run of letters, digits, _, $ and non-ASCII bytes, so a text with
// no such run over maxIdent bytes holds no long identifier.
func mayHaveLongIdent(sql string) bool {
	run := 0
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '"':
			return true
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '$', c >= 0x80:
			run++
			if run > maxIdent {
				return true
			}
		default:
			run = 0
		}
	}
	return false
}

// clip cuts a name to maxIdent bytes without splitting a character, as Postgres does.
func clip(s string) string {
	n := maxIdent
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// unqualified reports the first table named without a schema in DDL, or as the target of
// INSERT, UPDATE or DELETE. Temporary tables live in their own schema and are left alone.
func (sc *stmtCheck) unqualified(n *pg_query.Node, at int) {
	var rels []*pg_query.RangeVar
	switch {
	case n.GetCreateStmt() != nil:
		rels = append(rels, n.GetCreateStmt().Relation)
	case n.GetCreateTableAsStmt() != nil:
		rels = append(rels, n.GetCreateTableAsStmt().GetInto().GetRel())
	case n.GetAlterTableStmt() != nil && n.GetAlterTableStmt().Objtype == pg_query.ObjectType_OBJECT_TABLE:
		rels = append(rels, n.GetAlterTableStmt().Relation)
	case n.GetIndexStmt() != nil:
		rels = append(rels, n.GetIndexStmt().Relation)
	case n.GetRenameStmt() != nil:
		if r := n.GetRenameStmt(); r.RenameType == pg_query.ObjectType_OBJECT_TABLE || r.RelationType == pg_query.ObjectType_OBJECT_TABLE {
			rels = append(rels, r.Relation)
		}
	case n.GetTruncateStmt() != nil:
		rels = rangeVars(n.GetTruncateStmt().Relations)
	case n.GetLockStmt() != nil:
		rels = rangeVars(n.GetLockStmt().Relations)
	case n.GetInsertStmt() != nil:
		rels = append(rels, n.GetInsertStmt().Relation)
	case n.GetUpdateStmt() != nil:
		rels = append(rels, n.GetUpdateStmt().Relation)
	case n.GetDeleteStmt() != nil:
		rels = append(rels, n.GetDeleteStmt().Relation)
	case n.GetDropStmt() != nil && n.GetDropStmt().RemoveType == pg_query.ObjectType_OBJECT_TABLE:
		for _, o := range n.GetDropStmt().Objects {
			if l := o.GetList(); l != nil && (len(l.Items) == 1 || sc.s.filled[l]) {
				sc.add(codeUnqualified, at, fmt.Sprintf("table %s is named without a schema: search_path decides which table it is", l.Items[len(l.Items)-1].GetString_().GetSval()))
				return
			}
		}
	}
	for _, r := range rels {
		if r != nil && (r.Schemaname == "" || sc.s.filled[r]) && r.Relpersistence != "t" { // qualify may have filled it in
			sc.add(codeUnqualified, int(r.Location), fmt.Sprintf("table %s is named without a schema: search_path decides which table it is", r.Relname))
			return
		}
	}
}

func rangeVars(nodes []*pg_query.Node) []*pg_query.RangeVar {
	out := make([]*pg_query.RangeVar, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.GetRangeVar())
	}
	return out
}
