package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/semver"
)

// Options of a package build.
type Options struct {
	// Root is the repository root.
	Root string
	// OutDir receives the artefacts (the Makefile uses _output).
	OutDir string
	// Version is a semantic version with a leading v, e.g. v0.1.0.
	Version string
	// Created dates the images (SOURCE_DATE_EPOCH; the Unix epoch when
	// unset), so rebuilding the same source gives the same digests.
	Created time.Time
	// CABundle defaults to HostCABundle.
	CABundle string
	// Crossplane is the path of the Crossplane CLI binary.
	Crossplane string
	// Log receives go build's output and progress lines.
	Log io.Writer
}

// Result names the files a build wrote.
type Result struct {
	// FunctionImage and PortalImage are the runtime image tarballs.
	FunctionImage, PortalImage string
	// Function and Configuration are the .xpkg files.
	Function, Configuration string
	// BinDir holds the static binaries that went into the images.
	BinDir string
}

// Package file names, shared by the Makefile's output and the tests.
const (
	FunctionPackage      = "function-aichat-workspace"
	ConfigurationPackage = "configuration-aichat-workspaces"
)

// Files returns where a build of version into outDir writes.
func Files(outDir, version string) Result {
	return Result{
		FunctionImage: ImageTarball(outDir, FunctionImage, version),
		PortalImage:   ImageTarball(outDir, PortalImage, version),
		Function:      filepath.Join(outDir, FunctionPackage+"-"+version+".xpkg"),
		Configuration: filepath.Join(outDir, ConfigurationPackage+"-"+version+".xpkg"),
		BinDir:        filepath.Join(outDir, "bin", Platform.OS+"-"+Platform.Architecture),
	}
}

// ImageTarball is where a build of version into outDir writes the image
// of spec: <name>-runtime-<os>-<arch>-<version>.tar.
func ImageTarball(outDir string, spec ImageSpec, version string) string {
	return filepath.Join(outDir, spec.Name()+"-runtime-"+Platform.OS+"-"+Platform.Architecture+"-"+version+".tar")
}

// Build builds the binaries and the runtime image of each of Images, the
// function package with the function's image embedded and the
// Configuration package.
func Build(ctx context.Context, o Options) (Result, error) {
	if !semver.IsValid(o.Version) || semver.Build(o.Version) != "" {
		// Build metadata ("+...") is not allowed in an image tag.
		return Result{}, fmt.Errorf("version %q is not a semantic version like v1.2.3 or v1.2.3-rc.1", o.Version)
	}
	if o.CABundle == "" {
		o.CABundle = HostCABundle
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	r := Files(o.OutDir, o.Version)
	step := func(what string, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(o.Log, "package: %s (%s)\n", what, time.Since(start).Round(10*time.Millisecond))
		return nil
	}

	for _, spec := range Images {
		if err := step("built "+spec.BinaryNames()+" for "+Platform.String(), func() error {
			return BuildBinaries(ctx, o.Root, r.BinDir, spec, Platform, o.Version, o.Log)
		}); err != nil {
			return r, err
		}
		tarball := ImageTarball(o.OutDir, spec, o.Version)
		if err := step("wrote the runtime image "+tarball, func() error {
			img, err := RuntimeImage(spec, ImageInput{BinDir: r.BinDir, CABundle: o.CABundle, Version: o.Version, Created: o.Created, Platform: Platform})
			if err != nil {
				return err
			}
			return WriteImage(tarball, spec.Repository, o.Version, img)
		}); err != nil {
			return r, err
		}
	}
	if err := step("wrote the function package "+r.Function, func() error {
		return BuildXpkg(ctx, o.Crossplane, XpkgArgs{
			PackageRoot:         filepath.Join(o.Root, "package", "function"),
			RuntimeImageTarball: r.FunctionImage,
			Out:                 r.Function,
		})
	}); err != nil {
		return r, err
	}
	if err := step("wrote the Configuration package "+r.Configuration, func() error {
		ex, err := configurationExamples(o.Root, o.OutDir)
		if err != nil {
			return err
		}
		return BuildXpkg(ctx, o.Crossplane, XpkgArgs{
			PackageRoot: filepath.Join(o.Root, "package", "configuration"),
			Examples:    ex,
			Out:         r.Configuration,
		})
	}); err != nil {
		return r, err
	}
	return r, nil
}

// ConfigurationExamples are the files of examples/ that show a platform
// team how to use the Configuration. The rest of examples/ (an XR with
// observed resources, the render Functions file) is test input for render.
var ConfigurationExamples = []string{"claim.yaml"}

// configurationExamples stages ConfigurationExamples in a directory of
// their own, since the CLI takes a whole directory.
func configurationExamples(root, outDir string) (string, error) {
	dir := filepath.Join(outDir, "examples", ConfigurationPackage)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range ConfigurationExamples {
		b, err := os.ReadFile(filepath.Join(root, "examples", f))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// CreatedFromEnv reads SOURCE_DATE_EPOCH (reproducible-builds.org), the
// Unix epoch when unset.
func CreatedFromEnv() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	var sec int64
	if _, err := fmt.Sscan(s, &sec); err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}
