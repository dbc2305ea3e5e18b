package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schemahook/schemahook/plugin"
	"github.com/spf13/cobra"
)

func newSealCmd() *cobra.Command {
	var cert, name, namespace, key string
	cmd := &cobra.Command{
		Use:   "seal --cert FILE --name N --namespace NS --key K",
		Short: "Seal the value on stdin into a SealedSecret (strict scope) for the app directory",
		Long: `Reads one value (e.g. a database URL) from stdin, encrypts it with the sealed-secrets
controller's certificate for Secret N in namespace NS under key K, and prints the
SealedSecret YAML to commit. One trailing newline of the value is dropped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pem, err := os.ReadFile(cert)
			if err != nil {
				return usageError{fmt.Errorf("--cert: %w", err)}
			}
			value, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), plugin.MaxSealValueSize+1))
			if err != nil {
				return usageError{fmt.Errorf("stdin: %w", err)}
			}
			value = bytes.TrimSuffix(value, []byte("\n"))
			value = bytes.TrimSuffix(value, []byte("\r"))
			err = plugin.Seal(cmd.OutOrStdout(), plugin.SealRequest{
				CertPEM: pem, Name: name, Namespace: namespace, Key: key, Value: value, Now: time.Now(),
			})
			if err != nil {
				return usageError{err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cert, "cert", "", "the sealed-secrets controller's certificate (PEM; `kubeseal --fetch-cert`)")
	cmd.Flags().StringVar(&name, "name", "", "name of the Secret (and SealedSecret)")
	cmd.Flags().StringVar(&namespace, "namespace", "", "namespace the Secret lives in (the Application's destination)")
	cmd.Flags().StringVar(&key, "key", "url", "key of the value in the Secret")
	for _, f := range []string{"cert", "name", "namespace"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}
