// Package render runs `crossplane composition render` — the real Crossplane
// composition engine (core v2.4.0 through --crossplane-binary, no Docker) —
// against our function served in-process on a free local port.
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/grpc"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// Options of one render.
type Options struct {
	XR          string // path of the XR to render
	Composition string // path of the Composition
	Functions   string // path of the Functions file (examples/functions.yaml)
	Observed    string // optional: observed composed resources
	Required    string // optional: resources the function requires
	// IncludeFullXR prints the XR with its spec (for validation).
	IncludeFullXR bool
	// IncludeResults prints the function's results.
	IncludeResults bool
	// Log receives progress (tool builds).
	Log io.Writer
}

// Run renders with fn serving the function and returns stdout. A fatal
// result is an error carrying Crossplane's message.
func Run(ctx context.Context, fn fnv1.FunctionRunnerServiceServer, o Options) ([]byte, error) {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	cli, err := toolchain.CrossplaneCLI.Path(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	core, err := toolchain.CrossplaneCore.Path(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	addr, stop, err := Serve(fn)
	if err != nil {
		return nil, err
	}
	defer stop()

	dir, err := os.MkdirTemp("", "aichat-render-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	functions, err := pointFunctionsAt(o.Functions, addr, dir)
	if err != nil {
		return nil, err
	}

	args := []string{"composition", "render", o.XR, o.Composition, functions, "--crossplane-binary=" + core}
	if o.Observed != "" {
		args = append(args, "--observed-resources="+o.Observed)
	}
	if o.Required != "" {
		args = append(args, "--required-resources="+o.Required)
	}
	if o.IncludeFullXR {
		args = append(args, "--include-full-xr")
	}
	if o.IncludeResults {
		args = append(args, "--include-function-results")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, errors.New(msg)
	}
	return stdout.Bytes(), nil
}

// Serve serves fn without TLS (as render's Development runtime expects) on
// a free loopback port.
func Serve(fn fnv1.FunctionRunnerServiceServer) (addr string, stop func(), err error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := grpc.NewServer()
	fnv1.RegisterFunctionRunnerServiceServer(srv, fn)
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), srv.Stop, nil
}

// pointFunctionsAt rewrites every Function in path to use the Development
// runtime at addr, so render calls the function we serve.
func pointFunctionsAt(path, addr, dir string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var out []string
	for _, doc := range strings.Split(string(b), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if len(obj) == 0 {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			return "", fmt.Errorf("%s: a Function without metadata", path)
		}
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
		}
		ann["render.crossplane.io/runtime"] = "Development"
		ann["render.crossplane.io/runtime-development-target"] = addr
		meta["annotations"] = ann
		y, err := yaml.Marshal(obj)
		if err != nil {
			return "", err
		}
		out = append(out, string(y))
	}
	p := filepath.Join(dir, "functions.yaml")
	return p, os.WriteFile(p, []byte(strings.Join(out, "---\n")), 0o644)
}
