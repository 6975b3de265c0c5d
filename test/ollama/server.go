// Package ollama runs a real Ollama server for tests: the binary is built
// from the module proxy by test/toolchain (cached across clones), each
// server gets its own HOME, OLLAMA_MODELS and free port, and a generated
// tiny GGUF model stands in for real ones, installable under any name
// (llama3.2:1b, ...). A registry stand-in lets a server really pull.
//
// Other suites (the portal's LLM gateway, the e2e harness) use it too.
package ollama

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// Server is a running `ollama serve`.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Addr is host:port, the form OLLAMA_HOST takes.
	Addr string
	// Models is the server's OLLAMA_MODELS directory.
	Models string
	// Client talks to the server.
	Client *api.Client

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// Binary returns the path of the Ollama binary, building it on first use
// (minutes; the recipe is in test/toolchain). Without the build's Debian
// headers (test/tools/ollama/deps.sh) the test is skipped, except in CI
// (CI=true), where it fails.
func Binary(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	p, err := toolchain.Ollama.Path(ctx, os.Stderr)
	if err != nil {
		missing(t, "cannot build ollama (run test/tools/ollama/deps.sh for its headers): %v", err)
	}
	return p
}

// missing skips t with the reason, or fails it in CI, where nothing may be
// skipped.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// FreeAddr reserves a free loopback port and returns it as host:port. The
// port is released at once, for a server started later (e.g. a test of
// waiting for a server that is not up yet).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Start runs `ollama serve` on a free port and waits until it answers. The
// server is stopped when the test ends; if the test failed, its log is
// printed.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartAt(t, FreeAddr(t))
}

// StartAt is Start on a given host:port.
func StartAt(t testing.TB, addr string) *Server {
	t.Helper()
	s := Launch(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatalf("ollama at %s did not come up: %v\n%s", addr, err, s.Logs())
	}
	return s
}

// Launch starts `ollama serve` on addr without waiting for it to answer.
func Launch(t testing.TB, addr string) *Server {
	t.Helper()
	bin := Binary(t)
	home := t.TempDir()
	s := &Server{
		URL:    "http://" + addr,
		Addr:   addr,
		Models: filepath.Join(home, "models"),
		logs:   &syncBuffer{},
		done:   make(chan struct{}),
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = api.NewClient(u, http.DefaultClient)
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = append(serverEnv(os.Environ()),
		"HOME="+home,
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+s.Models,
		// Keep runners few and short-lived: tests share two cores.
		"OLLAMA_NUM_PARALLEL=1",
		"OLLAMA_MAX_LOADED_MODELS=1",
		"OLLAMA_KEEP_ALIVE=30s",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("cannot start ollama: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ollama at %s logs:\n%s", addr, s.Logs())
		}
	})
	return s
}

// serverEnv drops the caller's OLLAMA_* settings so each server is
// configured only by us.
func serverEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, "OLLAMA_") {
			out = append(out, e)
		}
	}
	return out
}

// WaitReady polls the server's version until it answers.
func (s *Server) WaitReady(ctx context.Context) error {
	for {
		select {
		case <-s.done:
			return errors.New("ollama exited")
		default:
		}
		if _, err := s.Client.Version(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errors.New("ollama exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends the server with SIGTERM (which also stops its runners), and
// kills it if it has not exited after ten seconds. Stopping twice is fine.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }

// syncBuffer is a bytes.Buffer the server's output goroutines and the test
// can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// String names the server in messages.
func (s *Server) String() string { return fmt.Sprintf("ollama at %s", s.URL) }
