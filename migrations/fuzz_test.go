package migrations

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/schemahook/schemahook/failure"
)

// FuzzRead feeds arbitrary names and contents to Read: it must never panic, every refusal
// must be a *failure.Error, and what it accepts must be consistent (ordered, offsets in range).
func FuzzRead(f *testing.F) {
	f.Add("1_a.sql", "SELECT 1;", "2_b.sql", "-- +goose Up\nSELECT 2;", "")
	f.Add("V1__a.sql", "CREATE TABLE t (a int);", "R__v.sql", "CREATE VIEW v AS SELECT 1;", "flyway")
	f.Add("1_a.up.sql", "SELECT 1;", "1_a.down.sql", "SELECT 0;", "")
	f.Add("1_a.sql", "-- migrate:up transaction:false\nVACUUM;\n-- migrate:down\n", "schemahook.sum", "h1:x\n1_a.sql h1:y\n", "")
	f.Add("1_a.sql", "-- +goose Up\n-- +goose StatementBegin\nSELECT $$;$$;\n-- +goose StatementEnd\n", "atlas.sum", "", "goose")
	f.Fuzz(func(t *testing.T, n1, c1, n2, c2, format string) {
		fsys := fstest.MapFS{}
		for _, nc := range [][2]string{{n1, c1}, {n2, c2}} {
			if fs.ValidPath(nc[0]) && nc[0] != "." {
				fsys[nc[0]] = &fstest.MapFile{Data: []byte(nc[1])}
			}
		}
		d, err := Read(fsys, Options{Format: Format(format)})
		if err != nil {
			var e *failure.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, not *failure.Error", err, err)
			}
			return
		}
		for i, file := range d.Files {
			if i > 0 && !file.Repeatable && CompareVersions(d.Files[i-1].Version, file.Version) >= 0 {
				t.Fatalf("files out of order: %s then %s", d.Files[i-1].Name, file.Name)
			}
			if file.Content[file.UpOffset:file.UpOffset+len(file.Up)] != file.Up {
				t.Fatalf("%s: Up is not at UpOffset", file.Name)
			}
			for _, s := range file.Statements {
				if !strings.HasPrefix(file.Content[s.Offset:], s.SQL) {
					t.Fatalf("%s: statement %q not at offset %d", file.Name, s.SQL, s.Offset)
				}
			}
		}
		_ = d.CheckSum()
		d.Sum = d.ComputeSum()
		if err := d.CheckSum(); err != nil {
			t.Fatalf("a computed sum does not check: %v", err)
		}
	})
}

// FuzzSplit: Split never panics, refusals are *failure.Error, and statements are where they say.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "CREATE FUNCTION f() AS $x$ ; $x$ LANGUAGE sql;", "-- c\n/* d */", "SELECT 'é';;", "SELECT $$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		stmts, err := Split(sql)
		if err != nil {
			var e *failure.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, not *failure.Error", err, err)
			}
			return
		}
		last := -1
		for _, s := range stmts {
			if s.Offset <= last || sql[s.Offset:s.Offset+len(s.SQL)] != s.SQL {
				t.Fatalf("statement %q not at offset %d", s.SQL, s.Offset)
			}
			last = s.Offset
		}
	})
}
