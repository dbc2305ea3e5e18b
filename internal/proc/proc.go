// Package proc starts child processes that must not outlive this one: Postgres servers and
// other throwaway services that tests and the hook start.
package proc

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// Unprivileged returns the credential to run a server with: none when not root, else the
// `postgres` user, else `nobody`, because initdb, postgres and PgBouncer refuse to run as root.
func Unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
		}
	}
	return nil, errors.New("running as root, and there is no `postgres` or `nobody` user to run the server as")
}

// Tail keeps the last bytes a child process writes (its log), safe for concurrent writes, so
// a chatty process cannot grow memory and an error can quote how it ended.
type Tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

// NewTail keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (b *Tail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

// Bytes is a copy of what is kept.
func (b *Tail) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}

// String is what is kept, without surrounding space.
func (b *Tail) String() string { return strings.TrimSpace(string(b.Bytes())) }
