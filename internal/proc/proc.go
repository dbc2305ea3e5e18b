// Package proc starts child processes that must not outlive this one: Postgres servers and
// other throwaway services that tests and the hook start.
package proc

import (
	"os/exec"
	"runtime"
)

// StartLocked starts cmd from a locked OS thread that then waits for it, closing exited when
// the process ends. Pdeathsig (in cmd.SysProcAttr) fires when the thread that started the
// child ends, not the process, so the starting thread must live as long as the child.
func StartLocked(cmd *exec.Cmd, exited chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	return <-started
}
