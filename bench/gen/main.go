// Command gen writes the benchmark's migration directories and its report.
//
//	go run ./bench/gen files -n 1000 -out DIR
//
// writes DIR/native (schemahook's <version>_<name>.sql), DIR/goose (the same SQL under
// "-- +goose Up"), DIR/golang-migrate (<version>_<name>.up.sql) and DIR/psql.sql (one psql
// session running every file in its own transaction: the floor). The SQL of file i is the
// same in every directory and depends only on i: a repeating cycle of CREATE TABLE, ALTER
// TABLE ADD COLUMN, CREATE INDEX and INSERT on the table the cycle created.
//
//	go run ./bench/gen report -samples samples.tsv -meta meta.tsv -notes NOTES.md -out RESULTS.md
//
// turns the raw samples the run recorded into bench/RESULTS.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gen files|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "files":
		err = files(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want files or report", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Version of file i (1-based): 14 digits, sorting the same as numbers and as strings.
func version(i int) string { return fmt.Sprintf("%014d", 20250101000000+i) }

// migration returns the name (without extension) and SQL of file i (1-based).
func migration(i int) (name, sql string) {
	t := fmt.Sprintf("bench_t%05d", (i-1)/4+1)
	switch (i - 1) % 4 {
	case 0:
		return "create_" + t, fmt.Sprintf(`CREATE TABLE %s (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
`, t)
	case 1:
		return "add_columns_" + t, fmt.Sprintf(`ALTER TABLE %[1]s ADD COLUMN note text;
ALTER TABLE %[1]s ADD COLUMN qty integer NOT NULL DEFAULT 0;
`, t)
	case 2:
		return "index_" + t, fmt.Sprintf("CREATE INDEX %[1]s_name_idx ON %[1]s (name);\n", t)
	default:
		return "seed_" + t, fmt.Sprintf(`INSERT INTO %s (name, note, qty)
SELECT 'row ' || g, 'seeded', g FROM generate_series(1, 10) AS g;
`, t)
	}
}

func files(args []string) error {
	fs := flag.NewFlagSet("files", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of migrations")
	out := fs.String("out", "", "output directory (created; must not exist)")
	fs.Parse(args)
	if *out == "" || *n < 1 {
		return fmt.Errorf("files: -out and -n >= 1 are required")
	}
	dirs := map[string]string{}
	for _, d := range []string{"native", "goose", "golang-migrate"} {
		dirs[d] = filepath.Join(*out, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return err
		}
	}
	var driver strings.Builder
	driver.WriteString("\\set ON_ERROR_STOP 1\nSET client_min_messages = warning;\n")
	for i := 1; i <= *n; i++ {
		name, sql := migration(i)
		base := version(i) + "_" + name
		native := filepath.Join(dirs["native"], base+".sql")
		for path, content := range map[string]string{
			native: sql,
			filepath.Join(dirs["goose"], base+".sql"):             "-- +goose Up\n" + sql,
			filepath.Join(dirs["golang-migrate"], base+".up.sql"): sql,
		} {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				return err
			}
		}
		abs, err := filepath.Abs(native)
		if err != nil {
			return err
		}
		fmt.Fprintf(&driver, "BEGIN;\n\\i %s\nCOMMIT;\n", abs)
	}
	return os.WriteFile(filepath.Join(*out, "psql.sql"), []byte(driver.String()), 0o644)
}
