package lint

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"github.com/schemahook/schemahook/migrations"
)

// fileCheck holds what one pending file's statements share.
type fileCheck struct {
	s        *schema
	file     *migrations.File
	lockSet  bool // a SET lock_timeout ran earlier in the file
	lockSeen bool // SH310 already reported for the file
	stepwise bool // Options.StatementByStatement
	more     fileState
}

// stmtCheck is one statement being checked; findings are positioned by byte offsets into
// its SQL, as the parse tree's location fields are.
// inTx reports whether the file runs as one transaction: it can, and the runtime does.
func (fc *fileCheck) inTx() bool { return fc.file.Transactional() && !fc.stepwise }

type stmtCheck struct {
	*fileCheck
	st    *migrations.Statement
	start int    // offset of the statement's first token in st.SQL
	table string // the existing table the statement works on, for its findings' size
	out   []Finding
}

func lintFile(s *schema, f *migrations.File, opts Options) []Finding {
	fc := &fileCheck{s: s, file: f, lockSet: opts.LockTimeout, stepwise: opts.StatementByStatement}
	dirs := readDirectives(f)
	var out []Finding
	notAtomicDone := false
	// Parse once: the atomicity rule needs to know every statement before the first is checked.
	trees := make([]*pg_query.ParseResult, len(f.Statements))
	errs := make([]error, len(f.Statements))
	others := 0
	for i, st := range f.Statements {
		trees[i], errs[i] = pg_query.Parse(st.SQL)
		if !st.NoTx && (errs[i] != nil || !isSetOnly(trees[i])) {
			others++
		}
	}
	prevEnd := f.UpOffset
	for i := range f.Statements {
		st := &f.Statements[i]
		sc := &stmtCheck{fileCheck: fc, st: st, start: skipSpaceAndComments(st.SQL)}
		sc.check(trees[i], errs[i])
		if st.NoTx {
			switch {
			case f.MarkerFormat && !f.NoTx:
				sc.add(codeNoTxInTx, sc.start, "statement cannot run inside a transaction, and this file runs in one: it is not marked as non-transactional")
			case !f.MarkerFormat && !notAtomicDone && (others > 0 || countNoTx(f) > 1):
				notAtomicDone = true
				sc.add(codeNotAtomic, sc.start, "statement cannot run inside a transaction, so this whole file runs statement by statement and is not atomic")
			}
		}
		covering := dirs.claim(st.Offset+sc.start, prevEnd)
		prevEnd = st.Offset + len(st.SQL)
		for _, fd := range sc.out {
			if !covering.allows(fd.Code) {
				out = append(out, fd)
			}
		}
	}
	out = append(out, dirs.findings(f)...)
	sortFindings(out)
	return out
}

func countNoTx(f *migrations.File) int {
	n := 0
	for _, st := range f.Statements {
		if st.NoTx {
			n++
		}
	}
	return n
}

// isSetOnly reports whether a statement only changes a session setting (SET lock_timeout
// beside a CREATE INDEX CONCURRENTLY does not make the file non-atomic in any way that
// matters).
func isSetOnly(tree *pg_query.ParseResult) bool {
	if len(tree.Stmts) == 0 {
		return false
	}
	for _, raw := range tree.Stmts {
		if raw.Stmt.GetVariableSetStmt() == nil {
			return false
		}
	}
	return true
}

// add records a finding of rule code at byte offset off of the statement's SQL.
func (sc *stmtCheck) add(code string, off int, msg string) {
	if off < 0 || off > len(sc.st.SQL) {
		off = sc.start
	}
	line, col := sc.file.Pos(sc.st.Offset + off)
	sc.out = append(sc.out, Finding{
		File: sc.file.Name, Line: line, Col: col, Code: code,
		Message: msg, Hint: ruleByCode[code].Hint, Table: sc.table,
	})
}

// skipSpaceAndComments returns the offset of the first token of sql, past leading
// whitespace, -- comments and (nested) /* */ comments.
func skipSpaceAndComments(sql string) int {
	i := 0
	for i < len(sql) {
		switch {
		case sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '\f' || sql[i] == '\v':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			nl := strings.IndexByte(sql[i:], '\n')
			if nl < 0 {
				return len(sql)
			}
			i += nl + 1
		case strings.HasPrefix(sql[i:], "/*"):
			depth := 0
			for i < len(sql) {
				if strings.HasPrefix(sql[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(sql[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		default:
			return i
		}
	}
	return i
}

// check runs every rule on the statement's parse tree, or reports why it did not parse.
func (sc *stmtCheck) check(tree *pg_query.ParseResult, err error) {
	if err != nil {
		off := sc.start
		msg := err.Error()
		var pe *parser.Error
		if errors.As(err, &pe) && pe.Cursorpos > 0 {
			off = migrations.ByteOffset(sc.st.SQL, pe.Cursorpos-1)
		}
		sc.add(codeParseError, off, msg)
		return
	}
	for _, raw := range tree.Stmts {
		sc.prepare(raw.Stmt)
		sc.rules(raw)
		sc.moreRules(raw, sc.stmtStart(raw))
		sc.s.apply(raw.Stmt)
	}
	sc.identifiers()
}

// stmtStart is the offset of a raw statement's first token: RawStmt.StmtLocation may point
// at comments before it.
func (sc *stmtCheck) stmtStart(raw *pg_query.RawStmt) int {
	loc := int(raw.StmtLocation)
	if loc < 0 || loc > len(sc.st.SQL) {
		return sc.start
	}
	return loc + skipSpaceAndComments(sc.st.SQL[loc:])
}

// locking notes a statement that takes a strong lock on an existing table and reports it
// once per file when no lock_timeout bounds the wait.
func (sc *stmtCheck) locking(off int, what string) {
	if sc.lockSet || sc.lockSeen {
		return
	}
	sc.lockSeen = true
	sc.add(codeLockTimeout, off, what+" takes a strong lock with no lock_timeout set in the file or the config")
}

func (sc *stmtCheck) rules(raw *pg_query.RawStmt) {
	n := raw.Stmt
	at := sc.stmtStart(raw)
	switch {
	case n.GetVariableSetStmt() != nil:
		v := n.GetVariableSetStmt()
		if strings.EqualFold(v.Name, "lock_timeout") && v.Kind == pg_query.VariableSetKind_VAR_SET_VALUE && !zeroSetting(v.Args) {
			sc.lockSet = true
		}
	case n.GetSelectStmt() != nil:
		if setsLockTimeout(n) {
			sc.lockSet = true
		}
	case n.GetTransactionStmt() != nil:
		if what := migrations.TxControl(n); what != "" {
			sc.add(codeTxControl, at, what+" in a migration file: schemahook runs and records each file's transaction itself")
		}
	case n.GetDropStmt() != nil:
		sc.drop(n.GetDropStmt(), at)
	case n.GetDropdbStmt() != nil:
		sc.add(codeDropDatabase, at, fmt.Sprintf("DROP DATABASE deletes database %s", n.GetDropdbStmt().Dbname))
	case n.GetTruncateStmt() != nil:
		for _, r := range n.GetTruncateStmt().Relations {
			t := tableName(r.GetRangeVar())
			if !sc.s.isNew(t) {
				sc.add(codeTruncate, int(r.GetRangeVar().GetLocation()), fmt.Sprintf("TRUNCATE removes every row of existing table %s", t))
				sc.locking(at, "TRUNCATE")
			}
		}
	case n.GetDeleteStmt() != nil:
		d := n.GetDeleteStmt()
		if d.WhereClause == nil && !sc.s.isNew(tableName(d.Relation)) {
			sc.add(codeDeleteAll, at, fmt.Sprintf("DELETE without WHERE removes every row of %s", tableName(d.Relation)))
		}
	case n.GetUpdateStmt() != nil:
		u := n.GetUpdateStmt()
		if u.WhereClause == nil && !sc.s.isNew(tableName(u.Relation)) {
			sc.add(codeUpdateAll, at, fmt.Sprintf("UPDATE without WHERE rewrites every row of %s", tableName(u.Relation)))
		}
	case n.GetRenameStmt() != nil:
		sc.rename(n.GetRenameStmt(), at)
	case n.GetAlterTableStmt() != nil:
		sc.alterTable(n.GetAlterTableStmt(), at)
	case n.GetIndexStmt() != nil:
		i := n.GetIndexStmt()
		t := tableName(i.Relation)
		if !i.Concurrent && !sc.s.isNew(t) {
			sc.add(codeIndexLock, at, fmt.Sprintf("CREATE INDEX without CONCURRENTLY blocks writes to existing table %s while it builds", t))
			sc.locking(at, "CREATE INDEX")
		}
	case n.GetReindexStmt() != nil:
		r := n.GetReindexStmt()
		if r.Kind == pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM {
			sc.add(codeReindexLock, at, "REINDEX SYSTEM rebuilds the system catalogs' indexes, blocking every session that needs them; Postgres cannot do it CONCURRENTLY")
			sc.out[len(sc.out)-1].Hint = reindexSystemHint
			sc.locking(at, "REINDEX SYSTEM")
		} else if !hasOption(r.Params, "concurrently") {
			sc.add(codeReindexLock, at, "REINDEX without CONCURRENTLY blocks writes while it rebuilds")
			sc.locking(at, "REINDEX")
		}
	case n.GetVacuumStmt() != nil:
		v := n.GetVacuumStmt()
		if v.IsVacuumcmd && hasOption(v.Options, "full") {
			sc.add(codeVacuumFull, at, "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock")
		}
	case n.GetClusterStmt() != nil:
		sc.add(codeCluster, at, "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock")
	case n.GetCreateStmt() != nil:
		c := n.GetCreateStmt()
		pk := primaryKeyColumns(append(c.Constraints, c.TableElts...))
		for cd := range nodes(c.TableElts, (*pg_query.Node).GetColumnDef) {
			sc.columnTypes(cd, cd.TypeName, pk[strings.ToLower(cd.Colname)])
		}
	}
}

// setsLockTimeout finds SELECT set_config('lock_timeout', '5s', ...) with a non-zero value.
func setsLockTimeout(n *pg_query.Node) bool {
	found := false
	walk(n.ProtoReflect(), func(fc *pg_query.FuncCall) bool {
		if funcName(fc) != "set_config" || len(fc.Args) < 2 {
			return true
		}
		name := fc.Args[0].GetAConst().GetSval()
		if name != nil && strings.EqualFold(name.Sval, "lock_timeout") && !zeroSetting(fc.Args[1:2]) {
			found = true
			return false
		}
		return true
	})
	return found
}

// zeroSetting reports whether a SET's value is 0, which disables the timeout.
func zeroSetting(args []*pg_query.Node) bool {
	if len(args) != 1 {
		return false
	}
	c := args[0].GetAConst()
	if c == nil {
		return false
	}
	if iv := c.GetIval(); iv != nil {
		return iv.Ival == 0
	}
	if sv := c.GetSval(); sv != nil {
		v := strings.ReplaceAll(strings.TrimSpace(sv.Sval), " ", "")
		return strings.TrimLeft(v, "0") == "" || strings.TrimLeft(v, "0") == "ms" || strings.TrimLeft(v, "0") == "s"
	}
	return false
}

// hasOption reports whether a list of DefElem options names opt (VACUUM (FULL), REINDEX
// (CONCURRENTLY)); an option set to false does not count.
func hasOption(opts []*pg_query.Node, opt string) bool {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || !strings.EqualFold(d.Defname, opt) {
			continue
		}
		if d.Arg != nil {
			if b := d.Arg.GetBoolean(); b != nil && !b.Boolval {
				return false
			}
			if s := d.Arg.GetString_(); s != nil && (strings.EqualFold(s.Sval, "false") || strings.EqualFold(s.Sval, "off")) {
				return false
			}
			if c := d.Arg.GetAConst(); c != nil {
				if iv := c.GetIval(); iv != nil && iv.Ival == 0 {
					return false
				}
				if b := c.GetBoolval(); b != nil && !b.Boolval {
					return false
				}
			}
		}
		return true
	}
	return false
}

func (sc *stmtCheck) drop(d *pg_query.DropStmt, at int) {
	for _, o := range d.Objects {
		name := listName(o)
		switch d.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLE:
			if !sc.s.isNew(name) {
				sc.add(codeDropTable, at, fmt.Sprintf("DROP TABLE deletes existing table %s and its data", name))
				sc.locking(at, "DROP TABLE")
			}
		case pg_query.ObjectType_OBJECT_SCHEMA:
			schema := strings.ToLower(o.GetString_().GetSval())
			if !sc.s.isNewObj("schema", schema) {
				sc.add(codeDropSchema, at, fmt.Sprintf("DROP SCHEMA deletes schema %s and everything in it", schema))
			}
		case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
			if !sc.s.isNewObj("type", name) {
				sc.add(codeDropType, at, fmt.Sprintf("DROP %s deletes existing type %s", strings.TrimPrefix(d.RemoveType.String(), "OBJECT_"), name))
			}
		case pg_query.ObjectType_OBJECT_INDEX:
			if !d.Concurrent && !sc.s.isNewObj("index", name) {
				sc.add(codeDropIndexLock, at, fmt.Sprintf("DROP INDEX without CONCURRENTLY locks the table of index %s", name))
				sc.locking(at, "DROP INDEX")
			}
		}
	}
}

func (sc *stmtCheck) rename(r *pg_query.RenameStmt, at int) {
	t := tableName(r.Relation)
	switch r.RenameType {
	case pg_query.ObjectType_OBJECT_TABLE:
		if !sc.s.isNew(t) {
			sc.add(codeRenameTable, at, fmt.Sprintf("renaming existing table %s to %s breaks code that still uses the old name", t, r.Newname))
			sc.locking(at, "ALTER TABLE RENAME")
		}
	case pg_query.ObjectType_OBJECT_COLUMN:
		if r.RelationType == pg_query.ObjectType_OBJECT_TABLE && !sc.s.isNewCol(t, r.Subname) {
			sc.add(codeRenameColumn, at, fmt.Sprintf("renaming column %s.%s to %s breaks code that still uses the old name", t, r.Subname, r.Newname))
			sc.locking(at, "ALTER TABLE RENAME COLUMN")
		}
	}
}

func (sc *stmtCheck) alterTable(a *pg_query.AlterTableStmt, at int) {
	if a.Objtype != pg_query.ObjectType_OBJECT_TABLE {
		return
	}
	t := tableName(a.Relation)
	existing := !sc.s.isNew(t)
	if existing {
		defer sc.locking(at, "ALTER TABLE")
	}
	for cmd := range nodes(a.Cmds, (*pg_query.Node).GetAlterTableCmd) {
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddColumn:
			cd := cmd.Def.GetColumnDef()
			if cd == nil {
				continue
			}
			sc.columnTypes(cd, cd.TypeName, false)
			if existing {
				sc.addColumnOnExisting(t, cd)
			}
		case pg_query.AlterTableType_AT_DropColumn:
			if existing && !sc.s.isNewCol(t, cmd.Name) {
				sc.add(codeDropColumn, at, fmt.Sprintf("dropping column %s.%s deletes its data and breaks code that still uses it", t, cmd.Name))
			}
		case pg_query.AlterTableType_AT_SetNotNull:
			if existing && !sc.s.isNewCol(t, cmd.Name) {
				sc.add(codeSetNotNull, at, fmt.Sprintf("SET NOT NULL on existing column %s.%s scans the table under an ACCESS EXCLUSIVE lock and fails writers that send NULL", t, cmd.Name))
			}
		case pg_query.AlterTableType_AT_AlterColumnType:
			cd := cmd.Def.GetColumnDef()
			if cd == nil {
				continue
			}
			off := int(cd.TypeName.GetLocation())
			sc.columnTypes(cd, cd.TypeName, false)
			if existing && !sc.s.isNewCol(t, cmd.Name) {
				sc.add(codeChangeType, off, fmt.Sprintf("changing the type of existing column %s.%s to %s breaks code that expects the old type", t, cmd.Name, typeString(cd.TypeName)))
				old := sc.s.colType(t, cmd.Name)
				if cd.RawDefault != nil || !binaryCompatible(old, cd.TypeName) {
					sc.add(codeTypeRewrite, off, fmt.Sprintf("changing %s.%s from %s to %s rewrites the table under an ACCESS EXCLUSIVE lock", t, cmd.Name, typeString(old), typeString(cd.TypeName)))
				}
			}
		case pg_query.AlterTableType_AT_AddConstraint:
			con := cmd.Def.GetConstraint()
			if con == nil || !existing {
				continue
			}
			sc.constraintOnExisting(t, con)
		}
	}
}

func (sc *stmtCheck) constraintOnExisting(t string, con *pg_query.Constraint) {
	off := int(con.Location)
	switch con.Contype {
	case pg_query.ConstrType_CONSTR_FOREIGN, pg_query.ConstrType_CONSTR_CHECK:
		if !con.SkipValidation {
			kind := "CHECK"
			if con.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
				kind = "FOREIGN KEY"
			}
			sc.add(codeValidate, off, fmt.Sprintf("%s constraint on existing table %s is validated while writes are blocked", kind, t))
		}
	case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
		if con.Indexname == "" {
			sc.add(codeUniqueNoIndex, off, fmt.Sprintf("%s constraint on existing table %s builds its index while writes are blocked", constraintKind(con.Contype), t))
		}
	}
}

func constraintKind(c pg_query.ConstrType) string {
	switch c {
	case pg_query.ConstrType_CONSTR_PRIMARY:
		return "PRIMARY KEY"
	case pg_query.ConstrType_CONSTR_UNIQUE:
		return "UNIQUE"
	}
	return "EXCLUDE"
}

// addColumnOnExisting checks a column added to a table that already has rows.
func (sc *stmtCheck) addColumnOnExisting(t string, cd *pg_query.ColumnDef) {
	off := int(cd.Location)
	var notNull, hasDefault bool
	var def *pg_query.Node
	for con := range nodes(cd.Constraints, (*pg_query.Node).GetConstraint) {
		switch con.Contype {
		case pg_query.ConstrType_CONSTR_NOTNULL:
			notNull = true
		case pg_query.ConstrType_CONSTR_DEFAULT:
			hasDefault, def = true, con.RawExpr
		case pg_query.ConstrType_CONSTR_IDENTITY:
			hasDefault = true
			sc.add(codeVolatileDef, int(con.Location), fmt.Sprintf("identity column %s.%s is filled from a sequence for every existing row: a full table rewrite", t, cd.Colname))
		case pg_query.ConstrType_CONSTR_GENERATED:
			hasDefault = true
			sc.add(codeVolatileDef, int(con.Location), fmt.Sprintf("stored generated column %s.%s is computed for every existing row: a full table rewrite", t, cd.Colname))
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
			sc.add(codeUniqueNoIndex, int(con.Location), fmt.Sprintf("%s on new column %s.%s builds its index on existing table %s while writes are blocked", constraintKind(con.Contype), t, cd.Colname, t))
		}
	}
	if isSerial(cd.TypeName) {
		hasDefault = true
		sc.add(codeVolatileDef, int(cd.TypeName.GetLocation()), fmt.Sprintf("serial column %s.%s is filled from a sequence for every existing row: a full table rewrite", t, cd.Colname))
	}
	if notNull && !hasDefault {
		sc.add(codeAddNotNull, off, fmt.Sprintf("NOT NULL column %s.%s without a DEFAULT fails on a table with rows and breaks inserts by running code", t, cd.Colname))
	}
	switch fc, known := sc.s.volatileCall(def); {
	case fc != nil && known:
		sc.add(codeVolatileDef, int(fc.Location), fmt.Sprintf("default %s() of new column %s.%s is volatile: every existing row is rewritten", funcName(fc), t, cd.Colname))
	case fc != nil:
		sc.add(codeVolatileDef, int(fc.Location), fmt.Sprintf("default %s() of new column %s.%s calls a function whose volatility is unknown without a database: if it is volatile, every existing row is rewritten", funcName(fc), t, cd.Colname))
		sc.out[len(sc.out)-1].unsure = true
		sc.out[len(sc.out)-1].Hint = "the hook Job reads its volatility from the dev database; if it is STABLE or IMMUTABLE, allow it with -- schemahook:allow " + codeVolatileDef + " and the reason"
	}
}

// volatileFuncs are the common built-in (and extension) volatile functions seen in defaults,
// for a lint without a database. Stable ones such as now() are evaluated once for ADD
// COLUMN and do not rewrite (stableFuncs).
var volatileFuncs = map[string]bool{
	"random": true, "gen_random_uuid": true, "uuid_generate_v1": true, "uuid_generate_v1mc": true,
	"uuid_generate_v4": true, "uuidv4": true, "uuidv7": true, "clock_timestamp": true, "timeofday": true,
	"nextval": true, "txid_current": true, "random_normal": true, "gen_random_bytes": true,
}

// volatileCall finds in an expression a call to a volatile function (known is true), else
// the first call whose volatility is unknown (known is false), else nil.
func (s *schema) volatileCall(n *pg_query.Node) (fc *pg_query.FuncCall, known bool) {
	if n == nil {
		return nil, false
	}
	var unknown *pg_query.FuncCall
	walk(n.ProtoReflect(), func(c *pg_query.FuncCall) bool {
		switch v, ok := s.volatility(c); {
		case ok && v == Volatile:
			fc = c
			return false
		case !ok && unknown == nil:
			unknown = c
		}
		return true
	})
	if fc != nil {
		return fc, true
	}
	return unknown, false
}

func funcName(fc *pg_query.FuncCall) string {
	if len(fc.Funcname) == 0 {
		return ""
	}
	return strings.ToLower(fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval())
}

// columnTypes runs the type rules on a column definition (or the new type of ALTER COLUMN
// TYPE). key is true for a column of the table's primary key.
func (sc *stmtCheck) columnTypes(cd *pg_query.ColumnDef, tn *pg_query.TypeName, key bool) {
	if tn == nil {
		return
	}
	name := baseType(tn)
	off := int(tn.Location)
	identity := false
	for con := range nodes(cd.Constraints, (*pg_query.Node).GetConstraint) {
		switch con.Contype {
		case pg_query.ConstrType_CONSTR_PRIMARY:
			key = true
		case pg_query.ConstrType_CONSTR_IDENTITY:
			identity = true
		}
	}
	switch {
	case isSerial(tn):
		sc.add(codeBigintIdentity, off, fmt.Sprintf("column %s uses %s", cd.Colname, name))
	case (key || identity) && (name == "int4" || name == "int2"):
		sc.add(codeBigintIdentity, off, fmt.Sprintf("key column %s is %s, which can run out", cd.Colname, typeString(tn)))
	case (name == "varchar" || name == "bpchar") && (len(tn.Typmods) > 0 || name == "bpchar") && len(tn.Names) == 2:
		sc.add(codeText, off, fmt.Sprintf("column %s is %s", cd.Colname, typeString(tn)))
	case name == "timestamp" && len(tn.Names) == 2:
		sc.add(codeTimestamptz, off, fmt.Sprintf("column %s is timestamp without time zone", cd.Colname))
	}
}

// nodes are the nodes of the list that are of one kind, as get (a Node getter such as
// (*pg_query.Node).GetConstraint) returns them; the others are left out.
func nodes[T any](list []*pg_query.Node, get func(*pg_query.Node) *T) iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for _, n := range list {
			if v := get(n); v != nil && !yield(v) {
				return
			}
		}
	}
}

// primaryKeyColumns lists the columns of a table-level PRIMARY KEY constraint (the parser
// puts those among the table elements).
func primaryKeyColumns(cons []*pg_query.Node) map[string]bool {
	m := map[string]bool{}
	for con := range nodes(cons, (*pg_query.Node).GetConstraint) {
		if con.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			for _, k := range con.Keys {
				m[strings.ToLower(k.GetString_().GetSval())] = true
			}
		}
	}
	return m
}

// baseType is the type's own name without schema: "int4", "varchar", "serial".
func baseType(tn *pg_query.TypeName) string {
	if tn == nil || len(tn.Names) == 0 {
		return ""
	}
	return strings.ToLower(tn.Names[len(tn.Names)-1].GetString_().GetSval())
}

func isSerial(tn *pg_query.TypeName) bool {
	if tn == nil || len(tn.Names) != 1 {
		return false
	}
	switch baseType(tn) {
	case "serial", "serial4", "smallserial", "serial2", "bigserial", "serial8":
		return true
	}
	return false
}

// typeString renders a type name for messages: varchar(10), int4, unknown.
func typeString(tn *pg_query.TypeName) string {
	if tn == nil {
		return "its current type"
	}
	s := baseType(tn)
	if mods := typmods(tn); len(mods) > 0 {
		parts := make([]string, len(mods))
		for i, m := range mods {
			parts[i] = fmt.Sprint(m)
		}
		s += "(" + strings.Join(parts, ",") + ")"
	}
	for range tn.ArrayBounds {
		s += "[]"
	}
	return s
}

// typmods returns integer type modifiers (the 10 of varchar(10)); -1 for any that is not
// a plain integer.
func typmods(tn *pg_query.TypeName) []int {
	var out []int
	for _, m := range tn.Typmods {
		if c := m.GetAConst(); c != nil && c.GetIval() != nil {
			out = append(out, int(c.GetIval().Ival))
		} else {
			out = append(out, -1)
		}
	}
	return out
}

// sameSchema reports whether two type names may name the same type: unless both are
// qualified with different schemas (int4 is pg_catalog.int4).
func sameSchema(a, b *pg_query.TypeName) bool {
	if len(a.Names) < 2 || len(b.Names) < 2 {
		return true
	}
	return strings.EqualFold(a.Names[0].GetString_().GetSval(), b.Names[0].GetString_().GetSval())
}

// binaryCompatible reports whether changing a column from old to new type is one of the
// changes Postgres makes without rewriting the table. An unknown old type is assumed to
// need a rewrite.
func binaryCompatible(old, new *pg_query.TypeName) bool {
	if old == nil || new == nil || len(old.ArrayBounds) != len(new.ArrayBounds) {
		return false
	}
	o, n := baseType(old), baseType(new)
	om, nm := typmods(old), typmods(new)
	switch {
	case o == n && slices.Equal(om, nm) && sameSchema(old, new):
		return true // the same type: Postgres keeps the data
	case o == "varchar" && n == "text", o == "text" && n == "text", o == "varchar" && n == "varchar" && len(nm) == 0:
		return true
	case o == "varchar" && n == "varchar":
		return len(om) == 1 && len(nm) == 1 && om[0] >= 0 && nm[0] >= om[0]
	case o == "text" && n == "varchar":
		return len(nm) == 0
	case o == "numeric" && n == "numeric":
		if len(nm) == 0 {
			return true
		}
		if len(om) == 0 {
			return false
		}
		os, ns := 0, 0
		if len(om) == 2 {
			os = om[1]
		}
		if len(nm) == 2 {
			ns = nm[1]
		}
		return nm[0] >= om[0] && ns == os
	case o == "cidr" && n == "inet":
		return true
	case (o == "varbit" && n == "varbit") || (o == "bit" && n == "varbit"):
		return len(nm) == 0 || (len(om) == 1 && nm[0] >= om[0])
	}
	return false
}
