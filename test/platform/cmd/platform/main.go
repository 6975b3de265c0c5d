// Command platform runs AIChat Workspaces on this machine (`make run`): a
// local control plane with Crossplane and our function, the packages we
// ship, and the portal. Ctrl-C stops everything; the next run finds the
// claims, users and keys of the last one in the data directory.
//
//	go run ./test/platform/cmd/platform [-data-dir .work/platform] [-addr 127.0.0.1:8080] [-reset-admin]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aichatworkspaces/workspaces/test/platform"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(1)
	}
}

func run() error {
	defDir := ".work/platform"
	if root, err := toolchain.RepoRoot(); err == nil {
		defDir = filepath.Join(root, ".work", "platform")
	}
	dataDir := flag.String("data-dir", envOr("PLATFORM_DATA_DIR", defDir), "where the cluster's etcd, the portal's database, keys and logs are kept between runs (PLATFORM_DATA_DIR)")
	addr := flag.String("addr", envOr("PLATFORM_ADDR", "127.0.0.1:8080"), "the portal's listen address (PLATFORM_ADDR)")
	admin := flag.String("admin-email", platform.DefaultAdminEmail, "the admin account created on the first run")
	reset := flag.Bool("reset-admin", false, "give the admin a new generated password")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	fmt.Fprintf(os.Stderr, "platform: starting in %s (first run: builds the control plane binaries, minutes)\n", *dataDir)
	p, err := platform.Start(ctx, platform.Options{
		DataDir: *dataDir, Addr: *addr, AdminEmail: *admin, ResetAdmin: *reset, Log: os.Stderr,
	})
	if err != nil {
		return err
	}
	printBanner(os.Stdout, p, *dataDir, time.Since(started))
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "\nplatform: stopping (the data stays in", *dataDir+")")
	case <-p.Done():
		fmt.Fprintln(os.Stderr, "platform: the portal stopped:", p.Err())
	}
	// A second Ctrl-C during the stop should not leave processes behind:
	// keep handling it (stop() above restores the default on return).
	p.Stop()
	fmt.Fprintln(os.Stderr, "platform: stopped")
	return p.Err()
}

func printBanner(w io.Writer, p *platform.Platform, dataDir string, took time.Duration) {
	fmt.Fprintf(w, "\nAIChat Workspaces is running (ready in %s)\n\n", took.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  portal      %s   (API: %s/api/v1/openapi.json)\n", p.URL, p.URL)
	if p.AdminPassword != "" {
		fmt.Fprintf(w, "  admin       %s\n  password    %s   (shown once: keep it)\n", p.AdminEmail, p.AdminPassword)
	} else {
		fmt.Fprintf(w, "  admin       %s exists; its password was printed on the first run\n", p.AdminEmail)
		fmt.Fprintf(w, "              (make run ARGS=-reset-admin prints a new one)\n")
	}
	fmt.Fprintf(w, "  login       curl -s %s/api/v1/auth/login -d '{\"email\":\"%s\",\"password\":\"...\"}'\n", p.URL, p.AdminEmail)
	fmt.Fprintf(w, "  kubectl     export KUBECONFIG=%s\n", p.Kubeconfig)
	fmt.Fprintf(w, "              kubectl get aichatworkspaces -A\n")
	fmt.Fprintf(w, "  portal's    %s (claims only, portal/deploy/rbac.yaml)\n", p.PortalKubeconfig)
	fmt.Fprintf(w, "  data, logs  %s (rm -rf it to start afresh)\n\n", dataDir)
	fmt.Fprintf(w, "Ctrl-C stops everything.\n")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
