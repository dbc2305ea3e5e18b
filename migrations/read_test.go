package migrations

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/require"
)

// fixtureSteps is the schema every format's directory (testfs.FormatDir) holds, in order.
var fixtureSteps = []string{"create_customers", "create_orders", "order_total_function", "orders_status_index", "customer_name"}

func TestReadFormats(t *testing.T) {
	native := readFixture(t, "schemahook", FormatAuto)
	tests := []struct {
		dir          string
		format       Format
		versions     []string
		downs        bool
		downNames    bool
		markerFormat bool
	}{
		{"schemahook", FormatNative, []string{"20240101120000", "20240102093000", "20240110150000", "20240201080000", "20240315170500"}, false, false, false},
		{"atlas", FormatNative, []string{"20240101120000", "20240102093000", "20240110150000", "20240201080000", "20240315170500"}, false, false, true},
		{"golang-migrate", FormatGolangMigrate, []string{"000001", "000002", "000003", "000004", "000005"}, true, true, false},
		{"goose", FormatGoose, []string{"20240101120000", "20240102093000", "20240110150000", "20240201080000", "20240315170500"}, true, false, true},
		{"flyway", FormatFlyway, []string{"1", "2", "2.1", "3", "10"}, false, false, false},
		{"dbmate", FormatDbmate, []string{"20240101120000", "20240102093000", "20240110150000", "20240201080000", "20240315170500"}, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			for _, opt := range []Format{FormatAuto, tt.format} { // detected, then named
				d := readFixture(t, tt.dir, opt)
				require.Equal(t, tt.format, d.Format)
				require.Len(t, d.Files, len(fixtureSteps))
				for i, f := range d.Files {
					require.Equal(t, tt.versions[i], f.Version, f.Name)
					require.Contains(t, strings.ReplaceAll(f.Description, " ", "_"), fixtureSteps[i])
					require.Equal(t, tt.markerFormat, f.MarkerFormat, f.Name)
					require.Len(t, f.Checksum, 64)
					undo := tt.dir == "flyway" && i == 3 // U3__orders_status_index.sql
					require.Equal(t, tt.downs || undo, f.Down != "", f.Name)
					require.Equal(t, tt.downNames || undo, f.DownName != "", f.Name)
					require.Equal(t, f.Up, f.Content[f.UpOffset:f.UpOffset+len(f.Up)])
					for _, s := range f.Statements {
						require.True(t, strings.HasPrefix(f.Content[s.Offset:], s.SQL), "%s: statement at %d", f.Name, s.Offset)
						line, col := f.Pos(s.Offset)
						require.Equal(t, []int{line, col}, []int{s.Line, s.Col})
					}
				}
				// The same schema in every format: the same statements in the same order.
				require.Equal(t, statementSQL(native), statementSQL(d))
				// The CONCURRENTLY file runs outside a transaction, marked the format's way.
				noTx := d.Files[3]
				require.True(t, noTx.Statements[0].NoTx)
				require.False(t, noTx.Transactional())
				require.Equal(t, tt.markerFormat, noTx.NoTx)
				for i, f := range d.Files {
					require.Equal(t, i == 3, !f.Transactional(), f.Name)
				}
				require.NoError(t, d.CheckSum())
				require.NotNil(t, d.Sum, "fixture has a schemahook.sum")
			}
		})
	}
	// Flyway's undo file is the Down of its version.
	fly := readFixture(t, "flyway", FormatFlyway)
	require.Equal(t, "U3__orders_status_index.sql", fly.Files[3].DownName)
	require.Equal(t, "DROP INDEX CONCURRENTLY orders_status_idx;\n", fly.Files[3].Down)
}

func readFixture(t *testing.T, dir string, f Format) *Dir {
	t.Helper()
	d, err := Read(os.DirFS(testfs.FormatDir(t, dir)), Options{Format: f})
	require.NoError(t, err)
	return d
}

func statementSQL(d *Dir) []string {
	var out []string
	for _, f := range d.Files {
		for _, s := range f.Statements {
			out = append(out, s.SQL)
		}
	}
	return out
}

func TestReadSections(t *testing.T) {
	tests := []struct {
		name    string
		format  Format
		content string
		up      string
		down    string
		noTx    bool
		stmts   []string
	}{
		{"goose block kept whole", FormatGoose,
			"-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n-- +goose StatementEnd\nSELECT 1;\n-- +goose Down\nDROP FUNCTION f();\n",
			"-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n-- +goose StatementEnd\nSELECT 1;\n",
			"DROP FUNCTION f();\n", false,
			[]string{"CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql", "SELECT 1"}},
		{"goose block of two statements is one", FormatGoose,
			"-- +goose Up\n-- +goose StatementBegin\nSELECT 1; SELECT 2;\n-- +goose StatementEnd\n",
			"-- +goose StatementBegin\nSELECT 1; SELECT 2;\n-- +goose StatementEnd\n", "", false,
			[]string{"SELECT 1; SELECT 2"}},
		{"goose annotations are case-insensitive", FormatGoose,
			"-- +goose no transaction\n--   +GOOSE up\nVACUUM;\n", "VACUUM;\n", "", true, []string{"VACUUM"}},
		{"goose comment before Up", FormatGoose, "-- hello\n\n-- +goose Up\nSELECT 1;\n", "SELECT 1;\n", "", false, []string{"SELECT 1"}},
		{"dbmate sections", FormatDbmate,
			"-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n", "CREATE TABLE t (a int);\n", "DROP TABLE t;\n", false,
			[]string{"CREATE TABLE t (a int)"}},
		{"dbmate transaction:false", FormatDbmate,
			"--migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n", "CREATE INDEX CONCURRENTLY i ON t (a);\n", "", true,
			[]string{"CREATE INDEX CONCURRENTLY i ON t (a)"}},
		{"empty up is allowed", FormatDbmate, "-- migrate:up\n-- nothing yet\n-- migrate:down\n", "-- nothing yet\n", "", false, nil},
		{"atlas txmode none", FormatNative, "-- atlas:txmode none\n\nVACUUM;\n", "\nVACUUM;\n", "", true, []string{"VACUUM"}},
		{"atlas txmode only in the header", FormatNative, "SELECT 1;\n-- atlas:txmode none\n", "SELECT 1;\n-- atlas:txmode none\n", "", false, []string{"SELECT 1"}},
		{"dbmate with CRLF line ends", FormatDbmate, "-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 0;\r\n", "SELECT 1;\r\n", "SELECT 0;\r\n", false, []string{"SELECT 1"}},
		{"goose with CRLF line ends", FormatGoose, "-- +goose Up\r\n-- +goose StatementBegin\r\nSELECT 1;\r\n-- +goose StatementEnd\r\n", "-- +goose StatementBegin\r\nSELECT 1;\r\n-- +goose StatementEnd\r\n", "", false, []string{"SELECT 1"}},
		{"native only comments", FormatNative, "-- todo\n/* later */\n", "-- todo\n/* later */\n", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Read(fstest.MapFS{"1_x.sql": {Data: []byte(tt.content)}}, Options{Format: tt.format})
			require.NoError(t, err)
			f := d.Files[0]
			require.Equal(t, tt.up, f.Up)
			require.Equal(t, tt.down, f.Down)
			require.Equal(t, tt.noTx, f.NoTx)
			var got []string
			for _, s := range f.Statements {
				got = append(got, s.SQL)
				require.True(t, strings.HasPrefix(f.Content[s.Offset:], s.SQL))
			}
			require.Equal(t, tt.stmts, got)
		})
	}
}

func TestReadOrder(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		files  []string
		want   []string
	}{
		{"numeric, not lexical", FormatAuto,
			[]string{"10_c.sql", "9_b.sql", "100_d.sql", "1_a.sql"},
			[]string{"1_a.sql", "9_b.sql", "10_c.sql", "100_d.sql"}},
		{"flyway dotted and underscore versions, repeatables last by description", FormatAuto,
			[]string{"R__b_view.sql", "V1.10__j.sql", "V1_9__i.sql", "V2__k.sql", "R__a_func.sql", "V1__h.sql"},
			[]string{"V1__h.sql", "V1_9__i.sql", "V1.10__j.sql", "V2__k.sql", "R__a_func.sql", "R__b_view.sql"}},
		{"golang-migrate pairs", FormatAuto,
			[]string{"2_b.up.sql", "2_b.down.sql", "10_c.up.sql", "1_a.up.sql"},
			[]string{"1_a.up.sql", "2_b.up.sql", "10_c.up.sql"}},
		{"ignored files", FormatAuto,
			[]string{"2_b.sql", "README.md", "README", ".hidden.sql", "notes.txt", "atlas.sum.bak", "1_a.sql", "sub/3_c.sql"},
			[]string{"1_a.sql", "2_b.sql"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, n := range tt.files {
				fsys[n] = &fstest.MapFile{Data: []byte("SELECT 1;\n")}
			}
			d, err := Read(fsys, Options{Format: tt.format})
			require.NoError(t, err)
			var got []string
			for _, f := range d.Files {
				got = append(got, f.Name)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestReadErrors(t *testing.T) {
	sel := &fstest.MapFile{Data: []byte("SELECT 1;\n")}
	tests := []struct {
		name   string
		fsys   fstest.MapFS
		opts   Options
		want   string
		rule   string
		file   string
		line   int
		column int
	}{
		{"duplicate version by value", fstest.MapFS{"1_a.sql": sel, "001_b.sql": sel}, Options{},
			"1_a.sql: version 1 is also the version of 001_b.sql [duplicate-version]", "duplicate-version", "1_a.sql", 0, 0},
		{"flyway duplicate 1.0 and 1", fstest.MapFS{"V1__a.sql": sel, "V1.0__b.sql": sel}, Options{},
			"V1__a.sql: version 1 is also the version of V1.0__b.sql [duplicate-version]", "duplicate-version", "V1__a.sql", 0, 0},
		{"unparsable version", fstest.MapFS{"1a_x.sql": sel}, Options{Format: FormatGoose},
			`1a_x.sql: version "1a" is not a number [version]`, "version", "1a_x.sql", 0, 0},
		{"flyway unparsable version", fstest.MapFS{"V1.x__a.sql": sel}, Options{Format: FormatFlyway},
			`V1.x__a.sql: version "1.x" is not digits separated by '.' or '_' [version]`, "version", "V1.x__a.sql", 0, 0},
		{"name fits no format", fstest.MapFS{"1_a.sql": sel, "create.sql": sel}, Options{Format: FormatGoose},
			`create.sql: name does not fit the goose format "<version>_<name>.sql" [file-name]`, "file-name", "create.sql", 0, 0},
		{"strict after detection", fstest.MapFS{"1_a.up.sql": sel, "2_b.sql": sel}, Options{},
			`2_b.sql: name does not fit the golang-migrate format "<version>_<name>.up.sql" or ".down.sql" [file-name]`, "file-name", "2_b.sql", 0, 0},
		{"goose missing up", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose Down\n")}}, Options{Format: FormatGoose},
			`1_a.sql:1: "-- +goose Down" before "-- +goose Up" [goose-annotation]`, "goose-annotation", "1_a.sql", 1, 0},
		{"goose no up at all", fstest.MapFS{"1_a.sql": {Data: []byte("-- just a comment\n")}}, Options{Format: FormatGoose},
			`1_a.sql: no "-- +goose Up" line; goose files need one [goose-missing-up]`, "goose-missing-up", "1_a.sql", 0, 0},
		{"goose sql before up", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose NO TRANSACTION\nSELECT 1;\n-- +goose Up\n")}}, Options{Format: FormatGoose},
			`1_a.sql:2: SQL before "-- +goose Up" [goose-sql-before-up]`, "goose-sql-before-up", "1_a.sql", 2, 0},
		{"goose unclosed block", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n-- +goose StatementBegin\nSELECT 2;\n")}}, Options{},
			`1_a.sql:3: StatementBegin without StatementEnd [goose-annotation]`, "goose-annotation", "1_a.sql", 3, 0},
		{"goose envsub", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n")}}, Options{},
			`1_a.sql:2: goose ENVSUB is not supported: the SQL must not depend on the environment it renders in [goose-envsub]`, "goose-envsub", "1_a.sql", 2, 0},
		{"goose go migration", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}, "2_b.go": sel}, Options{},
			`2_b.go: goose Go migrations cannot run from SQL; rewrite it as a .sql migration [goose-go-migration]`, "goose-go-migration", "2_b.go", 0, 0},
		{"dbmate missing up", fstest.MapFS{"1_a.sql": {Data: []byte("-- a comment\n")}}, Options{Format: FormatDbmate},
			`1_a.sql: no "-- migrate:up" line; dbmate files need one [dbmate-missing-up]`, "dbmate-missing-up", "1_a.sql", 0, 0},
		{"dbmate sql outside", fstest.MapFS{"1_a.sql": {Data: []byte("SELECT 0;\n-- migrate:up\nSELECT 1;\n")}}, Options{Format: FormatDbmate},
			`1_a.sql:1: SQL before "-- migrate:up"; dbmate runs only the up and down sections [dbmate-sql-outside-block]`, "dbmate-sql-outside-block", "1_a.sql", 1, 0},
		{"dbmate unknown option", fstest.MapFS{"1_a.sql": {Data: []byte("-- migrate:up transaction:maybe\nSELECT 1;\n")}}, Options{},
			`1_a.sql:1: unknown dbmate option "transaction:maybe" (want transaction:false or transaction:true) [dbmate-option]`, "dbmate-option", "1_a.sql", 1, 0},
		{"golang-migrate down without up", fstest.MapFS{"1_a.up.sql": sel, "2_b.down.sql": sel}, Options{},
			`2_b.down.sql: no migration with version 2: a down file needs its .up.sql [orphan-down]`, "orphan-down", "2_b.down.sql", 0, 0},
		{"golang-migrate two downs for one up", fstest.MapFS{"1_a.up.sql": sel, "1_a.down.sql": sel, "1_b.down.sql": sel}, Options{},
			`1_b.down.sql: version 1 already has the down file 1_a.down.sql [duplicate-version]`, "duplicate-version", "1_b.down.sql", 0, 0},
		{"flyway undo of a repeatable's place", fstest.MapFS{"V1__a.sql": sel, "V3__c.sql": sel, "R__r.sql": sel, "U2__b.sql": sel}, Options{},
			`U2__b.sql: no migration with version 2: a down file needs a V file of the same version [orphan-down]`, "orphan-down", "U2__b.sql", 0, 0},
		{"flyway undo without versioned", fstest.MapFS{"V1__a.sql": sel, "U2__b.sql": sel}, Options{},
			`U2__b.sql: no migration with version 2: a down file needs a V file of the same version [orphan-down]`, "orphan-down", "U2__b.sql", 0, 0},
		{"syntax error with line and column", fstest.MapFS{"1_a.sql": {Data: []byte("SELECT 1;\n\nCREATE TABLE é (a int,);\n")}}, Options{},
			`1_a.sql:3:23: syntax error at or near ")" [syntax]`, "syntax", "1_a.sql", 3, 23},
		{"syntax error in dbmate up, relative to the file", fstest.MapFS{"1_a.sql": {Data: []byte("-- migrate:up\nSELEC 1;\n")}}, Options{},
			`1_a.sql:2:1: syntax error at or near "SELEC" [syntax]`, "syntax", "1_a.sql", 2, 1},
		{"syntax error in a goose block", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() AS $$ x\n-- +goose StatementEnd\n")}}, Options{},
			`1_a.sql:3:24: unterminated dollar-quoted string at or near "$$ x\n" [syntax]`, "syntax", "1_a.sql", 3, 24},
		{"nul byte", fstest.MapFS{"1_a.sql": {Data: []byte("SELECT 1;\nSELECT '\x00';\n")}}, Options{},
			`1_a.sql:2:9: NUL byte in SQL text [encoding]`, "encoding", "1_a.sql", 2, 9},
		{"symlink fsys does not resolve", fstest.MapFS{"1_a.sql": {Data: []byte("x"), Mode: 0o777 | os.ModeSymlink}}, Options{},
			`1_a.sql: is a symlink that does not resolve inside the directory: file does not exist [not-regular-file]`, "not-regular-file", "1_a.sql", 0, 0},
		{"device", fstest.MapFS{"schemahook.sum": {Mode: os.ModeDevice}}, Options{},
			`schemahook.sum: is a device, not a regular file [not-regular-file]`, "not-regular-file", "schemahook.sum", 0, 0},
		{"file too big", fstest.MapFS{"1_a.sql": {Data: []byte(strings.Repeat("-", 101))}}, Options{MaxFileSize: 100},
			`1_a.sql: file is 101 bytes, more than the limit of 100 [limit-file-size]`, "limit-file-size", "1_a.sql", 0, 0},
		{"too many files", fstest.MapFS{"1_a.sql": sel, "2_a.sql": sel, "3_a.sql": sel}, Options{MaxFiles: 2},
			`.: directory holds 3 entries, more than the limit of 2 [limit-files]`, "limit-files", ".", 0, 0},
		{"total too big", fstest.MapFS{"1_a.sql": sel, "2_a.sql": sel}, Options{MaxTotalSize: 15, Path: "db/migrations"},
			`db/migrations: files add up to 20 bytes by 2_a.sql, more than the limit of 15 [limit-total-size]`, "limit-total-size", "db/migrations", 0, 0},
		{"path prefixes file names", fstest.MapFS{"x.sql": sel}, Options{Path: "db/m"},
			`db/m/x.sql: version "x" is not a number or dotted numbers [version]`, "version", "db/m/x.sql", 0, 0},
		{"ambiguous goose and dbmate", fstest.MapFS{"1_a.sql": {Data: []byte("-- +goose Up\n")}, "2_b.sql": {Data: []byte("-- migrate:up\n")}}, Options{},
			`2_b.sql: has dbmate markers while 1_a.sql has goose markers; set the format explicitly [ambiguous-format]`, "ambiguous-format", "2_b.sql", 0, 0},
		{"unknown format", fstest.MapFS{}, Options{Format: "liquibase"},
			`.: unknown format "liquibase" (want auto, schemahook, golang-migrate, goose, flyway or dbmate) [unknown-format]`, "unknown-format", ".", 0, 0},
		{"flyway sql in a subdirectory", fstest.MapFS{"V1__a.sql": sel, "docs/x.md": sel, "more/deeper/V2__b.sql": sel}, Options{},
			`more/deeper/V2__b.sql: Flyway would run this file from a subdirectory, schemahook reads only the top level: move it up [flyway-subdirectory]`, "flyway-subdirectory", "more/deeper/V2__b.sql", 0, 0},
		{"byte order mark", fstest.MapFS{"1_a.sql": {Data: []byte("\ufeffSELECT 1;\n")}}, Options{},
			`1_a.sql:1:1: file starts with a UTF-8 byte order mark; save it without one [encoding]`, "encoding", "1_a.sql", 1, 1},
		{"invalid utf-8", fstest.MapFS{"1_a.sql": {Data: []byte("SELECT 1;\n-- caf\xe9\n")}}, Options{},
			`1_a.sql:2:7: invalid UTF-8 (migration files must be UTF-8) [encoding]`, "encoding", "1_a.sql", 2, 7},
		{"flyway callback", fstest.MapFS{"V1__a.sql": sel, "afterMigrate__grants.sql": sel}, Options{},
			`afterMigrate__grants.sql: Flyway callbacks are not supported: schemahook runs only V and R migrations; make it a migration [flyway-callback]`, "flyway-callback", "afterMigrate__grants.sql", 0, 0},
		{"atlas unknown txmode", fstest.MapFS{"1_a.sql": {Data: []byte("-- atlas:txmode sometimes\nSELECT 1;\n")}}, Options{},
			`1_a.sql:1: unknown atlas:txmode "sometimes" (want none, file or all) [atlas-txmode]`, "atlas-txmode", "1_a.sql", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.fsys, tt.opts)
			require.Error(t, err)
			require.Equal(t, tt.want, err.Error())
			var e *failure.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, []any{tt.rule, tt.file, tt.line, tt.column}, []any{e.Rule, e.File, e.Line, e.Col})
		})
	}
}

// TestReadSymlinks reads a real directory through os.Root, the way the commands, the plugin and
// the hook Job do. Kubernetes mounts ConfigMap keys as symlinks into ..data/: those are
// regular files once resolved, and read; anything else a symlink can lead to is refused.
func TestReadSymlinks(t *testing.T) {
	tests := []struct {
		name   string
		link   string // target of 2_b.sql
		setup  func(t *testing.T, dir string)
		errMsg string // "" when the read succeeds
	}{
		{"configmap layout", "..data/2_b.sql", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "..data"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "..data", "2_b.sql"), []byte("SELECT 2;\n"), 0o644))
		}, ""},
		{"escapes the directory", "../outside.sql", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "..", "outside.sql"), []byte("SELECT 2;\n"), 0o644))
		}, "2_b.sql: is a symlink that does not resolve inside the directory: path escapes from parent [not-regular-file]"},
		{"to a directory", "sub", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		}, "2_b.sql: is a symlink to a directory, not to a regular file [not-regular-file]"},
		{"dangling", "missing.sql", func(t *testing.T, dir string) {}, "2_b.sql: is a symlink that does not resolve inside the directory: no such file or directory [not-regular-file]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "1_a.sql"), []byte("SELECT 1;\n"), 0o644))
			tt.setup(t, dir)
			require.NoError(t, os.Symlink(tt.link, filepath.Join(dir, "2_b.sql")))
			root, err := os.OpenRoot(dir)
			require.NoError(t, err)
			defer root.Close()
			d, err := Read(root.FS(), Options{})
			if tt.errMsg != "" {
				require.EqualError(t, err, tt.errMsg)
				return
			}
			require.NoError(t, err)
			require.Len(t, d.Files, 2)
			require.Equal(t, "SELECT 2", d.Files[1].Statements[0].SQL)
		})
	}
}

// Split parses the files side by side; the refusal it gives is still the first file's in
// order, and every file gets its own statements.
func TestSplitManyFiles(t *testing.T) {
	files := map[string]string{}
	for i := 1; i <= 200; i++ {
		files[fmt.Sprintf("%03d_t.sql", i)] = fmt.Sprintf("CREATE TABLE t%d (id int);\nINSERT INTO t%d VALUES (%d);\n", i, i, i)
	}
	d, err := Read(testfs.MapFS(files), Options{})
	require.NoError(t, err)
	for i, f := range d.Files {
		require.Len(t, f.Statements, 2, f.Name)
		require.Equal(t, fmt.Sprintf("INSERT INTO t%d VALUES (%d)", i+1, i+1), f.Statements[1].SQL)
	}

	files["150_t.sql"] = "CREATE TABLE (;\n"
	files["070_t.sql"] = "SELECT 1;\nCREATE TABLE (;\n"
	_, err = Read(testfs.MapFS(files), Options{})
	var fe *failure.Error
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "070_t.sql", fe.File, "the first broken file in order")
	require.Equal(t, 2, fe.Line)
}
