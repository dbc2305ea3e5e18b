package hooks

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/schema"
)

// Report is the JSON summary printed with --output json.
type Report struct {
	Status       string         `json:"status"` // applied, up-to-date, planned, failed
	Applied      []AppliedFile  `json:"applied"`
	Pending      int            `json:"pending"`
	PendingFiles []string       `json:"pendingFiles"` // what is still pending after the run
	Findings     []lint.Finding `json:"findings"`
	// Drift lists the objects in which the target differs from its migrations (drift.go).
	Drift []schema.Difference `json:"drift"`
	Error *failure.Error      `json:"error"`
}

// AppliedFile is one file applied by this run.
type AppliedFile struct {
	Version    string `json:"version"`
	Name       string `json:"name"`
	DurationMs int64  `json:"durationMs"`
}

func newReport() Report {
	return Report{Applied: []AppliedFile{}, PendingFiles: []string{}, Findings: []lint.Finding{}, Drift: []schema.Difference{}}
}

// MaxTerminationMessage is what Kubernetes keeps of a termination message.
const MaxTerminationMessage = 4096

// finish prints the summary (stdout) and writes the termination log.
func (r *run) finish() {
	if r.o.Output == OutputJSON {
		b, _ := json.MarshalIndent(r.rep, "", "  ")
		fmt.Fprintln(r.o.Stdout, engine.RedactText(string(b), r.o.URL, r.o.DevURL))
	} else {
		fmt.Fprintln(r.o.Stdout, r.summary())
	}
	if r.o.TerminationLog != "" {
		msg := truncate(r.summary(), MaxTerminationMessage-1) // -1: the newline
		if err := os.WriteFile(r.o.TerminationLog, []byte(msg+"\n"), 0o644); err != nil {
			r.logf("cannot write the termination log %s: %v", r.o.TerminationLog, err)
		}
	}
}

// summary is the short text Argo CD shows on the hook (the termination message).
func (r *run) summary() string {
	var b strings.Builder
	target := engine.Redact(r.o.URL)
	took := time.Since(r.start).Round(time.Millisecond)
	switch r.rep.Status {
	case "up-to-date":
		fmt.Fprintf(&b, "schemahook: %s is up-to-date, nothing to apply (%s)", target, took)
	case "planned":
		fmt.Fprintf(&b, "schemahook: plan for %s: %d pending, passed the dev replay and lint: %s", target, r.rep.Pending, list(r.rep.PendingFiles, 20))
	case "checked":
		fmt.Fprintf(&b, "schemahook: drift check of %s: %d difference(s) (%s)", target, len(r.rep.Drift), took)
	case "applied":
		fmt.Fprintf(&b, "schemahook: applied %d migration(s) to %s in %s:", len(r.rep.Applied), target, took)
		for _, a := range r.rep.Applied {
			fmt.Fprintf(&b, "\n  %s (%dms)", a.Name, a.DurationMs)
		}
	default:
		e := r.rep.Error
		fmt.Fprintf(&b, "schemahook FAILED at stage %s (exit %d): %s", e.Stage, e.Exit, e.Error()[len(e.Stage)+2:])
		if len(r.rep.Applied) > 0 {
			fmt.Fprintf(&b, "\napplied before the failure:")
			for _, a := range r.rep.Applied {
				fmt.Fprintf(&b, " %s", a.Name)
			}
		}
		if e.Stage == failure.StageDev || e.Stage == failure.StageLint || ((e.Stage == failure.StageVerify || e.Stage == failure.StageDrift) && len(r.rep.Applied) == 0) {
			b.WriteString("\nthe target database was not changed")
		}
		if r.rep.Pending > 0 {
			fmt.Fprintf(&b, "\n%d migration(s) pending", r.rep.Pending)
		}
	}
	if len(r.rep.Drift) > 0 && (r.rep.Error == nil || r.rep.Error.Stage != failure.StageDrift) {
		fmt.Fprintf(&b, "\ndrift: %d difference(s) between the target and its migrations: %s", len(r.rep.Drift), driftNames(r.rep.Drift))
	}
	blocking, warnings := 0, 0
	for _, f := range r.rep.Findings {
		if f.Severity == lint.SeverityError {
			blocking++
		} else {
			warnings++
		}
	}
	if blocking+warnings > 0 {
		fmt.Fprintf(&b, "\nlint: %d error(s), %d warning(s)", blocking, warnings)
		for _, f := range r.rep.Findings {
			fmt.Fprintf(&b, "\n  %s", f.String())
		}
	}
	return engine.RedactText(b.String(), r.o.URL, r.o.DevURL)
}

// list joins names, naming at most n of them.
func list(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// truncate cuts s to at most n bytes on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "\n... (truncated; see the Job's log)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
