package main

import (
	"io"
	"os"

	"github.com/schemahook/schemahook/plugin"
	"github.com/spf13/cobra"
)

func newGenerateCmd() *cobra.Command {
	// Generate writes the stream in one piece after everything rendered, so Argo CD never
	// sees half a stream.
	return pluginCmd("generate [DIR]",
		"Render DIR (default .) and the ARGOCD_* environment into the manifest stream (the CMP generate command)",
		plugin.Generate)
}

func newParametersCmd() *cobra.Command {
	return pluginCmd("parameters [DIR]",
		"Print the dynamic parameter announcement (JSON) for DIR (default .), for the Argo CD UI",
		func(w io.Writer, dir string, env plugin.Env) error {
			out, err := plugin.Announce(dir, env)
			if err != nil {
				return err
			}
			_, err = w.Write(out)
			return err
		})
}

// pluginCmd is a command the Argo CD plugin server runs: on DIR (default .), the app
// directory, with the ARGOCD_* environment; a refusal is a configuration error (exit 1).
func pluginCmd(use, short string, run func(w io.Writer, dir string, env plugin.Env) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := run(cmd.OutOrStdout(), dir, plugin.EnvFrom(os.Environ())); err != nil {
				return usageError{err}
			}
			return nil
		},
	}
}
