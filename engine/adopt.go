package engine

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// Tools whose history schemahook adopts, so a team switching re-applies nothing.
const (
	ToolGolangMigrate = "golang-migrate"
	ToolDbmate        = "dbmate"
	ToolGoose         = "goose"
	ToolFlyway        = "flyway"
	ToolAtlas         = "atlas"
)

// foreign is another tool's history: the versions (and Flyway scripts) it applied.
type foreign struct {
	tool     string
	table    string // schema-qualified, for messages
	versions []string
	upTo     string // golang-migrate / Flyway baseline: every version <= upTo
	scripts  map[string]bool
}

// Adopt reads another migration tool's history from the database and returns it as
// revisions with status adopted (from is the tool, "" when none was found). It runs only
// when schemahook has no history of its own. A dirty or failed foreign history is exit 4.
func Adopt(ctx context.Context, conn *pgx.Conn, dir *migrations.Dir) (revs []Revision, from string, err error) {
	found, err := findForeign(ctx, conn)
	if err != nil {
		return nil, "", err
	}
	var nonEmpty []*foreign
	for _, f := range found {
		if len(f.versions) > 0 || f.upTo != "" || len(f.scripts) > 0 {
			nonEmpty = append(nonEmpty, f)
		}
	}
	if len(nonEmpty) == 0 {
		return nil, "", nil
	}
	pick := nonEmpty[0]
	if len(nonEmpty) > 1 {
		pick = nil
		for _, f := range nonEmpty {
			if matchesFormat(f.tool, dir.Format) {
				pick = f
			}
		}
		if pick == nil {
			var names []string
			for _, f := range nonEmpty {
				names = append(names, f.tool+" ("+f.table+")")
			}
			return nil, "", &failure.Error{Exit: failure.ExitHistory, Rule: "adopt-ambiguous",
				Msg: "found the history of several migration tools: " + strings.Join(names, ", ") +
					"; drop the stale one or start with --baseline VERSION"}
		}
	}
	return pick.revisions(dir), pick.tool + " (" + pick.table + ")", nil
}

func matchesFormat(tool string, f migrations.Format) bool {
	switch f {
	case migrations.FormatGolangMigrate, migrations.FormatDbmate, migrations.FormatGoose, migrations.FormatFlyway:
		return tool == string(f)
	case migrations.FormatNative:
		return tool == ToolAtlas
	}
	return false
}

// revisions turns the foreign history into revision rows for the files of dir; versions
// applied without a file become rows without a checksum, which Verify then reports.
func (fh *foreign) revisions(dir *migrations.Dir) []Revision {
	applied := map[string]bool{}
	for _, v := range fh.versions {
		applied[canon(v)] = true
	}
	var out []Revision
	for _, f := range dir.Files {
		hit := false
		switch {
		case f.Repeatable:
			hit = fh.scripts[path.Base(f.Name)]
		case applied[canon(f.Version)]:
			hit = true
			delete(applied, canon(f.Version))
		case fh.upTo != "" && migrations.CompareVersions(f.Version, fh.upTo) <= 0:
			hit = true
		}
		if hit {
			out = append(out, Revision{Version: Key(f), Description: f.Description, Checksum: f.Checksum,
				Status: StatusAdopted, StatementsTotal: len(f.Statements), StatementsApplied: len(f.Statements)})
		}
	}
	for _, v := range fh.versions {
		if applied[canon(v)] {
			out = append(out, Revision{Version: v, Description: "applied by " + fh.tool, Status: StatusAdopted})
			delete(applied, canon(v))
		}
	}
	return out
}

// findForeign finds the other tools' history tables in any schema and reads them.
func findForeign(ctx context.Context, conn *pgx.Conn) ([]*foreign, error) {
	rows, err := conn.Query(ctx, `
SELECT n.nspname, c.relname,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'dirty' AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND c.relname IN ('schema_migrations', 'goose_db_version', 'flyway_schema_history', 'atlas_schema_revisions')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2`)
	if err != nil {
		return nil, &failure.Error{Exit: failure.ExitHistory, Rule: "adopt", Msg: "looking for other tools' history: " + err.Error(), Err: err}
	}
	type tbl struct {
		schema, name string
		dirty        bool
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tbl, error) {
		var t tbl
		return t, r.Scan(&t.schema, &t.name, &t.dirty)
	})
	if err != nil {
		return nil, &failure.Error{Exit: failure.ExitHistory, Rule: "adopt", Msg: "looking for other tools' history: " + err.Error(), Err: err}
	}
	var out []*foreign
	for _, t := range tables {
		qn := pgx.Identifier{t.schema, t.name}.Sanitize()
		fh := &foreign{table: t.schema + "." + t.name, scripts: map[string]bool{}}
		var err error
		switch {
		case t.name == "schema_migrations" && t.dirty:
			fh.tool = ToolGolangMigrate
			err = readGolangMigrate(ctx, conn, qn, fh)
		case t.name == "schema_migrations":
			fh.tool = ToolDbmate
			fh.versions, err = queryStrings(ctx, conn, `SELECT version::text FROM `+qn)
		case t.name == "goose_db_version":
			fh.tool = ToolGoose
			err = readGoose(ctx, conn, qn, fh)
		case t.name == "flyway_schema_history":
			fh.tool = ToolFlyway
			err = readFlyway(ctx, conn, qn, fh)
		case t.name == "atlas_schema_revisions":
			fh.tool = ToolAtlas
			err = readAtlas(ctx, conn, qn, fh)
		}
		if err != nil {
			if e, ok := err.(*failure.Error); ok {
				return nil, e
			}
			return nil, &failure.Error{Exit: failure.ExitHistory, Rule: "adopt", Msg: fmt.Sprintf("reading %s's history %s: %v", fh.tool, fh.table, err), Err: err}
		}
		out = append(out, fh)
	}
	return out, nil
}

// queryStrings runs sql, which selects one text column, and returns its values.
func queryStrings(ctx context.Context, conn *pgx.Conn, sql string) ([]string, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// golang-migrate keeps one row: the current version and whether its last run failed.
func readGolangMigrate(ctx context.Context, conn *pgx.Conn, qn string, fh *foreign) error {
	rows, err := conn.Query(ctx, `SELECT version::text, dirty FROM `+qn)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var dirty bool
		if err := rows.Scan(&v, &dirty); err != nil {
			return err
		}
		if dirty {
			return &failure.Error{Exit: failure.ExitHistory, Rule: "adopt-dirty",
				Msg: fmt.Sprintf("golang-migrate's %s says version %s failed half-way (dirty); fix the database and run `migrate force %s` (or its previous version) before switching", fh.table, v, v)}
		}
		fh.upTo = v
	}
	return rows.Err()
}

// goose appends a row per up or down; the latest row of a version says whether it is applied.
func readGoose(ctx context.Context, conn *pgx.Conn, qn string, fh *foreign) error {
	rows, err := conn.Query(ctx, `SELECT version_id::text, is_applied FROM `+qn+` ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	state := map[string]bool{}
	var order []string
	for rows.Next() {
		var v string
		var applied bool
		if err := rows.Scan(&v, &applied); err != nil {
			return err
		}
		if v == "0" { // goose's own first row
			continue
		}
		if _, ok := state[v]; !ok {
			order = append(order, v)
		}
		state[v] = applied
	}
	for _, v := range order {
		if state[v] {
			fh.versions = append(fh.versions, v)
		}
	}
	return rows.Err()
}

// Flyway keeps a row per run, with a success flag, BASELINE rows, and repeatables
// without a version (identified by their script name).
func readFlyway(ctx context.Context, conn *pgx.Conn, qn string, fh *foreign) error {
	rows, err := conn.Query(ctx, `SELECT coalesce(version, ''), type, script, success FROM `+qn+` ORDER BY installed_rank`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v, typ, script string
		var ok bool
		if err := rows.Scan(&v, &typ, &script, &ok); err != nil {
			return err
		}
		if !ok {
			return &failure.Error{Exit: failure.ExitHistory, Rule: "adopt-dirty",
				Msg: fmt.Sprintf("Flyway's %s records a failed migration %s (%s); run `flyway repair` after fixing the database before switching", fh.table, v, script)}
		}
		switch {
		case typ == "BASELINE" || typ == "SQL_BASELINE":
			fh.upTo = v
		case typ == "SCHEMA" || typ == "DELETE" || typ == "UNDO_SQL":
		case v == "":
			fh.scripts[path.Base(script)] = true
		default:
			fh.versions = append(fh.versions, v)
		}
	}
	return rows.Err()
}

// Atlas records applied and total statements per version; applied < total is partial.
func readAtlas(ctx context.Context, conn *pgx.Conn, qn string, fh *foreign) error {
	rows, err := conn.Query(ctx, `SELECT version, applied, total FROM `+qn+` ORDER BY version`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var applied, total int64
		if err := rows.Scan(&v, &applied, &total); err != nil {
			return err
		}
		if v == ".atlas_cleanly" || strings.HasPrefix(v, ".") { // atlas's own marker rows
			continue
		}
		if applied < total {
			return &failure.Error{Exit: failure.ExitHistory, Rule: "adopt-dirty",
				Msg: fmt.Sprintf("Atlas's %s records version %s as partially applied (%d of %d statements); resolve it with `atlas migrate apply` or `atlas migrate set` before switching", fh.table, v, applied, total)}
		}
		fh.versions = append(fh.versions, v)
	}
	return rows.Err()
}

// canon is a version's value form, so "001", "1" and "1.0" match as CompareVersions says.
func canon(v string) string {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '_' })
	for i, p := range parts {
		if t := strings.TrimLeft(p, "0"); t != "" || p == "" {
			parts[i] = t
		} else {
			parts[i] = "0"
		}
	}
	for len(parts) > 0 && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".")
}
