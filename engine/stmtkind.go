package engine

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/schemahook/schemahook/migrations"
)

// stmtKind is what a non-transactional statement may leave behind when it fails, read
// from its parse tree: most statements run in one implicit transaction and leave nothing,
// a concurrent index build commits internally and can leave an INVALID index, and some
// (procedures, DO blocks, DETACH PARTITION CONCURRENTLY) may have committed work we cannot see.
type stmtKind struct {
	multiTx bool   // may commit part of its work before failing
	build   string // "create index" or "reindex" when it builds an index concurrently
	table   string // the table whose invalid indexes a failed build leaves (regclass text input)
	index   string // REINDEX INDEX: the index, whose table is looked up
	name    string // CREATE INDEX: the new index's name ("" when Postgres picks it)
}

var ccRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`_cc(new|old)[0-9]*$`) })

// leaves reports whether an invalid index named relname is what this build leaves when
// it stops part-way: the named index, or REINDEX's _ccnew/_ccold copies.
func (k stmtKind) leaves(relname string) bool {
	switch k.build {
	case "create index":
		return k.name != "" && relname == k.name
	case "reindex":
		return ccRE().MatchString(relname)
	}
	return false
}

func classify(sql string) stmtKind {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return stmtKind{multiTx: true} // unknown: never retried
	}
	var k stmtKind
	for _, raw := range tree.Stmts {
		switch n := raw.Stmt.Node.(type) {
		case *pg_query.Node_IndexStmt:
			if n.IndexStmt.Concurrent {
				k.multiTx, k.build, k.table, k.name = true, "create index", rangeVarName(n.IndexStmt.Relation), n.IndexStmt.Idxname
			}
		case *pg_query.Node_ReindexStmt:
			r := n.ReindexStmt
			concurrent := false
			for _, p := range r.Params {
				if d := p.GetDefElem(); d != nil && d.Defname == "concurrently" {
					concurrent = true
				}
			}
			if concurrent {
				k.multiTx, k.build = true, "reindex"
				switch r.Kind {
				case pg_query.ReindexObjectType_REINDEX_OBJECT_TABLE:
					k.table = rangeVarName(r.Relation)
				case pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX:
					k.index = rangeVarName(r.Relation)
				}
			}
		case *pg_query.Node_CallStmt, *pg_query.Node_DoStmt, *pg_query.Node_TransactionStmt:
			k.multiTx = true
		case *pg_query.Node_AlterTableStmt:
			for _, c := range n.AlterTableStmt.Cmds {
				if pc := c.GetAlterTableCmd().GetDef().GetPartitionCmd(); pc != nil && pc.Concurrent {
					k.multiTx = true
				}
			}
		}
	}
	return k
}

func rangeVarName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	id := pgx.Identifier{rv.Relname}
	if rv.Schemaname != "" {
		id = pgx.Identifier{rv.Schemaname, rv.Relname}
	}
	return id.Sanitize()
}

// Index is an index by oid and name (as regclass prints it: quoted, qualified if needed).
type Index struct {
	OID     uint32
	Name    string
	Relname string
}

// invalidIndexes lists the INVALID indexes on the table a concurrent build works on (and
// on its TOAST table).
func invalidIndexes(ctx context.Context, conn *pgx.Conn, k stmtKind) ([]Index, error) {
	if k.build == "" || (k.table == "" && k.index == "") {
		return nil, nil
	}
	// REINDEX TABLE also rebuilds the indexes of the table's TOAST table.
	rows, err := conn.Query(ctx, `
WITH t AS (SELECT coalesce(to_regclass(nullif($1, '')),
  (SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass(nullif($2, '')))) AS oid)
SELECT i.indexrelid::oid::int8, i.indexrelid::regclass::text,
  (SELECT relname::text FROM pg_class WHERE oid = i.indexrelid) FROM pg_index i, t
WHERE NOT i.indisvalid
  AND (i.indrelid = t.oid OR i.indrelid = (SELECT nullif(reltoastrelid, 0) FROM pg_class WHERE oid = t.oid))
ORDER BY 1`, k.table, k.index)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Index, error) {
		var x Index
		var oid int64
		err := r.Scan(&oid, &x.Name, &x.Relname)
		x.OID = uint32(oid)
		return x, err
	})
}

// newIndexes are the indexes in after that were not in before: what the statement left.
func newIndexes(before, after []Index) []Index {
	var out []Index
	for _, x := range after {
		if !slices.ContainsFunc(before, func(b Index) bool { return b.OID == x.OID }) {
			out = append(out, x)
		}
	}
	return out
}

// leftoverNote is recorded in last_error and shown to the operator; resume reads the oids
// back from it, so its "(oid N)" form is kept stable.
func leftoverNote(k stmtKind, left []Index, version string) string {
	names := make([]string, len(left))
	for i, x := range left {
		names[i] = fmt.Sprintf("%s (oid %d)", x.Name, x.OID)
	}
	return fmt.Sprintf("; the failed %s CONCURRENTLY left INVALID index %s behind: fix the cause (for a unique index, the duplicate rows), then rerun with --resume-partial %s, which drops exactly that invalid index (DROP INDEX CONCURRENTLY) and runs the statement again",
		strings.ToUpper(k.build), strings.Join(names, ", "), version)
}

// runningNote is recorded before a concurrent build runs, with the invalid indexes its
// table has then: if the run dies with it (SIGKILL, a lost node) and nothing else can be
// recorded, a resume can still tell which invalid index the build left.
func runningNote(what string, k stmtKind, before []Index, version string) string {
	oids := make([]string, len(before))
	for i, x := range before {
		oids[i] = strconv.FormatUint(uint64(x.OID), 10)
	}
	return fmt.Sprintf("%s: the run ended (killed or disconnected) while %s CONCURRENTLY ran; it may have left an INVALID index, which --resume-partial %s drops before running it again [invalid before: %s]",
		what, strings.ToUpper(k.build), version, strings.Join(oids, " "))
}

var (
	oidRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\(oid (\d+)\)`) })
	beforeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[invalid before:([ 0-9]*)\]`) })
)

// recordedBefore reads back runningNote's oids; ok is false when last_error has none.
func recordedBefore(lastErr string) (oids []Index, ok bool) {
	m := beforeRE().FindStringSubmatch(lastErr)
	if m == nil {
		return nil, false
	}
	for _, f := range strings.Fields(m[1]) {
		if n, err := strconv.ParseUint(f, 10, 32); err == nil {
			oids = append(oids, Index{OID: uint32(n)})
		}
	}
	return oids, true
}

// recordedLeftovers are the oids a failed build noted in last_error.
func recordedLeftovers(lastErr string) []uint32 {
	var out []uint32
	for _, m := range oidRE().FindAllStringSubmatch(lastErr, -1) {
		if n, err := strconv.ParseUint(m[1], 10, 32); err == nil {
			out = append(out, uint32(n))
		}
	}
	return out
}

// Tables are the relations the files' statements name, from the parse tree: what the
// pending DDL will lock.
func Tables(files []*migrations.File) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		for _, st := range f.Statements {
			tree, err := pg_query.Parse(st.SQL)
			if err != nil {
				continue
			}
			walk(tree.ProtoReflect(), func(rv *pg_query.RangeVar) {
				if n := rangeVarName(rv); rv.Relname != "" && !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			})
		}
	}
	return out
}

// walk calls fn for every RangeVar in the message m.
func walk(m protoreflect.Message, fn func(*pg_query.RangeVar)) {
	if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
		fn(rv)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), fn)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message(), fn)
		}
		return true
	})
}
