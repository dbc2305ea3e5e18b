// Command schemahook renders migration directories into Argo CD manifests (generate) and runs
// them inside the PreSync hook Job (migrate). Each subcommand lives in its own file and only
// parses flags before calling a package function.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/gcfloor"
	"github.com/spf13/cobra"
)

// root is the top command with every subcommand. Each file's newXCmd builds its command
// afresh, so tests get flags without earlier runs' values.
var root = func() *cobra.Command {
	root := &cobra.Command{
		Use:           "schemahook",
		Short:         "GitOps database migrations for Argo CD",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newCheckCmd(), newDevdbCmd(), newGenerateCmd(), newHashCmd(), newLintCmd(),
		newMigrateCmd(), newNewCmd(), newParametersCmd(), newSchemaCmd(), newSealCmd(), newVersionCmd())
	return root
}()

// exitCoder is implemented by errors that carry their exit code (failure.ExitCode, listed
// in docs/architecture.md): *failure.Error and the command's own usageError and friends.
type exitCoder interface{ ExitCode() int }

// usageError marks a usage or configuration error (exit 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return int(failure.ExitUsage) }

// gcFloor is the heap every command allocates before its first garbage collection: what
// a render of a few thousand files or a nothing-to-do run over ten thousand needs.
const gcFloor = 32 << 20

func main() {
	gcfloor.Set(gcFloor)
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return int(failure.ExitOK)
	}
	fmt.Fprintln(os.Stderr, "schemahook:", err)
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return int(failure.ExitUsage)
}
