package engine

import (
	"fmt"
	"strings"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// PlanOptions are the history rules a run may relax.
type PlanOptions struct {
	AllowOutOfOrder bool
	// Baseline marks every file up to this version applied without running it, on a
	// database with no history yet (schemahook's or adopted).
	Baseline string
	// ResumePartial names the version of a partial file a human has checked: its remaining
	// statements run, starting with the one that failed.
	ResumePartial string
	// RevisionsSchema only shapes messages (the SQL a human can run). The caller passes the
	// run's; its default is config.DefaultRevisionsSchema, the one place defaults live.
	RevisionsSchema string
}

// Plan is what a run will do, decided from the directory and the history alone.
type Plan struct {
	History []Revision // as read, including adopted rows not yet written
	// Mark are rows to write before applying: adopted history and baseline marks.
	Mark    []Revision
	Pending []*migrations.File // versioned in order, then repeatables
	// Resume maps the Key of a resumed partial file to its statements already applied.
	Resume map[string]int
}

// Verify checks the history against the directory and returns the plan, or a history
// error (exit 4) naming the file and what to do: a changed applied file, an applied file
// gone from the directory, a new file older than the newest applied one, a partial file.
func Verify(dir *migrations.Dir, history []Revision, o PlanOptions) (*Plan, error) {
	p := &Plan{History: history, Resume: map[string]int{}}
	byKey := map[string]*migrations.File{}
	for _, f := range dir.Files {
		if f.Repeatable {
			byKey[Key(f)] = f
		} else {
			byKey[canon(f.Version)] = f
		}
	}
	revKey := func(r Revision) string {
		if strings.HasPrefix(r.Version, "R__") {
			return r.Version
		}
		return canon(r.Version)
	}
	done := map[string]Revision{}
	newest := ""
	var newestRev Revision
	for _, r := range history {
		done[revKey(r)] = r
		f := byKey[revKey(r)]
		repeatable := strings.HasPrefix(r.Version, "R__")
		if !repeatable && (newest == "" || migrations.CompareVersions(r.Version, newest) > 0) {
			newest, newestRev = r.Version, r
		}
		if f == nil {
			if repeatable || r.Status == StatusBaseline ||
				(o.Baseline != "" && migrations.CompareVersions(r.Version, o.Baseline) <= 0) {
				continue // a removed repeatable, or old files squashed below the baseline
			}
			name := r.Version
			if r.Description != "" {
				name += " (" + r.Description + ")"
			}
			return nil, &failure.Error{Exit: failure.ExitHistory, File: name, Rule: "applied-file-missing",
				Msg: fmt.Sprintf("version %s is applied on the target (%s %s) but its file is no longer in the directory. schemahook never un-applies: restore the file, and undo the change with a new migration instead",
					name, r.Status, r.AppliedAt.UTC().Format("2006-01-02 15:04:05Z"))}
		}
		switch {
		case r.Status == StatusPartial && canon(o.ResumePartial) == canon(r.Version) && o.ResumePartial != "":
			p.Resume[Key(f)] = r.StatementsApplied
		case r.Status == StatusPartial:
			lastErr := ""
			if r.LastError != "" {
				lastErr = "; it stopped on: " + r.LastError
			}
			return nil, &failure.Error{Exit: failure.ExitHistory, File: f.Name, Rule: "partial-migration",
				Msg: fmt.Sprintf("was partially applied: %d of %d statements ran (it is not transactional)%s. Check the database, then either rerun with --resume-partial %s to run the rest starting with statement %d, or finish it by hand and run: UPDATE %s SET status = 'applied' WHERE version = '%s'",
					r.StatementsApplied, r.StatementsTotal, lastErr, r.Version, r.StatementsApplied+1, table(o.RevisionsSchema), r.Version)}
		case repeatable:
		case r.Checksum != "" && r.Checksum != f.Checksum:
			return nil, &failure.Error{Exit: failure.ExitHistory, File: f.Name, Rule: "checksum-mismatch",
				Msg: fmt.Sprintf("was changed after it was applied (checksum applied %s, now %s). Applied migrations must not change: restore the file from Git and put the change in a new migration",
					short(r.Checksum), short(f.Checksum))}
		}
	}
	if o.ResumePartial != "" {
		if _, ok := done[canon(o.ResumePartial)]; !ok || len(p.Resume) == 0 {
			return nil, &failure.Error{Exit: failure.ExitUsage, Rule: "resume-partial",
				Msg: fmt.Sprintf("--resume-partial %s: no partially applied migration has that version", o.ResumePartial)}
		}
	}
	var repeatables []*migrations.File
	for _, f := range dir.Files {
		if f.Repeatable {
			if r, ok := done[Key(f)]; !ok || r.Checksum != f.Checksum {
				repeatables = append(repeatables, f)
			}
			continue
		}
		if r, ok := done[canon(f.Version)]; ok {
			if _, resume := p.Resume[Key(f)]; resume && r.Status == StatusPartial {
				p.Pending = append(p.Pending, f)
			}
			continue
		}
		// Like Flyway's baselineOnMigrate, the baseline only marks a database without history:
		// once there is one, an old unapplied file is out of order, never silently skipped.
		if o.Baseline != "" && len(history) == 0 && migrations.CompareVersions(f.Version, o.Baseline) <= 0 {
			p.Mark = append(p.Mark, Revision{Version: f.Version, Description: f.Description, Checksum: f.Checksum,
				Status: StatusBaseline, StatementsTotal: len(f.Statements)})
			continue
		}
		if newest != "" && migrations.CompareVersions(f.Version, newest) < 0 && !o.AllowOutOfOrder {
			return nil, &failure.Error{Exit: failure.ExitHistory, File: f.Name, Rule: "out-of-order",
				Msg: fmt.Sprintf("is not applied yet but is older than version %s (%s), the newest applied migration; give it a newer version (schemahook new), or allow it with --allow-out-of-order (apply.outOfOrder: true)",
					newest, newestRev.Description)}
		}
		p.Pending = append(p.Pending, f)
	}
	p.Pending = append(p.Pending, repeatables...)
	return p, nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// SameVersion reports whether two versions are equal by value ("001" and "1").
func SameVersion(a, b string) bool { return canon(a) == canon(b) }
