package controlplane

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// StartT starts a control plane for one test and stops it when the test
// ends; when the test failed, it first prints the tail of every process log.
func StartT(t testing.TB, o Options) *ControlPlane {
	t.Helper()
	if o.Log == nil {
		o.Log = tWriter{t}
	}
	cp, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("cannot start the control plane: %v", err)
	}
	t.Cleanup(cp.Stop)
	cp.DumpOnFailure(t)
	return cp
}

// DumpOnFailure prints the tail of every process log when t has failed, at
// the end of t. Tests sharing a control plane from TestMain call it first.
func (cp *ControlPlane) DumpOnFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			cp.dumped.Store(true)
			cp.DumpLogs(tWriter{t}, defaultLogTailLines)
		}
	})
}

// Main is a whole TestMain: it starts one control plane for the test binary
// into *cp, runs the tests, prints the process logs when any failed, stops
// the control plane and exits. An interrupt stops the control plane too.
//
//	var cp *controlplane.ControlPlane
//	func TestMain(m *testing.M) { controlplane.Main(m, options, &cp) }
func Main(m *testing.M, o Options, cp **ControlPlane) {
	flag.Parse()
	if testing.Short() && os.Getenv("CI") != "true" {
		// The tests skip themselves (SkipIfShort); don't pay for a start.
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var running atomic.Pointer[ControlPlane]
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		if c := running.Load(); c != nil {
			c.Stop()
		}
		os.Exit(130)
	}()
	start := time.Now()
	c, err := Start(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
	slog.Info("control plane started", "took", time.Since(start).Round(time.Millisecond))
	running.Store(c)
	*cp = c
	code := m.Run()
	signal.Stop(sig)
	if code != 0 && !c.dumped.Load() {
		c.DumpLogs(os.Stderr, defaultLogTailLines)
	}
	c.Stop()
	cancel()
	os.Exit(code)
}

// SkipIfShort skips a test that needs the control plane under -short,
// except in CI (CI=true), where skipping would hide a broken harness: there
// it fails instead.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if !testing.Short() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("end-to-end tests must not run with -short in CI (CI=true)")
	}
	t.Skip("skipped under -short: needs the end-to-end control plane (seconds to start, minutes on a cold build)")
}

// tWriter writes to a test's log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
