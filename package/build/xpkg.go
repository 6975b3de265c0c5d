package build

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
)

// XpkgArgs are the inputs of one `crossplane xpkg build`.
type XpkgArgs struct {
	// PackageRoot holds crossplane.yaml and the package's other YAML.
	PackageRoot string
	// Examples is a directory of example manifests shipped in the package
	// (shown by package registries); empty for none.
	Examples string
	// RuntimeImageTarball is embedded as the package's runtime (functions
	// and providers); empty for a Configuration.
	RuntimeImageTarball string
	// Out is the .xpkg file written.
	Out string
}

// BuildXpkg runs the Crossplane CLI at cli to build one package. The CLI
// lints the package as Crossplane's package manager would (exactly one meta
// object, only the kinds the package type may carry), so a malformed
// package fails here rather than at install time.
func BuildXpkg(ctx context.Context, cli string, a XpkgArgs) error {
	args := []string{"xpkg", "build",
		"--package-root=" + a.PackageRoot,
		"--package-file=" + a.Out,
		// The CLI defaults --examples-root to ./examples of the working
		// directory, which at the repository root is render's test data;
		// always say which examples, if any, belong in the package.
		"--examples-root=" + a.examplesRoot(),
	}
	if a.RuntimeImageTarball != "" {
		args = append(args, "--embed-runtime-image-tarball="+a.RuntimeImageTarball)
	}
	cmd := exec.CommandContext(ctx, cli, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("crossplane %v: %w\n%s", args, err, out.Bytes())
	}
	return nil
}

// examplesRoot is a directory that does not exist when there are no
// examples: the CLI then writes no examples layer.
func (a XpkgArgs) examplesRoot() string {
	if a.Examples != "" {
		return a.Examples
	}
	return a.Out + ".no-examples"
}
