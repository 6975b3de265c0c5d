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

// BuildBinaries builds Binaries for platform into dir with one `go build`,
// so the two programs' shared dependencies compile once and in parallel.
// It reuses the user's Go build cache: a warm rebuild only links.
func BuildBinaries(ctx context.Context, root, dir string, platform v1.Platform, version string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := append([]string{"build"}, GoBuildFlags(version)...)
	// A trailing separator makes -o a directory for several packages.
	args = append(args, "-o", dir+string(filepath.Separator))
	for _, b := range Binaries {
		args = append(args, b.Package)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), GoBuildEnv...)
	cmd.Env = append(cmd.Env, "GOOS="+platform.OS, "GOARCH="+platform.Architecture)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %v (in %s): %w", args, root, err)
	}
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(dir, b.Name())); err != nil {
			return fmt.Errorf("go build wrote no %s: %w", b.Name(), err)
		}
	}
	return nil
}
