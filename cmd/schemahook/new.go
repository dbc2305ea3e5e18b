package main

import (
	"fmt"
	"time"

	"github.com/schemahook/schemahook/migrations"
	"github.com/spf13/cobra"
)

func newNewCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Create the next migration file, in the directory's own format",
		Long: `Create the next migration file in --dir: a timestamp version (or the next number in a
sequentially numbered directory, the next V<n> in a Flyway one) with the format's up and
down markers. An up-to-date schemahook.sum is rewritten to include the new file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := migrations.New(dir, args[0], time.Now())
			if err != nil {
				return usageError{err}
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), p)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "migrations", "migration directory (created when missing)")
	return cmd
}
