package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/migrations"
	"github.com/spf13/cobra"
)

// integrityError is a stale or missing sum file (exit 4: history or integrity error).
type integrityError struct{ err error }

func (e integrityError) Error() string { return e.err.Error() }
func (e integrityError) Unwrap() error { return e.err }
func (e integrityError) ExitCode() int { return int(failure.ExitHistory) }

func newHashCmd() *cobra.Command {
	var check bool
	var format string
	cmd := &cobra.Command{
		Use:   "hash DIR",
		Short: "Write or verify DIR/schemahook.sum, the integrity file of a migration directory",
		Long: `Write DIR/schemahook.sum, which pins the bytes of every migration file in DIR, after
reviewing a change. With --check, verify it instead: exit 4 naming every file added,
changed or removed since it was written (or when there is none).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			r, err := os.OpenRoot(dir)
			if err != nil {
				return usageError{fmt.Errorf("migration directory: %w", err)}
			}
			defer r.Close()
			if _, err := r.Stat("schemahook.yaml"); err == nil {
				return usageError{fmt.Errorf("%s holds schemahook.yaml: pass its migrations directory (e.g. %s)", dir, filepath.Join(dir, "migrations"))}
			}
			opts := migrations.Options{Format: migrations.Format(format), Path: filepath.ToSlash(dir)}
			if !check {
				if err := migrations.WriteSum(r, opts); err != nil {
					return readError(err)
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", filepath.Join(dir, migrations.SumFileName))
				return err
			}
			d, err := migrations.Read(r.FS(), opts)
			if err != nil {
				return readError(err)
			}
			if d.Sum == nil {
				return integrityError{fmt.Errorf("%s: no %s; review the migrations, then run `schemahook hash %s`", dir, migrations.SumFileName, dir)}
			}
			if err := d.CheckSum(); err != nil {
				return integrityError{err}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date (%d migrations)\n", filepath.Join(dir, migrations.SumFileName), len(d.Files))
			return err
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "verify the sum file instead of writing it (exit 4 when stale)")
	cmd.Flags().StringVar(&format, "format", string(config.DefaultFormat), "directory format: "+enum.Or(migrations.Formats))
	return cmd
}

// readError makes a refused migration directory a configuration error (exit 1); the
// message already names the file, line and rule.
func readError(err error) error {
	var me *failure.Error
	if errors.As(err, &me) || errors.Is(err, fs.ErrNotExist) {
		return usageError{err}
	}
	return err
}
