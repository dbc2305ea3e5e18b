package main

import (
	"fmt"

	"github.com/schemahook/schemahook/internal/version"
	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the image the hook Job runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "schemahook %s (image %s)\n", version.Version, version.Image())
			return err
		},
	}
}
