package main

import (
	"fmt"
	"slices"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/internal/version"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/review"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// lintBlocked is the refusal when the lint policy blocks (exit 3, as in the hook Job).
type lintBlocked struct{ errors int }

func (e lintBlocked) Error() string {
	return fmt.Sprintf("lint policy blocked: %d error finding(s)", e.errors)
}
func (e lintBlocked) ExitCode() int { return int(failure.ExitLint) }

// assumeLockTimeoutFlag says that the runner sets lock_timeout, as the hook does from
// apply.lockTimeout, so SH310 need not ask each file to.
const assumeLockTimeoutFlag = "assume-lock-timeout"

// lintFlags are the command's flags as given.
type lintFlags struct {
	policy, output, since, format string
	rules                         []string
	lockTimeout                   bool
}

func newLintCmd() *cobra.Command {
	var fl lintFlags
	cmd := &cobra.Command{
		Use:   "lint DIR",
		Short: "Lint the migrations in DIR for data loss, breaking changes and long locks",
		Long: `Lint every migration in DIR (or those newer than --since) with the real Postgres parser.
DIR is a migration directory, or an app directory holding schemahook.yaml, whose
migrations dir, format, lint policy and rules and apply.lockTimeout are then used
(flags given on the command line win).
Findings print as file:line:col: CODE message (hint); the exit code is 3 when the policy blocks.
A statement can be allowed with a comment on the line(s) directly above it:
  -- schemahook:allow SH102 the column has been unused since v3
Rules: docs/lint.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(lint.Outputs, fl.output) {
				return usageError{fmt.Errorf("--output %q: want %s", fl.output, enum.Or(lint.Outputs))}
			}
			warnDeprecated(cmd)
			// lint is check's variant that applies the lint policy and nothing else.
			rep, err := review.Run(args, review.Options{Since: fl.since, LintOnly: true, Lint: overrides(cmd, fl)})
			if err != nil {
				return usageError{err}
			}
			res := lint.Result{Findings: []lint.Finding{}, Blocked: rep.Blocked()}
			for _, f := range rep.Findings {
				res.Findings = append(res.Findings, lint.Finding{File: f.File, Line: f.Line, Col: f.Col,
					Code: f.Rule, Severity: f.Severity, Message: f.Message, Hint: f.Hint})
			}
			return writeLint(cmd, fl.output, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.output, "output", lint.OutputText, enum.Or(lint.Outputs))
	f.StringVar(&fl.since, "since", "", "lint only files newer than this version; older files only tell which tables exist")
	addPolicyFlags(f, &fl)
	return cmd
}

// addPolicyFlags adds the flags lint and check share: the lint policy and the directory's
// format, each overriding schemahook.yaml when given.
func addPolicyFlags(f *pflag.FlagSet, fl *lintFlags) {
	f.StringVar(&fl.policy, "policy", string(config.DefaultLintPolicy), "overall level: error (findings of error rules block), warn (report only) or off")
	f.StringArrayVar(&fl.rules, "rule", nil, "override one rule, CODE="+enum.Join(lint.Levels, "|")+" (repeatable)")
	f.StringVar(&fl.format, "format", string(config.DefaultFormat), "directory format: "+enum.Or(migrations.Formats))
	f.BoolVar(&fl.lockTimeout, assumeLockTimeoutFlag, false, "lock_timeout is set by the runner (as apply.lockTimeout does), so files need not set it")
	// --lock-timeout was this flag's first name; on migrate the same name is a duration. It
	// still works, hidden, with a note on stderr (pflag's MarkDeprecated would print on
	// stdout, into JSON and SARIF output).
	f.BoolVar(&fl.lockTimeout, "lock-timeout", false, "deprecated: use --"+assumeLockTimeoutFlag)
	f.MarkHidden("lock-timeout")
}

// warnDeprecated notes on stderr that the old spelling of --assume-lock-timeout was used.
func warnDeprecated(cmd *cobra.Command) {
	if cmd.Flags().Changed("lock-timeout") {
		fmt.Fprintf(cmd.ErrOrStderr(), "schemahook %s: --lock-timeout is deprecated, use --%s (on migrate, --lock-timeout is a duration)\n", cmd.Name(), assumeLockTimeoutFlag)
	}
}

// overrides are the lint flags the user set; the others keep schemahook.yaml's values.
func overrides(cmd *cobra.Command, fl lintFlags) review.Overrides {
	changed := cmd.Flags().Changed
	var o review.Overrides
	if changed("format") {
		o.Format = fl.format
	}
	if changed("policy") {
		o.Policy = fl.policy
	}
	if changed(assumeLockTimeoutFlag) || changed("lock-timeout") {
		o.LockTimeout = &fl.lockTimeout
	}
	o.Rules = fl.rules
	return o
}

// writeLint prints the result and turns a blocking one into exit code 3.
func writeLint(cmd *cobra.Command, output string, res lint.Result) error {
	out := cmd.OutOrStdout()
	var err error
	switch output {
	case lint.OutputJSON:
		err = lint.WriteJSON(out, res)
	case lint.OutputSARIF:
		err = lint.WriteSARIF(out, res, version.Version)
	default:
		err = lint.WriteText(out, res)
	}
	if err != nil {
		return err
	}
	errs := 0
	for _, f := range res.Findings {
		if f.Severity == lint.SeverityError {
			errs++
		}
	}
	if output == lint.OutputText && !res.Blocked {
		fmt.Fprintf(cmd.ErrOrStderr(), "schemahook lint: %d finding(s), none blocking\n", len(res.Findings))
	}
	if res.Blocked {
		return lintBlocked{errors: errs}
	}
	return nil
}
