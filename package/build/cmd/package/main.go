// Command package builds the release artefacts into _output without Docker:
// the runtime image tarballs of the function and of the portal, the
// function package with the function's image embedded and the Configuration
// package (see package/build).
//
//	go run ./package/build/cmd/package [-version v0.1.0] [-out _output]
//
// SOURCE_DATE_EPOCH dates the images; the Unix epoch when unset.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/aichatworkspaces/workspaces/package/build"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	version := flag.String("version", build.DefaultVersion, "Version of the packages and the image tag (semver with a leading v).")
	out := flag.String("out", "_output", "Directory the artefacts are written to, relative to the repository root.")
	caBundle := flag.String("ca-bundle", build.HostCABundle, "PEM bundle copied into the images as "+build.CABundlePath+".")
	flag.Parse()

	start := time.Now()
	root, err := toolchain.RepoRoot()
	if err != nil {
		return err
	}
	created, err := build.CreatedFromEnv()
	if err != nil {
		return err
	}
	cli, err := toolchain.CrossplaneCLI.Path(ctx, os.Stderr)
	if err != nil {
		return err
	}
	outDir := *out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(root, outDir)
	}
	if *version != build.DefaultVersion {
		fmt.Fprintf(os.Stderr, "package: note: the Composition's model Job image and function.DefaultModelJobImage name %s:%s, not %s\n", build.FunctionImageRepository, build.DefaultVersion, *version)
		fmt.Fprintf(os.Stderr, "package: note: the portal chart's default image is %s:%s (its appVersion), not %s\n", build.PortalImageRepository, build.DefaultVersion, *version)
	}
	r, err := build.Build(ctx, build.Options{
		Root: root, OutDir: outDir, Version: *version, Created: created,
		CABundle: *caBundle, Crossplane: cli, Log: os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "package: done in %s\n", time.Since(start).Round(100*time.Millisecond))
	for _, p := range []string{r.FunctionImage, r.PortalImage, r.Function, r.Configuration} {
		fmt.Println(p)
	}
	return nil
}
