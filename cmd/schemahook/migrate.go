package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/hooks"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
	"github.com/spf13/cobra"
)

// defaultTerminationLog is where Kubernetes reads a container's termination message.
const defaultTerminationLog = "/dev/termination-log"

func newMigrateCmd() *cobra.Command {
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Validate and apply migrations to a database (what the PreSync hook Job runs)",
	}
	var o hooks.Options
	var format string
	f := migrate.PersistentFlags()
	f.StringVar(&o.Dir, "dir", config.DefaultMigrationsDir, "migration directory")
	f.StringVar(&format, "format", string(config.DefaultFormat), "directory format: "+enum.Or(migrations.Formats))
	// URL defaults are read from the environment at run time, not shown as flag defaults:
	// --help must never print a password.
	f.StringVar(&o.URL, "url", "", "target database URL (default $DATABASE_URL)")
	f.StringVar(&o.DevURL, "dev-url", "", "dev database: "+config.DevEphemeral+", "+config.DevNone+", or a dev server URL (default $SCHEMAHOOK_DEV_URL, else "+config.DefaultDevMode+")")
	f.StringVar(&o.Lint, "lint", string(config.DefaultLintPolicy), "lint policy: "+enum.Or(lint.Levels))
	f.StringArrayVar(&o.LintRules, "lint-rule", nil, "per-rule lint level CODE="+enum.Join(lint.Levels, "|")+" (repeatable)")
	f.StringVar(&o.LintSmallTable, "lint-small-table", "", "ROWS:SIZE (e.g. 10000:10MB): lock-heavy lint errors on existing tables under both are warnings (default off)")
	f.StringVar((*string)(&o.TxMode), "tx-mode", string(config.DefaultTxMode), "transactions: file (one per file), all (one for the run) or none")
	f.DurationVar(&o.LockTimeout, "lock-timeout", config.DefaultLockTimeout, "how long to wait for the migration lock; also the SQL lock_timeout")
	f.DurationVar(&o.Timeout, "timeout", config.DefaultTimeout, "limit for the whole run; also the SQL statement_timeout")
	f.IntVar(&o.LockRetries, "lock-retries", config.DefaultLockRetries, "retries of a statement or transactional file that failed only on lock_timeout (0: none)")
	f.DurationVar(&o.LockRetryWait, "lock-retry-wait", config.DefaultLockRetryWait, "wait before the first lock retry, doubled per retry (with jitter)")
	f.DurationVar(&o.LockRetryMaxWait, "lock-retry-max-wait", config.DefaultLockRetryMaxWait, "longest wait between lock retries")
	f.DurationVar(&o.ProgressInterval, "progress-interval", config.DefaultProgressInterval, "how often a long statement logs its progress")
	f.DurationVar(&o.ConnectTimeout, "connect-timeout", config.DefaultConnectTimeout, "how long to retry connecting while the database is unreachable")
	f.BoolVar(&o.AllowOutOfOrder, "allow-out-of-order", false, "apply files older than the newest applied one")
	f.StringVar(&o.Baseline, "baseline", "", "mark files up to VERSION as applied without running them")
	f.StringVar(&o.ResumePartial, "resume-partial", "", "after checking the database, run the rest of the partially applied file VERSION")
	f.StringVar(&o.RevisionsSchema, "revisions-schema", config.DefaultRevisionsSchema, "schema of the revisions table and key of the lock")
	f.StringVar(&o.Drift, "drift", string(config.DefaultDriftPolicy), "drift policy: error (exit 7, nothing applied), warn or off")
	f.StringVar(&o.SchemaFile, "schema-file", "", "schema.sql the target must match after apply (policy --drift)")
	f.StringVar(&o.Output, "output", hooks.OutputText, "summary on stdout: "+hooks.OutputText+" or "+hooks.OutputJSON)
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
				opts.DevURL = envOr("SCHEMAHOOK_DEV_URL", config.DefaultDevMode)
			}
			opts.Format = migrations.Format(format)
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if !cmd.Flags().Changed("termination-log") {
				if _, err := os.Stat(defaultTerminationLog); err == nil {
					opts.TerminationLog = defaultTerminationLog
				}
			}
			return hooks.Run(ctx, mode, opts)
		}
	}
	migrate.AddCommand(
		&cobra.Command{Use: "plan", Short: "Verify, replay on a dev database and lint; apply nothing", Args: cobra.NoArgs, RunE: run(hooks.ModePlan)},
		&cobra.Command{Use: "apply", Short: "Verify, replay on a dev database, lint, then apply pending migrations", Args: cobra.NoArgs, RunE: run(hooks.ModeApply)},
		&cobra.Command{Use: "drift", Short: "Verify, then compare the target's schema with the one its applied migrations build; apply nothing", Args: cobra.NoArgs, RunE: run(hooks.ModeDrift)},
		&cobra.Command{Use: "status", Short: "Show applied, pending and partial migrations from the revisions table", Args: cobra.NoArgs, RunE: run(hooks.ModeStatus)},
	)
	return migrate
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
