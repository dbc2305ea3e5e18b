package main

import (
	"errors"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/schemahook/schemahook/schema"
	"github.com/spf13/cobra"
)

func newSchemaCmd() *cobra.Command {
	var check bool
	var o schema.BuildOptions
	cmd := &cobra.Command{
		Use:   "schema APPDIR",
		Short: "Write or verify APPDIR/schema.sql, the schema the migrations build",
		Long: `Replay APPDIR's migrations on a throwaway Postgres and write APPDIR/schema.sql: the
resulting schema, normalised (the same on every run and Postgres major 14 to 18), with
the directory checksum it was built from. Commit it: pull requests and the Argo CD diff
then show the schema change. With --check, verify it instead: exit 4 when it is
missing or stale, naming what differs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			o.Log = func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "schemahook:", msg) }
			file, err := schema.Refresh(ctx, args[0], check, o)
			switch {
			case errors.Is(err, schema.ErrStale):
				return integrityError{err}
			case err != nil:
				return readError(err)
			case check:
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date\n", file)
			default:
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", file)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "verify schema.sql instead of writing it (exit 4 when missing or stale)")
	cmd.Flags().StringVar(&o.DevURL, "dev-url", "ephemeral", "where to replay: ephemeral (a throwaway Postgres) or a dev server URL")
	cmd.Flags().IntVar(&o.Major, "major", 0, "Postgres major of the ephemeral server (default: the first found)")
	return cmd
}
