package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// A process is one binary of the control plane (kube-controller-manager,
// Crossplane core, KWOK, ...) running in its own process group with its
// output in a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // exit status, valid after done
	// stopping is set once the harness stops the process on purpose, so
	// its exit is not reported as a crash.
	stopping atomic.Bool
}

// startProcess starts bin with args and env (added to ours) in its own
// process group, writing stdout and stderr to dir/<name>.log.
//
// Pdeathsig makes the kernel kill the process when the test binary dies
// without running its cleanups (e.g. on a `go test -timeout` panic); the
// process group lets Stop reach anything the process itself starts.
func startProcess(dir, name, bin string, args, env []string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	slog.Debug("started process", "name", name, "pid", cmd.Process.Pid, "log", logPath)
	return p, nil
}

// exited reports whether the process has ended, with its exit error.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, and SIGKILL when it has not
// exited within grace. It returns once the process is gone.
func (p *process) stop(grace time.Duration) {
	p.stopping.Store(true)
	if ok, _ := p.exited(); ok {
		// Long gone: its pid may belong to another process by now.
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		slog.Warn("process did not stop in time; killing it", "name", p.name, "grace", grace)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Anything the process started and left in its group. Right after the
	// leader exited, its pid cannot have been reused yet while the group
	// lives on.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tail returns the last n lines of the process log.
func (p *process) tail(n int) string { return tailFile(p.logPath, n) }

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePort asks the kernel for a free TCP port on the loopback interface.
// Another process may take it before we use it; the window is short and
// each harness binds its ports right after choosing them.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTPOK polls url until it answers 200, the process exits, or ctx ends.
func waitHTTPOK(ctx context.Context, p *process, url string) error {
	client := &http.Client{Timeout: time.Second}
	for {
		if ok, err := p.exited(); ok {
			return fmt.Errorf("%s exited before becoming ready (%v); last log lines:\n%s", p.name, err, p.tail(30))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if rsp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, rsp.Body)
			_ = rsp.Body.Close()
			if rsp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w; last log lines:\n%s", p.name, url, ctx.Err(), p.tail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
