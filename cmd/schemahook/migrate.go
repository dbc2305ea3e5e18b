package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schemahook/schemahook/hooks"
	"github.com/schemahook/schemahook/migrations"
	"github.com/spf13/cobra"
)

// defaultTerminationLog is where Kubernetes reads a container's termination message.
const defaultTerminationLog = "/dev/termination-log"

func init() {
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Validate and apply migrations to a database (what the PreSync hook Job runs)",
	}
	var o hooks.Options
	var format string
	f := migrate.PersistentFlags()
	f.StringVar(&o.Dir, "dir", "migrations", "migration directory")
	f.StringVar(&format, "format", "auto", "directory format: auto, schemahook, golang-migrate, goose, flyway, dbmate")
	// URL defaults are read from the environment at run time, not shown as flag defaults:
	// --help must never print a password.
	f.StringVar(&o.URL, "url", "", "target database URL (default $DATABASE_URL)")
	f.StringVar(&o.DevURL, "dev-url", "", "dev database: ephemeral, none, or a dev server URL (default $SCHEMAHOOK_DEV_URL, else ephemeral)")
	f.StringVar(&o.Lint, "lint", "error", "lint policy: error, warn or off")
	f.StringArrayVar(&o.LintRules, "lint-rule", nil, "per-rule lint level CODE=error|warn|off (repeatable)")
	f.StringVar(&o.TxMode, "tx-mode", "file", "transactions: file (one per file), all (one for the run) or none")
	f.DurationVar(&o.LockTimeout, "lock-timeout", 10*time.Second, "how long to wait for the migration lock; also the SQL lock_timeout")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "limit for the whole run; also the SQL statement_timeout")
	f.IntVar(&o.LockRetries, "lock-retries", 5, "retries of a statement or transactional file that failed only on lock_timeout (0: none)")
	f.DurationVar(&o.LockRetryWait, "lock-retry-wait", time.Second, "wait before the first lock retry, doubled per retry (with jitter)")
	f.DurationVar(&o.LockRetryMaxWait, "lock-retry-max-wait", 30*time.Second, "longest wait between lock retries")
	f.DurationVar(&o.ProgressInterval, "progress-interval", 10*time.Second, "how often a long statement logs its progress")
	f.DurationVar(&o.ConnectTimeout, "connect-timeout", time.Minute, "how long to retry connecting while the database is unreachable")
	f.BoolVar(&o.AllowOutOfOrder, "allow-out-of-order", false, "apply files older than the newest applied one")
	f.StringVar(&o.Baseline, "baseline", "", "mark files up to VERSION as applied without running them")
	f.StringVar(&o.ResumePartial, "resume-partial", "", "after checking the database, run the rest of the partially applied file VERSION")
	f.StringVar(&o.RevisionsSchema, "revisions-schema", "schemahook", "schema of the revisions table and key of the lock")
	f.StringVar(&o.Drift, "drift", "warn", "drift policy: error (exit 7, nothing applied), warn or off")
	f.StringVar(&o.SchemaFile, "schema-file", "", "schema.sql the target must match after apply (policy --drift)")
	f.StringVar(&o.Output, "output", "text", "summary on stdout: text or json")
	f.StringVar(&o.TerminationLog, "termination-log", "", "write the summary here (default /dev/termination-log when it exists)")
	f.StringVar(&o.App, "app", os.Getenv("SCHEMAHOOK_APP"), "Argo CD app recorded with each revision (default $SCHEMAHOOK_APP)")
	f.StringVar(&o.GitRevision, "git-revision", os.Getenv("SCHEMAHOOK_REVISION"), "Git revision recorded with each revision (default $SCHEMAHOOK_REVISION)")
	f.MarkHidden("connect-timeout")

	run := func(mode hooks.Mode) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			opts := o
			if opts.URL == "" {
				opts.URL = os.Getenv("DATABASE_URL")
			}
			if opts.DevURL == "" {
				opts.DevURL = envOr("SCHEMAHOOK_DEV_URL", "ephemeral")
			}
			opts.Format = migrations.Format(format)
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if !cmd.Flags().Changed("termination-log") {
				if _, err := os.Stat(defaultTerminationLog); err == nil {
					opts.TerminationLog = defaultTerminationLog
				}
			}
			if mode < 0 {
				return hooks.Status(ctx, opts)
			}
			return hooks.Run(ctx, mode, opts)
		}
	}
	migrate.AddCommand(
		&cobra.Command{Use: "plan", Short: "Verify, replay on a dev database and lint; apply nothing", Args: cobra.NoArgs, RunE: run(hooks.ModePlan)},
		&cobra.Command{Use: "apply", Short: "Verify, replay on a dev database, lint, then apply pending migrations", Args: cobra.NoArgs, RunE: run(hooks.ModeApply)},
		&cobra.Command{Use: "drift", Short: "Verify, then compare the target's schema with the one its applied migrations build; apply nothing", Args: cobra.NoArgs, RunE: run(hooks.ModeDrift)},
		&cobra.Command{Use: "status", Short: "Show applied, pending and partial migrations from the revisions table", Args: cobra.NoArgs, RunE: run(-1)},
	)
	root.AddCommand(migrate)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
