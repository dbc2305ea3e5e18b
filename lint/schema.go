package lint

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/schemahook/schemahook/migrations"
)

// schema tracks what the statements seen so far did to the objects the rules care about.
// A table is "new" when the pending set itself created it; every other table is treated
// as existing (also one the migrations never mention: it was made some other way), which is
// the safe side for rules about locks and data loss.
type schema struct {
	pending  bool            // false while replaying the earlier files
	existing map[string]bool // tables that existed before the pending set
	fixed    bool            // existing came from Options.Existing: earlier files do not change it
	newTabs  map[string]bool // tables created by the pending set
	newCols  map[string]bool // "table.column" added by the pending set
	newObjs  map[string]bool // "kind:name" of indexes, types and schemas created by the pending set
	colTypes map[string]*pg_query.TypeName
	retyped  map[string]bool       // "table.column" whose type the pending set changed
	funcs    map[string]Volatility // functions the files create, by "schema.name"
	cat      *Catalog              // nil without a database
	path     []string              // set by SET search_path in the files
	filled   map[any]bool          // names of the current statement qualify gave a schema
}

func newSchema(existing map[string]bool) *schema {
	s := &schema{
		existing: map[string]bool{},
		newTabs:  map[string]bool{},
		newCols:  map[string]bool{},
		newObjs:  map[string]bool{},
		colTypes: map[string]*pg_query.TypeName{},
		retyped:  map[string]bool{},
		funcs:    map[string]Volatility{},
	}
	if existing != nil {
		s.fixed = true
		for k, v := range existing {
			if !v {
				continue
			}
			k = strings.ToLower(k)
			if !strings.Contains(k, ".") {
				k = "public." + k
			}
			s.existing[k] = true
		}
	}
	return s
}

// replay records the effects of an earlier file's statements; statements that do not parse
// are skipped (the dev replay reports them).
func (s *schema) replay(f *migrations.File) {
	for _, st := range f.Statements {
		tree, err := pg_query.Parse(st.SQL)
		if err != nil {
			continue
		}
		for _, raw := range tree.Stmts {
			s.qualify(raw.Stmt)
			s.apply(raw.Stmt)
		}
	}
}

// tableName is the qualified lower-case name of a relation; unqualified names are taken to
// live in public, the default search_path.
func tableName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	schema := rv.Schemaname
	if schema == "" {
		schema = "public"
	}
	return strings.ToLower(schema + "." + rv.Relname)
}

// listName qualifies the name of a dropped object: a list of String nodes (DROP TABLE a.b),
// a TypeName (DROP TYPE) or a String.
func listName(n *pg_query.Node) string {
	switch {
	case n.GetList() != nil:
		return dottedName(n.GetList().Items)
	case n.GetTypeName() != nil:
		return dottedName(n.GetTypeName().Names)
	}
	return dottedName([]*pg_query.Node{n})
}

// dottedName joins String nodes into a lower-case name qualified with public if it is not.
func dottedName(items []*pg_query.Node) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, it.GetString_().GetSval())
	}
	if len(parts) == 1 {
		parts = append([]string{"public"}, parts...)
	}
	return strings.ToLower(strings.Join(parts, "."))
}

// isNew reports whether the pending set created the table.
func (s *schema) isNew(table string) bool { return s.newTabs[table] }

// isNewCol reports whether the column is new: added by the pending set, or of a new table.
func (s *schema) isNewCol(table, col string) bool {
	return s.newTabs[table] || s.newCols[table+"."+strings.ToLower(col)]
}

func (s *schema) createTable(name string, ifNotExists bool) {
	if !s.pending {
		if !s.fixed {
			s.existing[name] = true
		}
		return
	}
	if ifNotExists && s.existing[name] {
		return
	}
	s.newTabs[name] = true
}

func (s *schema) dropTable(name string) {
	delete(s.newTabs, name)
	if !s.fixed || s.pending {
		delete(s.existing, name)
	}
}

func (s *schema) renameTable(from, to string) {
	if s.newTabs[from] {
		delete(s.newTabs, from)
		s.newTabs[to] = true
	}
	if s.existing[from] && (!s.fixed || s.pending) {
		delete(s.existing, from)
		s.existing[to] = true
	}
	for k, v := range s.colTypes {
		if strings.HasPrefix(k, from+".") {
			delete(s.colTypes, k)
			s.colTypes[to+k[len(from):]] = v
		}
	}
	for k := range s.newCols {
		if strings.HasPrefix(k, from+".") {
			delete(s.newCols, k)
			s.newCols[to+k[len(from):]] = true
		}
	}
}

func (s *schema) addColumn(table string, cd *pg_query.ColumnDef) {
	key := table + "." + strings.ToLower(cd.Colname)
	s.colTypes[key] = cd.TypeName
	if s.pending {
		s.newCols[key] = true
	}
}

func (s *schema) renameColumn(table, from, to string) {
	fk, tk := table+"."+strings.ToLower(from), table+"."+strings.ToLower(to)
	if t, ok := s.colTypes[fk]; ok {
		delete(s.colTypes, fk)
		s.colTypes[tk] = t
	}
	if s.newCols[fk] {
		delete(s.newCols, fk)
		s.newCols[tk] = true
	}
}

func (s *schema) createObj(kind, name string) {
	if s.pending {
		s.newObjs[kind+":"+name] = true
	}
}

func (s *schema) isNewObj(kind, name string) bool { return s.newObjs[kind+":"+name] }

// apply records one statement's effect on the tracked objects.
func (s *schema) apply(n *pg_query.Node) {
	switch {
	case n.GetCreateStmt() != nil:
		c := n.GetCreateStmt()
		t := tableName(c.Relation)
		s.createTable(t, c.IfNotExists)
		for cd := range nodes(c.TableElts, (*pg_query.Node).GetColumnDef) {
			s.colTypes[t+"."+strings.ToLower(cd.Colname)] = cd.TypeName
		}
	case n.GetCreateTableAsStmt() != nil:
		c := n.GetCreateTableAsStmt()
		if c.Into != nil {
			s.createTable(tableName(c.Into.Rel), c.IfNotExists)
		}
	case n.GetDropStmt() != nil:
		d := n.GetDropStmt()
		for _, o := range d.Objects {
			switch d.RemoveType {
			case pg_query.ObjectType_OBJECT_TABLE:
				s.dropTable(listName(o))
			case pg_query.ObjectType_OBJECT_INDEX:
				delete(s.newObjs, "index:"+listName(o))
			case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
				delete(s.newObjs, "type:"+listName(o))
			}
		}
	case n.GetRenameStmt() != nil:
		r := n.GetRenameStmt()
		t := tableName(r.Relation)
		switch r.RenameType {
		case pg_query.ObjectType_OBJECT_TABLE:
			to := strings.ToLower(strings.SplitN(t, ".", 2)[0] + "." + r.Newname)
			s.renameTable(t, to)
		case pg_query.ObjectType_OBJECT_COLUMN:
			s.renameColumn(t, r.Subname, r.Newname)
		}
	case n.GetAlterTableStmt() != nil:
		a := n.GetAlterTableStmt()
		t := tableName(a.Relation)
		for cmd := range nodes(a.Cmds, (*pg_query.Node).GetAlterTableCmd) {
			switch cmd.Subtype {
			case pg_query.AlterTableType_AT_AddColumn:
				if cd := cmd.Def.GetColumnDef(); cd != nil {
					s.addColumn(t, cd)
				}
			case pg_query.AlterTableType_AT_DropColumn:
				delete(s.colTypes, t+"."+strings.ToLower(cmd.Name))
				delete(s.newCols, t+"."+strings.ToLower(cmd.Name))
			case pg_query.AlterTableType_AT_AlterColumnType:
				if cd := cmd.Def.GetColumnDef(); cd != nil {
					s.colTypes[t+"."+strings.ToLower(cmd.Name)] = cd.TypeName
					s.retyped[t+"."+strings.ToLower(cmd.Name)] = s.pending
				}
			}
		}
	case n.GetIndexStmt() != nil:
		i := n.GetIndexStmt()
		if i.Idxname != "" {
			sch := "public"
			if i.Relation != nil && i.Relation.Schemaname != "" {
				sch = i.Relation.Schemaname
			}
			s.createObj("index", strings.ToLower(sch+"."+i.Idxname))
		}
	case n.GetCreateEnumStmt() != nil:
		s.createObj("type", dottedName(n.GetCreateEnumStmt().TypeName))
	case n.GetCompositeTypeStmt() != nil:
		s.createObj("type", tableName(n.GetCompositeTypeStmt().Typevar))
	case n.GetCreateDomainStmt() != nil:
		s.createObj("type", dottedName(n.GetCreateDomainStmt().Domainname))
	case n.GetCreateRangeStmt() != nil:
		s.createObj("type", dottedName(n.GetCreateRangeStmt().TypeName))
	case n.GetCreateFunctionStmt() != nil:
		s.createFunction(n.GetCreateFunctionStmt())
	case n.GetCreateSchemaStmt() != nil:
		s.createObj("schema", strings.ToLower(n.GetCreateSchemaStmt().Schemaname))
	}
}
