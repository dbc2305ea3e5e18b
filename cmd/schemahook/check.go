package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/internal/version"
	"github.com/schemahook/schemahook/review"
	"github.com/schemahook/schemahook/schema"
	"github.com/spf13/cobra"
)

// checkFailed is a check with error findings; the exit code is the first failing stage's,
// as the hook Job would exit: 1 config, 4 history or integrity, 3 lint policy.
type checkFailed struct {
	code   failure.ExitCode
	errors int
}

func (e checkFailed) Error() string {
	return fmt.Sprintf("check failed: %d error finding(s)", e.errors)
}
func (e checkFailed) ExitCode() int { return int(e.code) }

// checkFlags are the command's flags as given.
type checkFlags struct {
	lintFlags
	base, summary string
	changed       bool
}

// schemaFreshness checks APPDIR/schema.sql for check: the checksum its header records
// against the directory's, as the render does (a variable so tests can replace it).
var schemaFreshness review.SchemaFreshness = schema.Fresh

func newCheckCmd() *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check APPDIR...",
		Short: "Check app directories for a pull request: everything the render and the hook would refuse without a database",
		Long: "Check each APPDIR (a directory holding schemahook.yaml, or a bare migration directory) the way\n" +
			"the render and the hook Job would, without a database: the config, the files' formats and\n" +
			"order, the sum file, the lint policy, schema.sql when present.\n" +
			"With --git-base REF the files REF has are the history: they are read for which tables exist\n" +
			"and never linted, and one edited or removed since is refused (exit 4) as the hook would\n" +
			"refuse it once REF is applied; the files added since are the change and are linted (exit 3).\n" +
			"Without --git-base every file is linted, as `schemahook lint` does.\n" +
			"With --changed the arguments are searched for app directories and only those with a file\n" +
			"differing from REF are checked (default: the current directory).\n" +
			"Exit: 0 passed, 1 usage or config, 3 lint policy, 4 history or integrity.\n" +
			"CI setup (GitHub Actions, GitLab CI, pre-commit): docs/ci.md.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(review.Outputs, fl.output) {
				return usageError{fmt.Errorf("--output %q: want %s", fl.output, enum.Or(review.Outputs))}
			}
			warnDeprecated(cmd)
			if len(args) == 0 {
				if !fl.changed {
					return usageError{fmt.Errorf("give an app directory (or --changed)")}
				}
				args = []string{"."}
			}
			rep, err := review.Run(args, review.Options{
				Base: fl.base, Since: fl.since, Changed: fl.changed,
				Lint:            overrides(cmd, fl.lintFlags),
				SchemaFreshness: schemaFreshness,
			})
			if err != nil {
				return usageError{err}
			}
			if err := review.Write(cmd.OutOrStdout(), fl.output, rep, version.Version); err != nil {
				return err
			}
			if fl.summary != "" {
				if err := appendSummary(fl.summary, rep); err != nil {
					return err
				}
			}
			if rep.ExitCode != 0 {
				n := 0
				for _, f := range rep.Findings {
					if f.Severity == "error" {
						n++
					}
				}
				return checkFailed{code: rep.ExitCode, errors: n}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.base, "git-base", "", "Git revision whose files are the history (e.g. origin/main); files added since are the change")
	f.BoolVar(&fl.changed, "changed", false, "check only the app directories under the arguments with files changed since --git-base")
	f.StringVar(&fl.output, "output", review.OutputText, enum.Or(review.Outputs)+" (github: workflow commands that annotate the pull request)")
	f.StringVar(&fl.summary, "summary", "", "also append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)")
	f.StringVar(&fl.since, "since", "", "without --git-base: files up to this version are the history")
	addPolicyFlags(f, &fl.lintFlags)
	return cmd
}

// appendSummary appends the Markdown summary to file, as $GITHUB_STEP_SUMMARY expects.
func appendSummary(file string, rep *review.Report) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("--summary: %w", err)
	}
	if err := review.WriteMarkdown(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("--summary: %w", err)
	}
	return f.Close()
}
