package main

import (
	"os"

	"github.com/schemahook/schemahook/plugin"
	"github.com/spf13/cobra"
)

func init() {
	root.AddCommand(&cobra.Command{
		Use:   "parameters [DIR]",
		Short: "Print the dynamic parameter announcement (JSON) for DIR (default .), for the Argo CD UI",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			out, err := plugin.Announce(dir, plugin.EnvFrom(os.Environ()))
			if err != nil {
				return usageError{err}
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
}
