package review

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
)

// gitBase is the base revision of a run, resolved once.
type gitBase struct {
	repo   *repo
	ref    string // as given, for messages
	commit string
}

// openBase finds the repository holding dir and resolves ref in it.
func openBase(dir, ref string) (*gitBase, error) {
	r, err := openRepo(dir)
	if err != nil {
		return nil, err
	}
	commit, err := r.resolve(ref)
	if err != nil {
		return nil, err
	}
	return &gitBase{repo: r, ref: ref, commit: commit}, nil
}

// dir reads t's migration directory as the base commit has it, in the format the work
// tree's was read in. A directory the base does not have yet is empty: all of it is new.
func (g *gitBase) dir(t target, format migrations.Format) (*migrations.Dir, error) {
	rel, err := g.repo.rel(t.migDir)
	if err != nil {
		return nil, err
	}
	fsys, err := g.repo.tree(g.commit, rel)
	if err != nil {
		return nil, err
	}
	if len(fsys) == 0 {
		return &migrations.Dir{Format: format, Path: t.shown}, nil
	}
	return migrations.Read(fsys, migrations.Options{Format: format, Path: t.shown})
}

// changedApps finds the app directories (those holding schemahook.yaml) under roots that
// have a file differing from the base. Git lists the candidates (tracked and untracked, not
// ignored), so ignored trees such as node_modules are never walked.
func (g *gitBase) changedApps(roots []string) ([]string, error) {
	changed, err := g.repo.changed(g.commit)
	if err != nil {
		return nil, err
	}
	var apps []string
	seen := map[string]bool{}
	for _, root := range roots {
		out, err := gitCmd(root, nil, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
			config.FileName, ":(glob)**/"+config.FileName)
		if err != nil {
			return nil, fmt.Errorf("finding app directories under %s: %w", root, err)
		}
		for _, name := range strings.Split(string(out), "\x00") {
			if name == "" {
				continue
			}
			dir := filepath.Join(root, filepath.Dir(filepath.FromSlash(name)))
			if _, err := os.Stat(filepath.Join(dir, config.FileName)); err != nil || seen[dir] {
				continue // deleted in the work tree, or listed twice
			}
			seen[dir] = true
			rel, err := g.repo.rel(dir)
			if err != nil {
				return nil, err
			}
			for _, c := range changed {
				if rel == "." || c == rel || strings.HasPrefix(c, rel+"/") {
					apps = append(apps, dir)
					break
				}
			}
		}
	}
	sort.Strings(apps)
	return apps, nil
}

// history splits head's files into the history (the base's files, as the base has them:
// they are what the target runs on) and the pending change (new versions, and repeatables
// new or changed), and reports what the hook would refuse once the base is applied: a base
// file changed or removed since, a new file older than the newest base file. The rules and
// their names are engine.Verify's; Verify itself runs last as a cross-check.
func history(base, head *migrations.Dir, outOfOrder bool, ref string) (earlier, pending []*migrations.File, found []Finding) {
	byKey := map[string]*migrations.File{}
	for _, f := range head.Files {
		byKey[key(f)] = f
	}
	inBase := map[string]*migrations.File{}
	newest := ""
	for _, b := range base.Files {
		inBase[key(b)] = b
		if !b.Repeatable && (newest == "" || migrations.CompareVersions(b.Version, newest) > 0) {
			newest = b.Version
		}
		earlier = append(earlier, b)
		h := byKey[key(b)]
		switch {
		case b.Repeatable:
		case h == nil:
			found = append(found, Finding{File: path.Join(head.Path, b.Name), Rule: "applied-file-missing",
				Severity: lint.SeverityError, Stage: StageVerify,
				Message: fmt.Sprintf("is in the base revision %s, so it is applied (or will be) on the target, but it was removed since. schemahook never un-applies", ref),
				Hint:    "restore the file, and undo the change with a new migration instead"})
		case h.Checksum != b.Checksum:
			line := firstDiff(b.Content, h.Content)
			found = append(found, Finding{File: path.Join(head.Path, h.Name), Line: line, Col: 1, Rule: "checksum-mismatch",
				Severity: lint.SeverityError, Stage: StageVerify,
				Message: fmt.Sprintf("was changed since the base revision %s (from line %d), which applied it (or will): the hook refuses an applied file whose checksum changed", ref, line),
				Hint:    "restore the file from the base revision and put the change in a new migration"})
		}
	}
	for _, h := range head.Files {
		b := inBase[key(h)]
		switch {
		case h.Repeatable && (b == nil || b.Checksum != h.Checksum):
			pending = append(pending, h)
		case h.Repeatable || b != nil:
		default:
			pending = append(pending, h)
			if newest != "" && migrations.CompareVersions(h.Version, newest) < 0 && !outOfOrder {
				found = append(found, Finding{File: path.Join(head.Path, h.Name), Line: 1, Col: 1, Rule: "out-of-order",
					Severity: lint.SeverityError, Stage: StageVerify,
					Message: fmt.Sprintf("is new since the base revision %s but older than version %s, the newest file there: the hook refuses it once that is applied", ref, newest),
					Hint:    "give it a newer version (schemahook new), or allow it with apply.outOfOrder: true"})
			}
		}
	}
	// Pending in the hook's order: versioned first, then repeatables.
	sort.SliceStable(pending, func(i, j int) bool { return !pending[i].Repeatable && pending[j].Repeatable })

	// Cross-check with the hook's own verification on the base as history, so a rule added
	// there is not silently missed here.
	var hist []engine.Revision
	for _, b := range base.Files {
		hist = append(hist, engine.Revision{Version: engine.Key(b), Description: b.Description, Checksum: b.Checksum, Status: engine.StatusApplied})
	}
	_, err := engine.Verify(head, hist, engine.PlanOptions{AllowOutOfOrder: outOfOrder})
	var ee *failure.Error
	if errors.As(err, &ee) && !hasRule(found, ee.Rule) {
		f := errFinding(err, StageVerify, head.Path, ee.Rule)
		if f.File != "" && !strings.HasPrefix(f.File, head.Path+"/") && head.Path != "" {
			f.File = path.Join(head.Path, f.File)
		}
		found = append(found, f)
	}
	return earlier, pending, found
}

func hasRule(fs []Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// key is how the hook matches a file to its revisions row: the version by value (1.0 is
// 1), or R__<description> for a repeatable.
func key(f *migrations.File) string {
	if f.Repeatable {
		return "R__" + f.Description
	}
	parts := strings.FieldsFunc(f.Version, func(r rune) bool { return r == '.' || r == '_' })
	for i, p := range parts {
		if parts[i] = strings.TrimLeft(p, "0"); parts[i] == "" {
			parts[i] = "0"
		}
	}
	for len(parts) > 0 && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".")
}

// firstDiff is the 1-based line of b where it first differs from a.
func firstDiff(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range bl {
		if i >= len(al) || al[i] != bl[i] {
			return i + 1
		}
	}
	return max(len(bl), 1)
}

// posPrefix matches "file:line[:col]: " at the start of an error message.
var posPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^\s:]+):(\d+)(?::(\d+))?: `) })

// filePrefix matches "path: " at the start of an error message, where path looks like one
// (it holds a slash or a file extension).
var filePrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^\s:]*/[^\s:]*|[^\s:/]+\.[a-z]+): `) })

// ruleSuffix matches a trailing " [rule]".
var ruleSuffix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\s*\[([a-zA-Z0-9_-]+)\]$`) })

// errFinding makes an error of the render, the hook's verification, the directory reader or
// a SchemaFreshness check into a finding: position and rule from the typed errors, else
// from the "file:line: message [rule]" text every refusal follows; file and rule default
// to the given ones.
func errFinding(err error, stage, file, rule string) Finding {
	f := Finding{File: file, Rule: rule, Severity: lint.SeverityError, Stage: stage, Message: err.Error()}
	var fe *failure.Error
	if errors.As(err, &fe) {
		f.Line, f.Col, f.Message = fe.Line, fe.Col, fe.Msg
		if fe.File != "" {
			f.File = fe.File
		}
		if fe.Rule != "" {
			f.Rule = fe.Rule
		}
		return f
	}
	msg := f.Message
	if m := ruleSuffix().FindStringSubmatch(msg); m != nil {
		f.Rule = m[1]
		msg = msg[:len(msg)-len(m[0])]
	}
	if m := posPrefix().FindStringSubmatch(msg); m != nil {
		f.File = m[1]
		f.Line, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			f.Col, _ = strconv.Atoi(m[3])
		}
		msg = msg[len(m[0]):]
	} else if m := filePrefix().FindStringSubmatch(msg); m != nil {
		f.File = m[1]
		msg = msg[len(m[0]):]
	}
	f.Message = msg
	return f
}
