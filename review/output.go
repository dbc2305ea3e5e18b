package review

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/lint"
)

// Outputs of a report: lint's three, then GitHub Actions workflow commands (annotations on
// the pull request's lines) and a Markdown summary.
const (
	OutputText     = lint.OutputText
	OutputJSON     = lint.OutputJSON
	OutputSARIF    = lint.OutputSARIF
	OutputGitHub   = "github"
	OutputMarkdown = "markdown"
)

// Outputs lists the outputs, the default first.
var Outputs = append(slices.Clone(lint.Outputs), OutputGitHub, OutputMarkdown)

// Write writes r in output, one of Outputs. toolVersion goes into SARIF (may be empty).
func Write(w io.Writer, output string, r *Report, toolVersion string) error {
	switch output {
	case OutputText:
		return WriteText(w, r)
	case OutputJSON:
		return WriteJSON(w, r)
	case OutputSARIF:
		return WriteSARIF(w, r, toolVersion)
	case OutputGitHub:
		return WriteGitHub(w, r)
	case OutputMarkdown:
		return WriteMarkdown(w, r)
	}
	return fmt.Errorf("--output %q: want %s", output, enum.Or(Outputs))
}

// WriteText writes one finding per line (file:line:col: RULE message (hint), the form
// editors and CI logs link), then one summary line.
func WriteText(w io.Writer, r *Report) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, summaryLine(r))
	return err
}

func summaryLine(r *Report) string {
	changed, errs := 0, 0
	for _, a := range r.Apps {
		changed += len(a.Changed)
	}
	for _, f := range r.Findings {
		if f.Severity == lint.SeverityError {
			errs++
		}
	}
	s := fmt.Sprintf("schemahook check: %d director(ies), %d changed file(s), %d finding(s), %d blocking", len(r.Apps), changed, len(r.Findings), errs)
	if r.Base != "" {
		s += fmt.Sprintf(", against %s (%s)", r.Base, shortID(r.BaseCommit))
	}
	if r.ExitCode != failure.ExitOK {
		s += fmt.Sprintf(": exit %d", r.ExitCode)
	}
	return s
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteGitHub writes GitHub Actions workflow commands, one per finding, so each shows on
// its line in the pull request ("::error file=F,line=L,col=C,title=T::message"), then a
// notice with the summary. Values are escaped as the Actions toolkit does.
func WriteGitHub(w io.Writer, r *Report) error {
	for _, f := range r.Findings {
		cmd := "warning"
		if f.Severity == lint.SeverityError {
			cmd = "error"
		}
		props := []string{"file=" + escapeProperty(f.File)}
		if f.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", f.Line))
			if f.Col > 0 {
				props = append(props, fmt.Sprintf("col=%d", f.Col))
			}
		}
		props = append(props, "title="+escapeProperty(title(f)))
		msg := f.Message
		if f.Hint != "" {
			msg += " (" + f.Hint + ")"
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "::notice title=schemahook check::%s\n", escapeData(summaryLine(r)))
	return err
}

// title names the rule: "schemahook SH301 create-index-blocking" for a lint rule.
func title(f Finding) string {
	t := "schemahook " + f.Rule
	if rule, ok := lint.RuleByCode(f.Rule); ok {
		t += " " + rule.Name
	}
	return t
}

// escapeData escapes a workflow command's message: %, CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value: also ':' and ','.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteMarkdown writes a summary for $GITHUB_STEP_SUMMARY or a pull-request comment: the
// verdict, each directory's history and change, and the findings.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	errs := 0
	for _, f := range r.Findings {
		if f.Severity == lint.SeverityError {
			errs++
		}
	}
	if r.ExitCode == failure.ExitOK {
		fmt.Fprintf(&b, "## schemahook check: passed\n\n")
	} else {
		fmt.Fprintf(&b, "## schemahook check: blocked (exit %d, %d error(s))\n\n", r.ExitCode, errs)
	}
	if r.Base != "" {
		fmt.Fprintf(&b, "History is what base revision `%s` (`%s`) has; the files added or changed since are the change.\n\n", mdCode(r.Base), shortID(r.BaseCommit))
	}
	if len(r.Apps) == 0 {
		b.WriteString("No app directory to check.\n")
	} else {
		b.WriteString("| directory | history | changed files | schema.sql | findings |\n|---|---|---|---|---|\n")
		for _, a := range r.Apps {
			n, e := 0, 0
			for _, f := range r.Findings {
				if f.App == a.Dir {
					n++
					if f.Severity == lint.SeverityError {
						e++
					}
				}
			}
			changed := "none"
			if len(a.Changed) > 0 {
				names := make([]string, len(a.Changed))
				for i, c := range a.Changed {
					names[i] = "`" + mdCode(strings.TrimPrefix(c, a.Migrations+"/")) + "`"
				}
				changed = strings.Join(names, "<br>")
			}
			schema := a.Schema
			if schema == "" {
				schema = "-"
			}
			fmt.Fprintf(&b, "| `%s` | %d file(s) | %s | %s | %d (%d error(s)) |\n", mdCode(a.Dir), len(a.History), changed, schema, n, e)
		}
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n| | where | rule | message |\n|---|---|---|---|\n")
		for _, f := range r.Findings {
			where := f.File
			if f.Line > 0 {
				where += fmt.Sprintf(":%d", f.Line)
				if f.Col > 0 {
					where += fmt.Sprintf(":%d", f.Col)
				}
			}
			rule := mdCell(f.Rule)
			if strings.HasPrefix(f.Rule, "SH") {
				if _, ok := lint.RuleByCode(f.Rule); ok {
					rule = fmt.Sprintf("[%s](%s#%s)", f.Rule, lint.DocsURL, strings.ToLower(f.Rule))
				}
			}
			msg := mdCell(f.Message)
			if f.Hint != "" {
				msg += " <br>*" + mdCell(f.Hint) + "*"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", f.Severity, mdCode(where), rule, msg)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell keeps text inside one table cell.
func mdCell(s string) string {
	return strings.NewReplacer("\r\n", "<br>", "\n", "<br>", "|", "\\|", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mdCode keeps text inside a code span within a table cell.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(s)
}
