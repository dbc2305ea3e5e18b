package schema

import (
	"regexp"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// unqualifyView writes a view over one relation as Postgres 16 and newer print it: before
// 16, the server qualified every column with the relation's name (orders.id), since 16 it
// does not when the query has only that relation. Views over several relations, joins or
// subqueries are printed qualified by every major and are left alone.
func unqualifyView(sql string) string {
	js, err := pg_query.ParseToJSON(sql)
	if err != nil || strings.Count(js, `"RangeVar"`) != 1 {
		return sql
	}
	for _, n := range []string{"RangeSubselect", "JoinExpr", "SubLink", "RangeFunction", "withClause", "larg"} {
		if strings.Contains(js, `"`+n+`"`) {
			return sql
		}
	}
	tree, err := pg_query.Parse(sql)
	if err != nil || len(tree.Stmts) != 1 {
		return sql
	}
	var query *pg_query.Node
	switch s := tree.Stmts[0].Stmt.Node.(type) {
	case *pg_query.Node_ViewStmt:
		query = s.ViewStmt.Query
	case *pg_query.Node_CreateTableAsStmt:
		query = s.CreateTableAsStmt.Query
	}
	sel := query.GetSelectStmt()
	if sel == nil || len(sel.FromClause) != 1 || sel.FromClause[0].GetRangeVar() == nil {
		return sql
	}
	rv := sel.FromClause[0].GetRangeVar()
	qual := rv.Relname
	if rv.Alias != nil {
		qual = rv.Alias.Aliasname
	}
	head, body, ok := strings.Cut(sql, " AS\n")
	if !ok {
		return sql
	}
	re := regexp.MustCompile(`(^|[^.\w"])` + regexp.QuoteMeta(quoteIdent(qual)) + `\.`)
	return head + " AS\n" + re.ReplaceAllString(body, "$1")
}

// quoteIdent quotes an identifier as Postgres prints it when it must.
func quoteIdent(s string) string {
	if regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`).MatchString(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
