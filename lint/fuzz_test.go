package lint

import (
	"fmt"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/migrations"
)

// FuzzLint feeds arbitrary SQL to the linter, as a pending and as an earlier file. It must
// not panic, and every finding must name a known rule at a real position.
func FuzzLint(f *testing.F) {
	for _, r := range Rules() {
		f.Add(r.Bad)
		f.Add(r.Good)
	}
	f.Add(exampleSchema)
	f.Add("-- schemahook:allow SH102\n-- schemahook:allow\nALTER TABLE a DROP COLUMN b; $$ unterminated")
	f.Add("CREATE FUNCTION f() RETURNS int AS $x$ SELECT 1; $x$ LANGUAGE sql; ALTER TABLE \"Q\".\"T\" RENAME TO u;")
	f.Fuzz(func(t *testing.T, sql string) {
		file := &migrations.File{Name: "f.sql", Content: sql, Up: sql}
		stmts, err := migrations.Split(sql)
		if err != nil {
			// Hand the text over as one statement so the parse-error path runs too.
			stmts = []migrations.Statement{{SQL: sql, Line: 1, Col: 1}}
		}
		file.Statements = stmts
		lines := strings.Count(sql, "\n") + 1
		for _, opts := range []Options{{}, {LockTimeout: true, Existing: map[string]bool{"public.a": true}}} {
			r := Files([]*migrations.File{file}, []*migrations.File{file}, opts)
			for _, fd := range r.Findings {
				if _, ok := ruleByCode[fd.Code]; !ok {
					t.Fatalf("unknown code in %v", fd)
				}
				if fd.Line < 1 || fd.Line > lines || fd.Col < 1 {
					t.Fatalf("position out of the file (%d lines): %v", lines, fd)
				}
				if fd.Severity != SeverityError && fd.Severity != SeverityWarning {
					t.Fatalf("severity %q in %v", fd.Severity, fd)
				}
			}
		}
	})
}

// benchFiles makes n migration files of a typical mix: new tables with indexes, columns
// added to earlier tables, a backfill, a function with a body, and every 100th file a
// column drop on the first table.
func benchFiles(b *testing.B, n int) []*migrations.File {
	files := make([]*migrations.File, n)
	for i := range files {
		prev := max(i-1, 0)
		sql := fmt.Sprintf(`-- migration %[1]d
SET lock_timeout = '5s';
CREATE TABLE t%[1]d (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parent_id bigint REFERENCES t%[2]d (id),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX t%[1]d_name_idx ON t%[1]d (name);
ALTER TABLE t%[2]d ADD COLUMN c%[1]d text, ADD CONSTRAINT c%[1]d_len CHECK (length(c%[1]d) < 100) NOT VALID;
UPDATE t%[2]d SET c%[1]d = name WHERE c%[1]d IS NULL;
CREATE FUNCTION f%[1]d() RETURNS trigger AS $$
BEGIN
  NEW.name := lower(NEW.name); -- keep names lower-case
  RETURN NEW;
END $$ LANGUAGE plpgsql;
`, i, prev)
		if i%100 == 0 {
			sql += fmt.Sprintf("ALTER TABLE t0 DROP COLUMN c%d;\n", i+1)
		}
		stmts, err := migrations.Split(sql)
		if err != nil {
			b.Fatal(err)
		}
		files[i] = &migrations.File{Name: fmt.Sprintf("%06d_m.sql", i), Content: sql, Up: sql, Statements: stmts}
	}
	return files
}

// BenchmarkLint lints 1,000 migration files per iteration (the first one as earlier).
func BenchmarkLint(b *testing.B) {
	files := benchFiles(b, 1001)
	for b.Loop() {
		r := Files(files[:1], files[1:], Options{})
		if len(r.Findings) != 10 { // the DROP COLUMN on t0 of every 100th file
			b.Fatalf("got %d findings, want 10: %v", len(r.Findings), r.Findings)
		}
	}
}
