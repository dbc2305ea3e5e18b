package lint

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/schemahook/schemahook/migrations"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fileState is what these rules follow from one statement of a file to the next, with the
// statement that did it: only the same transaction matters (see sameTx).
type fileState struct {
	notValid  map[string]*migrations.Statement // "table.constraint" added NOT VALID
	newValues map[string]newValue              // enum labels added
	newTypes  map[string]*migrations.Statement // types created
	steps     int                              // statements that are not only a SET; -1 until counted
}

// moreRules runs the rules that follow statements through a file and the checks of
// statement kinds the first set of rules does not look at.
func (sc *stmtCheck) moreRules(raw *pg_query.RawStmt, at int) {
	n := raw.Stmt
	sc.rerunnable(n, at)
	sc.unqualified(n, at)
	sc.duplicateColumns(n)
	sc.newEnumValueUsed(n)
	switch {
	case n.GetLockStmt() != nil:
		l := n.GetLockStmt()
		for _, r := range l.Relations {
			if l.Mode >= shareLock && !sc.s.isNew(tableName(r.GetRangeVar())) {
				sc.locking(at, "LOCK TABLE")
			}
		}
	case n.GetAlterTableStmt() != nil:
		sc.alterTableMore(n.GetAlterTableStmt(), at)
	case n.GetAlterTableMoveAllStmt() != nil:
		m := n.GetAlterTableMoveAllStmt()
		if m.Objtype == pg_query.ObjectType_OBJECT_TABLE {
			sc.add(codeTableRewrite, at, fmt.Sprintf("moving every table of tablespace %s copies each one under an ACCESS EXCLUSIVE lock", m.OrigTablespacename))
			sc.locking(at, "ALTER TABLE ALL IN TABLESPACE")
		}
	case n.GetAlterDomainStmt() != nil:
		sc.alterDomain(n.GetAlterDomainStmt(), at)
	case n.GetCreateDomainStmt() != nil:
		d := n.GetCreateDomainStmt()
		for _, c := range d.Constraints {
			con := c.GetConstraint()
			if con != nil && (con.Contype == pg_query.ConstrType_CONSTR_CHECK || con.Contype == pg_query.ConstrType_CONSTR_NOTNULL) {
				sc.add(codeDomainCons, int(con.Location), fmt.Sprintf("domain %s has a constraint: changing it later locks every table that uses the domain", dottedName(d.Domainname)))
				break
			}
		}
	case n.GetCreateEnumStmt() != nil:
		sc.state().newTypes[dottedName(n.GetCreateEnumStmt().TypeName)] = sc.st
	case n.GetAlterEnumStmt() != nil:
		e := n.GetAlterEnumStmt()
		typ := dottedName(e.TypeName)
		if created, ok := sc.state().newTypes[typ]; e.NewVal != "" && e.OldVal == "" && !(ok && sc.sameTx(created)) {
			sc.state().newValues[e.NewVal] = newValue{typ, sc.st}
		}
	}
}

// shareLock is the mode number of SHARE in LockStmt.Mode: it and every stronger mode
// block writes (ROW EXCLUSIVE is 3, SHARE UPDATE EXCLUSIVE 4, ACCESS EXCLUSIVE 8).
const shareLock = 5

func (sc *stmtCheck) state() *fileState {
	if sc.more.notValid == nil {
		sc.more = fileState{notValid: map[string]*migrations.Statement{}, newValues: map[string]newValue{},
			newTypes: map[string]*migrations.Statement{}, steps: -1}
	}
	return &sc.more
}

// newValue is an enum label added by ALTER TYPE ... ADD VALUE.
type newValue struct {
	typ string
	st  *migrations.Statement
}

// sameTx reports whether the statement being checked runs in the transaction of earlier,
// a statement of the same file: always in a transactional file; otherwise only when they
// are one Statement (a goose StatementBegin block runs as one implicit transaction).
func (sc *stmtCheck) sameTx(earlier *migrations.Statement) bool {
	return sc.inTx() || earlier == sc.st
}

// alterTableMore checks the ALTER TABLE subcommands the first set of rules does not.
func (sc *stmtCheck) alterTableMore(a *pg_query.AlterTableStmt, at int) {
	if a.Objtype != pg_query.ObjectType_OBJECT_TABLE {
		return
	}
	t := tableName(a.Relation)
	if sc.s.isNew(t) {
		return
	}
	for _, cmd := range alterCmds(a) {
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddColumn:
			cd := cmd.Def.GetColumnDef()
			for _, cn := range cd.GetConstraints() {
				con := cn.GetConstraint()
				switch con.GetContype() {
				case pg_query.ConstrType_CONSTR_FOREIGN:
					sc.add(codeInlineCheck, int(con.Location), fmt.Sprintf("REFERENCES on new column %s.%s is validated at once, locking %s and %s", t, cd.Colname, t, tableName(con.Pktable)))
				case pg_query.ConstrType_CONSTR_CHECK:
					sc.add(codeInlineCheck, int(con.Location), fmt.Sprintf("CHECK on new column %s.%s scans existing table %s under the ALTER TABLE lock", t, cd.Colname, t))
				}
			}
		case pg_query.AlterTableType_AT_DropNotNull:
			if !sc.s.isNewCol(t, cmd.Name) {
				sc.add(codeDropNotNull, at, fmt.Sprintf("DROP NOT NULL on existing column %s.%s lets NULLs reach code that does not expect them", t, cmd.Name))
			}
		case pg_query.AlterTableType_AT_AddConstraint:
			if con := cmd.Def.GetConstraint(); con != nil && con.SkipValidation && con.Conname != "" {
				sc.state().notValid[t+"."+strings.ToLower(con.Conname)] = sc.st
			}
		case pg_query.AlterTableType_AT_ValidateConstraint:
			if added, ok := sc.state().notValid[t+"."+strings.ToLower(cmd.Name)]; ok && sc.sameTx(added) {
				sc.add(codeValidateSameTx, at, fmt.Sprintf("constraint %s was added NOT VALID in this file's transaction, so validating it here scans %s under the add's lock", cmd.Name, t))
			}
		case pg_query.AlterTableType_AT_SetLogged, pg_query.AlterTableType_AT_SetUnLogged,
			pg_query.AlterTableType_AT_SetAccessMethod, pg_query.AlterTableType_AT_SetTableSpace:
			msg := fmt.Sprintf("%s copies existing table %s under an ACCESS EXCLUSIVE lock", strings.TrimSpace(rewrites[cmd.Subtype]+" "+cmd.Name), t)
			switch cmd.Subtype { // without a database, where the table is now is not known
			case pg_query.AlterTableType_AT_SetAccessMethod:
				msg += " (unless it already uses " + cmd.Name + ")"
			case pg_query.AlterTableType_AT_SetTableSpace:
				msg += " (unless it already is in " + cmd.Name + ")"
			}
			sc.add(codeTableRewrite, at, msg)
		case pg_query.AlterTableType_AT_DetachPartition:
			if pc := cmd.Def.GetPartitionCmd(); pc != nil && !pc.Concurrent {
				sc.add(codeDetachLock, at, fmt.Sprintf("DETACH PARTITION %s without CONCURRENTLY locks partitioned table %s against every query", tableName(pc.Name), t))
			}
		}
	}
}

// rewrites name the subcommands that copy the table, for messages (the name of the access
// method or tablespace follows).
var rewrites = map[pg_query.AlterTableType]string{
	pg_query.AlterTableType_AT_SetLogged:       "SET LOGGED",
	pg_query.AlterTableType_AT_SetUnLogged:     "SET UNLOGGED",
	pg_query.AlterTableType_AT_SetAccessMethod: "SET ACCESS METHOD",
	pg_query.AlterTableType_AT_SetTableSpace:   "SET TABLESPACE",
}

// alterCmds are the subcommands of an ALTER TABLE.
func alterCmds(a *pg_query.AlterTableStmt) []*pg_query.AlterTableCmd {
	out := make([]*pg_query.AlterTableCmd, 0, len(a.Cmds))
	for _, c := range a.Cmds {
		if cmd := c.GetAlterTableCmd(); cmd != nil {
			out = append(out, cmd)
		}
	}
	return out
}

// alterDomain reports the ALTER DOMAIN forms that check every column of the domain, and
// DROP NOT NULL. Subtype is Postgres's letter: C add constraint, O set not null, N drop not
// null, V validate constraint.
func (sc *stmtCheck) alterDomain(d *pg_query.AlterDomainStmt, at int) {
	name := dottedName(d.TypeName)
	if sc.s.isNewObj("type", name) {
		return
	}
	var what string
	switch d.Subtype {
	case "C":
		if con := d.Def.GetConstraint(); con != nil && !con.SkipValidation {
			what = "ADD CONSTRAINT"
		}
	case "N":
		sc.add(codeDropNotNull, at, fmt.Sprintf("ALTER DOMAIN %s DROP NOT NULL lets NULLs reach code that does not expect them", name))
	case "O":
		what = "SET NOT NULL"
	case "V":
		what = "VALIDATE CONSTRAINT"
	}
	if what == "" {
		return
	}
	sc.add(codeDomainCheck, at, fmt.Sprintf("ALTER DOMAIN %s %s checks every column of the domain with writes to their tables blocked", name, what))
	sc.locking(at, "ALTER DOMAIN")
}

// newEnumValueUsed reports a string constant equal to an enum label added earlier in the
// file's transaction. The type of the constant is not known without a database, so any
// constant with that text counts; the rule is a warning for that reason.
func (sc *stmtCheck) newEnumValueUsed(n *pg_query.Node) {
	if len(sc.more.newValues) == 0 || n.GetAlterEnumStmt() != nil {
		return
	}
	walkAll(n.ProtoReflect(), func(m protoreflect.Message) bool {
		c, ok := m.Interface().(*pg_query.A_Const)
		if !ok || c.GetSval() == nil {
			return true
		}
		v, added := sc.more.newValues[c.GetSval().Sval]
		if !added || !sc.sameTx(v.st) {
			return true
		}
		sc.add(codeEnumSameTx, int(c.Location), fmt.Sprintf("'%s' was added to enum %s in this file's transaction; Postgres refuses to use it before that commits", c.GetSval().Sval, v.typ))
		return false
	})
}

// duplicateColumns reports a column set twice in an UPDATE, ON CONFLICT or MERGE SET list,
// or named twice in an INSERT column list. Several assignments to different subscripts or
// fields of one column are allowed, as Postgres allows them.
func (sc *stmtCheck) duplicateColumns(n *pg_query.Node) {
	// Only these statements can hold an INSERT, UPDATE or MERGE (in a WITH clause too).
	if n.GetInsertStmt() == nil && n.GetUpdateStmt() == nil && n.GetMergeStmt() == nil &&
		n.GetDeleteStmt() == nil && n.GetSelectStmt() == nil {
		return
	}
	walkAll(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch x := m.Interface().(type) {
		case *pg_query.InsertStmt:
			sc.duplicateTargets(x.Cols)
		case *pg_query.UpdateStmt:
			sc.duplicateTargets(x.TargetList)
		case *pg_query.OnConflictClause:
			sc.duplicateTargets(x.TargetList)
		case *pg_query.MergeWhenClause:
			sc.duplicateTargets(x.TargetList)
		}
		return true
	})
}

func (sc *stmtCheck) duplicateTargets(targets []*pg_query.Node) {
	whole := map[string]bool{} // assigned as a whole
	part := map[string]bool{}  // assigned through a subscript or field
	for _, t := range targets {
		rt := t.GetResTarget()
		if rt == nil || rt.Name == "" {
			continue
		}
		plain := len(rt.Indirection) == 0
		if whole[rt.Name] || (plain && part[rt.Name]) {
			sc.add(codeDupAssign, int(rt.Location), fmt.Sprintf("column %s is assigned more than once; Postgres refuses the statement", rt.Name))
			continue
		}
		if plain {
			whole[rt.Name] = true
		} else {
			part[rt.Name] = true
		}
	}
}
