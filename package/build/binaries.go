package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BuildBinaries builds the binaries of spec for platform into dir with one
// `go build`, so the programs' shared dependencies compile once and in
// parallel. It reuses the user's Go build cache: a warm rebuild only links.
func BuildBinaries(ctx context.Context, root, dir string, spec ImageSpec, platform v1.Platform, version string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := append([]string{"build"}, spec.GoBuildFlags(version)...)
	// A trailing separator makes -o a directory for several packages.
	args = append(args, "-o", dir+string(filepath.Separator))
	for _, b := range spec.Binaries {
		args = append(args, b.Package)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	// GoBuildFlags are the whole set of flags: the Makefile's GOFLAGS
	// (-tags=nomsgpack) would otherwise reach the function's build and be
	// recorded in its build info, so `make package`, `go test` and the
	// Dockerfile (whose golang image has no GOFLAGS) would ship different
	// bytes.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	cmd.Env = append(cmd.Env, GoBuildEnv...)
	cmd.Env = append(cmd.Env, "GOOS="+platform.OS, "GOARCH="+platform.Architecture)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %v (in %s): %w", args, root, err)
	}
	for _, b := range spec.Binaries {
		if _, err := os.Stat(filepath.Join(dir, b.Name())); err != nil {
			return fmt.Errorf("go build wrote no %s: %w", b.Name(), err)
		}
	}
	return nil
}
