package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/schemahook/schemahook/devdb"
	"github.com/spf13/cobra"
)

// devdb is hidden: a throwaway Postgres for the README demo and the e2e module (which cannot
// import our packages). The URL is the first stdout line; SIGTERM/SIGINT stop and remove it.
// With --init-template it makes the data directory the dev servers of those binaries copy
// instead of running initdb (the image's build does, see the Dockerfile), and exits.
func newDevdbCmd() *cobra.Command {
	var dir, template string
	var port, major int
	cmd := &cobra.Command{
		Use:    "devdb",
		Short:  "Run a throwaway Postgres until SIGTERM, printing its URL first",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if template != "" {
				return devdb.InitTemplate(ctx, template, devdb.TemplateDir(template))
			}
			s, err := devdb.Start(ctx, devdb.Options{Dir: dir, Port: port, Major: major})
			if err != nil {
				return err
			}
			defer s.Stop()
			if _, err := fmt.Fprintln(cmd.OutOrStdout(), s.URL("postgres")); err != nil {
				return err
			}
			if f, ok := cmd.OutOrStdout().(*os.File); ok {
				f.Sync()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "schemahook devdb: Postgres (%s) running in %s; SIGTERM or Ctrl-C stops and removes it\n", s.BinDir(), s.Dir())
			<-ctx.Done()
			return s.Stop()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "parent directory of the server's temp dir (default $TMPDIR)")
	cmd.Flags().IntVar(&port, "port", 0, "also listen on 127.0.0.1:PORT (default: unix socket only)")
	cmd.Flags().IntVar(&major, "major", 0, "Postgres major version to run (default: the first found)")
	cmd.Flags().StringVar(&template, "init-template", "", "make the data directory that dev servers of the server binaries in `BINDIR` copy instead of running initdb (BINDIR/../schemahook-pgdata), and exit")
	return cmd
}
