package lint

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/schemahook/schemahook/migrations"
)

// Catalog is what a live database tells the lint that the files alone cannot. It is a plain
// snapshot, filled by the hook Job with a few read-only queries (hooks/catalog.go) and by
// tests by hand, so lint itself never connects. A nil Catalog (schemahook lint and check,
// without a database) keeps the rules to what the files tell.
type Catalog struct {
	// SearchPath lists the schemas an unqualified name is looked up in, in order, as the
	// migrations' connection has them (current_schemas(false) on the target). The first is
	// where an unqualified CREATE puts its object. Empty means public.
	SearchPath []string
	// Tables are the tables on the target before the pending files, by qualified lower-case
	// name ("public.orders"), with their size. A snapshot may hold only the tables the
	// pending files mention (see Mentions).
	Tables map[string]TableStats
	// Columns are the types of those tables' columns as Postgres writes them (format_type:
	// "character varying(10)"), by "schema.table.column".
	Columns map[string]string
	// Functions are the volatility of functions by "schema.name" (the most volatile of a
	// name's overloads), from the dev database after the pending files were replayed on
	// it, so the functions they create are known too.
	Functions map[string]Volatility
}

// TableStats is the size of a table from the target's statistics.
type TableStats struct {
	// Rows is the planner's estimate (pg_class.reltuples; the sum of the partitions' for a
	// partitioned table); -1 when the table was never analyzed or vacuumed.
	Rows int64
	// Bytes is pg_total_relation_size (indexes and TOAST included); -1 when unknown.
	Bytes int64
}

// Volatility is pg_proc.provolatile.
type Volatility string

// The volatilities, as pg_proc spells them.
const (
	Immutable Volatility = "i"
	Stable    Volatility = "s"
	Volatile  Volatility = "v"
)

// SmallTable is the policy for existing tables small enough that a lock-heavy operation on
// them ends quickly: findings of the rules in sizeBound downgrade from error to warning
// when the table is under both limits. It needs the target's statistics, so it applies in
// the hook Job only.
type SmallTable struct {
	Rows  int64 // estimated rows at most
	Bytes int64 // pg_total_relation_size at most
}

// sizeBound are the rules whose lock is held for as long as the table takes to scan,
// rewrite or index: on a small table that is milliseconds. SH310 (no lock_timeout) is not
// among them: waiting for a lock queues traffic behind the migration whatever the size.
var sizeBound = map[string]bool{
	codeIndexLock: true, codeReindexLock: true, codeValidate: true, codeUniqueNoIndex: true,
	codeTypeRewrite: true, codeVolatileDef: true, codeVacuumFull: true, codeCluster: true,
}

// small reports whether the policy takes a table of these stats as small. The size is
// exact and always known; the row estimate may be missing (never analyzed), and then the
// size decides alone.
func (p *SmallTable) small(st TableStats) bool {
	if p == nil || st.Bytes < 0 || st.Bytes > p.Bytes {
		return false
	}
	return st.Rows <= p.Rows
}

func (p *SmallTable) String() string {
	return fmt.Sprintf("at most %d rows and %s", p.Rows, FormatBytes(p.Bytes))
}

// ParseSize reads a size as Postgres writes it: "10MB", "512 kB", "1GB", "1TB" (units of
// 1024, case-insensitive) or a plain number of bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40}, {"b", 1}} {
		if strings.HasSuffix(strings.ToLower(t), u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: want a number of bytes or a number with kB, MB, GB or TB", s)
	}
	return n * mult, nil
}

// FormatBytes writes a size as pg_size_pretty does, roughly: "8192 bytes", "16 kB", "340 MB".
func FormatBytes(b int64) string {
	units := []string{"kB", "MB", "GB", "TB"}
	if b < 10<<10 {
		return fmt.Sprintf("%d bytes", b)
	}
	v, u := float64(b)/1024, 0
	for v >= 10*1024 && u < len(units)-1 {
		v, u = v/1024, u+1
	}
	return fmt.Sprintf("%.0f %s", v, units[u])
}

// formatRows writes an estimated row count: "~12 rows", "~35k rows", "~1.2M rows".
func formatRows(n int64) string {
	f := float64(n)
	switch {
	case n < 1000:
		return fmt.Sprintf("~%d rows", n)
	case n < 1e6:
		return fmt.Sprintf("~%sk rows", trimZero(f/1e3))
	case n < 1e9:
		return fmt.Sprintf("~%sM rows", trimZero(f/1e6))
	}
	return fmt.Sprintf("~%sB rows", trimZero(f/1e9))
}

func trimZero(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
}

// sizeText describes a table's size for a message: "~1.2M rows, 340 MB".
func sizeText(st TableStats) string {
	var parts []string
	if st.Rows >= 0 {
		parts = append(parts, formatRows(st.Rows))
	} else {
		parts = append(parts, "rows not estimated (never analyzed)")
	}
	if st.Bytes >= 0 {
		parts = append(parts, FormatBytes(st.Bytes))
	}
	return strings.Join(parts, ", ")
}

// Mentions lists the relation names (as the parser has them: unquoted names folded to
// lower case) and the function names (lower-case) the files mention, without schema, so a
// catalog snapshot can be limited to them.
func Mentions(files []*migrations.File) (relations, functions []string) {
	rels, funcs := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		for _, st := range f.Statements {
			tree, err := pg_query.Parse(st.SQL)
			if err != nil {
				continue
			}
			walk(tree.ProtoReflect(), func(rv *pg_query.RangeVar) bool {
				rels[rv.Relname] = true
				return true
			})
			walk(tree.ProtoReflect(), func(d *pg_query.DropStmt) bool {
				for _, o := range d.Objects {
					if l := o.GetList(); l != nil && len(l.Items) > 0 {
						rels[l.Items[len(l.Items)-1].GetString_().GetSval()] = true
					}
				}
				return true
			})
			walk(tree.ProtoReflect(), func(fc *pg_query.FuncCall) bool {
				funcs[funcName(fc)] = true
				return true
			})
		}
	}
	return sortedKeys(rels), sortedKeys(funcs)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// searchPath is the lookup path of unqualified names: a SET search_path of the files, else
// the catalog's, else public.
func (s *schema) searchPath() []string {
	switch {
	case len(s.path) > 0:
		return s.path
	case s.cat == nil || len(s.cat.SearchPath) == 0:
		return []string{"public"}
	}
	return s.cat.SearchPath
}

// setSearchPath follows SET search_path in the files: it holds for the rest of the
// session, so for the later files too (SET LOCAL is taken the same way). RESET and
// DEFAULT go back to the catalog's; "$user" is left out, as the user is not known here.
func (s *schema) setSearchPath(v *pg_query.VariableSetStmt) {
	s.path = nil
	if v.Kind != pg_query.VariableSetKind_VAR_SET_VALUE {
		return
	}
	for _, a := range v.Args {
		if sch := a.GetAConst().GetSval().GetSval(); sch != "" && sch != "$user" {
			s.path = append(s.path, strings.ToLower(sch))
		}
	}
}

// hasTable reports whether a qualified table exists at this point: on the target and not
// dropped, or created by the files so far.
func (s *schema) hasTable(name string) bool {
	return s.newTabs[name] || s.existing[name]
}

// resolve is the schema an unqualified relation name means under the search path: the
// first schema holding such a table, else the first schema (where CREATE puts it).
func (s *schema) resolve(rel string) string {
	path := s.searchPath()
	for _, sch := range path {
		if s.hasTable(strings.ToLower(sch + "." + rel)) {
			return sch
		}
	}
	return path[0]
}

// qualify writes into a statement the schema of each unqualified table name under the
// catalog's search path, so every rule and message names the real table. Without a
// catalog names stay as written and mean public.
func (s *schema) qualify(n *pg_query.Node) {
	if s.cat == nil || len(s.cat.SearchPath) == 0 {
		return
	}
	if v := n.GetVariableSetStmt(); v != nil && strings.EqualFold(v.Name, "search_path") {
		s.setSearchPath(v)
		return
	}
	s.filled = map[any]bool{}
	creates := map[*pg_query.RangeVar]bool{}
	if c := n.GetCreateStmt(); c != nil {
		creates[c.Relation] = true
	}
	if c := n.GetCreateTableAsStmt(); c != nil && c.Into != nil {
		creates[c.Into.Rel] = true
	}
	walk(n.ProtoReflect(), func(rv *pg_query.RangeVar) bool {
		switch {
		case rv.Schemaname != "" || rv.Relname == "":
		case creates[rv]:
			rv.Schemaname, s.filled[rv] = s.searchPath()[0], true
		default:
			rv.Schemaname, s.filled[rv] = s.resolve(strings.ToLower(rv.Relname)), true
		}
		return true
	})
	d := n.GetDropStmt()
	if d == nil {
		return
	}
	for _, o := range d.Objects {
		l := o.GetList()
		if l == nil || len(l.Items) != 1 {
			continue
		}
		name := strings.ToLower(l.Items[0].GetString_().GetSval())
		sch := ""
		switch d.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLE:
			sch = s.resolve(name)
		case pg_query.ObjectType_OBJECT_INDEX:
			for _, p := range s.searchPath() {
				if s.isNewObj("index", p+"."+name) {
					sch = p
					break
				}
			}
		}
		if sch != "" {
			l.Items = append([]*pg_query.Node{pg_query.MakeStrNode(sch)}, l.Items...)
			s.filled[l] = true
		}
	}
}

// statementTable is the table a statement works on, for the size of its findings; none
// for a statement that names several (TRUNCATE a, b), whose findings are each about one.
func statementTable(n *pg_query.Node) string {
	switch {
	case n.GetAlterTableStmt() != nil:
		return tableName(n.GetAlterTableStmt().Relation)
	case n.GetIndexStmt() != nil:
		return tableName(n.GetIndexStmt().Relation)
	case n.GetRenameStmt() != nil:
		return tableName(n.GetRenameStmt().Relation)
	case n.GetReindexStmt() != nil:
		if r := n.GetReindexStmt(); r.Kind == pg_query.ReindexObjectType_REINDEX_OBJECT_TABLE {
			return tableName(r.Relation)
		}
	case n.GetClusterStmt() != nil:
		return tableName(n.GetClusterStmt().Relation)
	case n.GetVacuumStmt() != nil:
		if rels := n.GetVacuumStmt().Rels; len(rels) == 1 {
			return tableName(rels[0].GetVacuumRelation().GetRelation())
		}
	case n.GetTruncateStmt() != nil:
		if rels := n.GetTruncateStmt().Relations; len(rels) == 1 {
			return tableName(rels[0].GetRangeVar())
		}
	case n.GetDeleteStmt() != nil:
		return tableName(n.GetDeleteStmt().Relation)
	case n.GetUpdateStmt() != nil:
		return tableName(n.GetUpdateStmt().Relation)
	case n.GetDropStmt() != nil:
		if d := n.GetDropStmt(); d.RemoveType == pg_query.ObjectType_OBJECT_TABLE && len(d.Objects) == 1 {
			return listName(d.Objects[0])
		}
	}
	return ""
}

// colType is the type of an existing column before the statement: what the pending files
// made it, else the catalog's, else what the earlier files tell (nil: unknown).
func (s *schema) colType(table, col string) *pg_query.TypeName {
	key := table + "." + strings.ToLower(col)
	if s.isNewCol(table, col) || s.retyped[key] || s.cat == nil {
		return s.colTypes[key]
	}
	if t, ok := s.cat.Columns[key]; ok {
		if tn := parseType(t); tn != nil {
			return tn
		}
	}
	return s.colTypes[key]
}

// parseType reads a type as format_type writes it into a parse-tree TypeName, through the
// Postgres parser, so "character varying(10)" compares as varchar(10).
func parseType(t string) *pg_query.TypeName {
	tree, err := pg_query.Parse("SELECT NULL::" + t)
	if err != nil || len(tree.Stmts) != 1 {
		return nil
	}
	var tn *pg_query.TypeName
	walk(tree.ProtoReflect(), func(tc *pg_query.TypeCast) bool {
		tn = tc.TypeName
		return false
	})
	return tn
}

// volatility tells how volatile a called function is, and whether that is known: from the
// catalog (pg_catalog first, then the search path, as Postgres looks names up), else from a
// CREATE FUNCTION in the files, else from the built-ins schemahook knows.
func (s *schema) volatility(fc *pg_query.FuncCall) (Volatility, bool) {
	name := funcName(fc)
	var keys []string
	if len(fc.Funcname) > 1 {
		keys = []string{strings.ToLower(fc.Funcname[len(fc.Funcname)-2].GetString_().GetSval()) + "." + name}
	} else {
		keys = append(keys, "pg_catalog."+name)
		for _, sch := range s.searchPath() {
			keys = append(keys, sch+"."+name)
		}
	}
	if s.cat != nil {
		for _, k := range keys {
			if v, ok := s.cat.Functions[k]; ok {
				return v, true
			}
		}
	}
	for _, k := range keys {
		if v, ok := s.funcs[k]; ok {
			return v, true
		}
	}
	switch {
	case volatileFuncs[name]:
		return Volatile, true
	case stableFuncs[name]:
		return Stable, true
	}
	return "", false
}

// stableFuncs are built-ins common in defaults that are stable or immutable: Postgres
// evaluates them once for ADD COLUMN, so they never rewrite.
var stableFuncs = map[string]bool{
	"now": true, "statement_timestamp": true, "transaction_timestamp": true, "current_setting": true,
	"current_database": true, "current_schema": true, "lower": true, "upper": true, "concat": true,
	"to_char": true, "to_date": true, "to_timestamp": true, "date_trunc": true, "make_date": true,
	"make_interval": true, "jsonb_build_object": true, "json_build_object": true, "jsonb_build_array": true,
	"json_build_array": true, "to_jsonb": true, "to_json": true, "array_fill": true, "md5": true,
	"length": true, "abs": true, "round": true, "coalesce": true, "nullif": true, "replace": true,
	"substring": true, "trim": true, "format": true,
}

// createFunction records the volatility a CREATE FUNCTION declares (VOLATILE when it says
// none), so a default calling it is judged without a database.
func (s *schema) createFunction(c *pg_query.CreateFunctionStmt) {
	v := Volatile
	for _, o := range c.Options {
		if d := o.GetDefElem(); d != nil && d.Defname == "volatility" {
			switch d.Arg.GetString_().GetSval() {
			case "immutable":
				v = Immutable
			case "stable":
				v = Stable
			}
		}
	}
	name := dottedName(c.Funcname)
	if len(c.Funcname) == 1 {
		name = s.searchPath()[0] + "." + strings.ToLower(c.Funcname[0].GetString_().GetSval())
	}
	if old, ok := s.funcs[name]; !ok || v > old {
		s.funcs[name] = v // the most volatile overload wins, as in the catalog snapshot
	}
}

// prepare readies a statement for the rules: unqualified names resolved under the search
// path, and the existing table its findings are about.
func (sc *stmtCheck) prepare(n *pg_query.Node) {
	sc.s.qualify(n)
	sc.table = ""
	if t := statementTable(n); t != "" && !sc.s.isNew(t) {
		sc.table = t
	}
}

// sized adds to a finding the size of its table from the catalog, and returns its level
// after the cap of guesses (unsure) and the small-table policy.
func (o Options) sized(fd *Finding, lvl Level) Level {
	if fd.unsure && lvl == LevelError {
		lvl = LevelWarn
	}
	if fd.Table == "" || o.Catalog == nil {
		return lvl
	}
	st, ok := o.Catalog.Tables[fd.Table]
	if !ok || (st.Rows < 0 && st.Bytes < 0) {
		return lvl // not on the target, or its size could not be read
	}
	if st.Rows >= 0 {
		fd.Rows = &st.Rows
	}
	if st.Bytes >= 0 {
		fd.Bytes = &st.Bytes
	}
	fd.Message += fmt.Sprintf("; %s: %s", fd.Table, sizeText(st))
	if lvl == LevelError && sizeBound[fd.Code] && o.SmallTable.small(st) {
		fd.SmallTable = true
		fd.Message += fmt.Sprintf("; a warning, not an error, since the table is small (spec.lint.smallTable: %s)", o.SmallTable)
		lvl = LevelWarn
	}
	return lvl
}

// ParseSmallTable reads the migrate command's --lint-small-table, ROWS:SIZE ("10000:10MB");
// "" is off.
func ParseSmallTable(s string) (*SmallTable, error) {
	if s == "" {
		return nil, nil
	}
	r, size, ok := strings.Cut(s, ":")
	rows, err := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
	if !ok || err != nil || rows < 0 {
		return nil, fmt.Errorf("small table %q: want ROWS:SIZE, e.g. 10000:10MB", s)
	}
	b, err := ParseSize(size)
	if err != nil {
		return nil, fmt.Errorf("small table %q: %w", s, err)
	}
	return &SmallTable{Rows: rows, Bytes: b}, nil
}
