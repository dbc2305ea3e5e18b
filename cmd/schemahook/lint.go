package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/internal/version"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
	"github.com/spf13/cobra"
)

// lintBlocked is the refusal when the lint policy blocks (exit 3, as in the hook Job).
type lintBlocked struct{ errors int }

func (e lintBlocked) Error() string {
	return fmt.Sprintf("lint policy blocked: %d error finding(s)", e.errors)
}
func (e lintBlocked) ExitCode() int { return 3 }

func init() { root.AddCommand(newLintCmd()) }

// newLintCmd builds the command afresh, so tests get flags without earlier runs' values.
func newLintCmd() *cobra.Command {
	var policy, output, since, format string
	var ruleFlags []string
	var lockTimeout bool
	cmd := &cobra.Command{
		Use:   "lint DIR",
		Short: "Lint the migrations in DIR for data loss, breaking changes and long locks",
		Long: "Lint every migration in DIR (or those newer than --since) with the real Postgres parser.\n" +
			"DIR is a migration directory, or an app directory holding schemahook.yaml, whose\n" +
			"migrations dir, format, lint policy and rules and apply.lockTimeout are then used\n" +
			"(flags given on the command line win).\n" +
			"Findings print as file:line:col: CODE message (hint); the exit code is 3 when the policy blocks.\n" +
			"A statement can be allowed with a comment on the line(s) directly above it:\n" +
			"  -- schemahook:allow SH102 the column has been unused since v3",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" && output != "sarif" {
				return usageError{fmt.Errorf("--output %q: want text, json or sarif", output)}
			}
			dir := args[0]
			var cfgRules []string
			if data, err := os.ReadFile(filepath.Join(dir, config.FileName)); err == nil {
				cfg, err := config.Load(filepath.Join(dir, config.FileName), data)
				if err != nil {
					return usageError{err}
				}
				dir = filepath.Join(dir, filepath.FromSlash(cfg.Spec.Migrations.Dir))
				flags := cmd.Flags()
				if !flags.Changed("format") && cfg.Spec.Migrations.Format != "" {
					format = cfg.Spec.Migrations.Format
				}
				if !flags.Changed("policy") && cfg.Spec.Lint.Policy != "" {
					policy = cfg.Spec.Lint.Policy
				}
				if !flags.Changed("lock-timeout") {
					d, err := time.ParseDuration(cfg.Spec.Apply.LockTimeout)
					lockTimeout = err == nil && d > 0
				}
				for code, lvl := range cfg.Spec.Lint.Rules {
					cfgRules = append(cfgRules, code+"="+lvl)
				}
				sort.Strings(cfgRules)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return usageError{fmt.Errorf("reading %s: %w", config.FileName, err)}
			}
			overrides := append(cfgRules, ruleFlags...)
			o := lint.DirOptions{Format: migrations.Format(format), Since: since}
			o.LockTimeout = lockTimeout
			lvl, err := lint.ParseLevel(policy)
			if err != nil {
				return usageError{fmt.Errorf("--policy: %w", err)}
			}
			o.Policy.Default = lvl
			for _, rf := range overrides {
				code, lvl, err := lint.ParseRule(rf)
				if err != nil {
					return usageError{fmt.Errorf("--rule: %w", err)}
				}
				if o.Policy.Rules == nil {
					o.Policy.Rules = map[string]lint.Level{}
				}
				o.Policy.Rules[code] = lvl
			}
			res, err := lint.Dir(dir, o)
			if err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			switch output {
			default:
				err = lint.WriteText(out, res)
			case "json":
				err = lint.WriteJSON(out, res)
			case "sarif":
				err = lint.WriteSARIF(out, res, version.Version)
			}
			if err != nil {
				return err
			}
			if res.Blocked {
				n := 0
				for _, f := range res.Findings {
					if f.Severity == lint.SeverityError {
						n++
					}
				}
				return lintBlocked{errors: n}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&policy, "policy", "error", "overall level: error (findings of error rules block), warn (report only) or off")
	f.StringVar(&output, "output", "text", "text, json or sarif")
	f.StringVar(&since, "since", "", "lint only files newer than this version; older files only tell which tables exist")
	f.StringArrayVar(&ruleFlags, "rule", nil, "override one rule, CODE=error|warn|off (repeatable)")
	f.StringVar(&format, "format", "auto", "directory format: auto, schemahook, golang-migrate, goose, flyway or dbmate")
	f.BoolVar(&lockTimeout, "lock-timeout", false, "lock_timeout is set by the runner (as apply.lockTimeout does), so files need not set it")
	return cmd
}
