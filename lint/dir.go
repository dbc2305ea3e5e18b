package lint

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// DirOptions tune Dir, the lint of a whole directory that `schemahook lint` runs.
type DirOptions struct {
	Options
	Format migrations.Format // "" detects
	// Since splits the files: those with a version up to and including Since are earlier
	// (read for context, not linted), newer ones and repeatables are linted. "" lints all.
	Since string
}

// Dir reads the migration directory dir and lints it. File names in findings are dir-joined
// paths (as given, slash-separated), so they point at the files from where the command ran.
// A file that Postgres's parser refuses is reported as a finding (SH000) at its line and
// column rather than as an error; other problems reading the directory are errors.
func Dir(dir string, o DirOptions) (Result, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Result{}, fmt.Errorf("lint: opening migration directory: %w", err)
	}
	defer root.Close()
	shown := filepath.ToSlash(filepath.Clean(dir))
	d, err := migrations.Read(root.FS(), migrations.Options{Format: o.Format, Path: shown})
	if err != nil {
		if res, ok := ReadError(err, o.Policy); ok {
			return res, nil
		}
		return Result{}, fmt.Errorf("lint: %w", err)
	}
	var earlier, pending []*migrations.File
	for _, f := range d.Files {
		if o.Since != "" && !f.Repeatable && migrations.CompareVersions(f.Version, o.Since) <= 0 {
			earlier = append(earlier, f)
		} else {
			pending = append(pending, f)
		}
	}
	res := Files(earlier, pending, o.Options)
	for i := range res.Findings {
		res.Findings[i].File = path.Join(shown, res.Findings[i].File)
	}
	return res, nil
}

// ReadError turns migrations.Read's refusal of SQL that does not parse (or is not UTF-8)
// into a SH000 finding, so it comes out like every other problem (in SARIF, on its line).
// ok is false for other errors, which are not about SQL.
func ReadError(err error, p Policy) (res Result, ok bool) {
	var me *failure.Error
	if !errors.As(err, &me) || (me.Rule != migrations.RuleSyntax && me.Rule != migrations.RuleEncoding) {
		return Result{}, false
	}
	return syntaxResult(me, p), true
}

func syntaxResult(me *failure.Error, p Policy) Result {
	res := Result{Findings: []Finding{}}
	lvl := p.level(codeParseError)
	if lvl == LevelOff {
		return res
	}
	fd := Finding{File: me.File, Line: me.Line, Col: me.Col, Code: codeParseError, Severity: SeverityWarning,
		Message: me.Msg, Hint: ruleByCode[codeParseError].Hint}
	if lvl == LevelError {
		fd.Severity = SeverityError
		res.Blocked = true
	}
	res.Findings = append(res.Findings, fd)
	return res
}
