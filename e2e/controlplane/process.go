package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one started program with its own process group, so stopping it also stops
// anything it spawned, and with its output kept in a log file for failure reports.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProcess runs bin with args in a new process group, output to dir/<name>.log.
// Pdeathsig makes the kernel kill it if the test binary dies without cleaning up.
func startProcess(dir, name, bin string, args []string, cred *syscall.Credential) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, with its wait error.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop sends sig to the whole process group, then SIGKILL after grace, and waits for the end.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	if done, _ := p.exited(); done {
		killGroup(p.cmd.Process.Pid, syscall.SIGKILL)
		return
	}
	killGroup(p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		killGroup(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlived the leader still belong to the group.
	killGroup(p.cmd.Process.Pid, syscall.SIGKILL)
}

func killGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}

// logTail returns the last lines of the process's log, for error messages.
func (p *process) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// portMu serialises port picking within this process so two components never get the same one.
var (
	portMu    sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsUsed[port] {
			portsUsed[port] = true
			return port, nil
		}
	}
	return 0, errors.New("find a free port: no new port after 20 tries")
}

// waitFor polls check until it succeeds, the process dies, or the timeout passes.
func waitFor(p *process, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited (%v); log:\n%s", p.name, err, p.logTail())
		}
		if last = check(); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v; log:\n%s", p.name, timeout, last, p.logTail())
}

// Go runs f in a goroutine that wg waits for: sync.WaitGroup.Go, which this module's Go
// version (1.24, for Argo CD v2) does not have yet.
func Go(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}
