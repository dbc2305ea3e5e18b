package main

import (
	"os"

	"github.com/schemahook/schemahook/plugin"
	"github.com/spf13/cobra"
)

func init() {
	root.AddCommand(&cobra.Command{
		Use:   "generate [DIR]",
		Short: "Render DIR (default .) and the ARGOCD_* environment into the manifest stream (the CMP generate command)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			// Generate writes the stream in one piece after everything rendered, so Argo CD
			// never sees half a stream.
			if err := plugin.Generate(cmd.OutOrStdout(), dir, plugin.EnvFrom(os.Environ())); err != nil {
				return usageError{err}
			}
			return nil
		},
	})
}
