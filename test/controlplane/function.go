package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/crossplane/function-sdk-go"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/proto/v1beta1"
	"google.golang.org/grpc"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A FunctionServer serves a composition function from the test binary over
// mTLS, the way Crossplane core reaches a function Pod. It can be stopped and
// started again on the same endpoint, to test that claims survive a function
// outage.
//
// function.Serve would serve the same gRPC services but cannot be stopped, so
// the server is built here from the SDK's own pieces: the credentials of
// function.MTLSCertificates and the v1beta1 adapter function.ServeBeta.
type FunctionServer struct {
	fn      fnv1.FunctionRunnerServiceServer
	address string // 127.0.0.1:PORT, fixed for the server's life
	creds   grpc.ServerOption

	mu  sync.Mutex
	srv *grpc.Server
}

func newFunctionServer(fn fnv1.FunctionRunnerServiceServer, certDir string, port int) (*FunctionServer, error) {
	so := &function.ServeOptions{}
	if err := function.MTLSCertificates(certDir)(so); err != nil {
		return nil, fmt.Errorf("cannot load function server certificates: %w", err)
	}
	return &FunctionServer{
		fn:      fn,
		address: fmt.Sprintf("127.0.0.1:%d", port),
		creds:   grpc.Creds(so.Credentials),
	}, nil
}

// Address is the host:port the function listens on.
func (s *FunctionServer) Address() string { return s.address }

// Endpoint is the gRPC target Crossplane core dials, as a FunctionRevision
// status carries it. It names localhost because the server certificate does.
func (s *FunctionServer) Endpoint() string {
	_, port, _ := net.SplitHostPort(s.address)
	return "dns:///localhost:" + port
}

// Running reports whether the server is serving.
func (s *FunctionServer) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil
}

// Start serves the function; it returns once the listener is bound. Starting
// a running server is an error.
func (s *FunctionServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("function server is already running")
	}
	lis, err := net.Listen("tcp", s.address)
	if err != nil {
		return fmt.Errorf("cannot listen on %s for the function: %w", s.address, err)
	}
	srv := grpc.NewServer(s.creds, grpc.MaxRecvMsgSize(function.DefaultMaxRecvMsgSize))
	fnv1.RegisterFunctionRunnerServiceServer(srv, s.fn)
	v1beta1.RegisterFunctionRunnerServiceServer(srv, function.ServeBeta(s.fn))
	go func() {
		if err := srv.Serve(lis); err != nil {
			slog.Error("function server stopped with an error", "address", s.address, "error", err)
		}
	}()
	s.srv = srv
	slog.Info("function server started", "address", s.address)
	return nil
}

// Stop stops serving at once, dropping open connections and calls, as a
// crashed function Pod would. Stopping a stopped server does nothing.
func (s *FunctionServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Stop()
	s.srv = nil
	slog.Info("function server stopped", "address", s.address)
}

// registerFunction makes Crossplane core call endpoint for Compositions
// whose pipeline steps use functionRef name, without a Function object (whose
// package manager would try to pull an image).
//
// Core resolves a functionRef to the active FunctionRevision labelled with the
// package name and dials the endpoint in its status. The revision is paused
// so the package manager leaves it alone.
func registerFunction(ctx context.Context, c client.Client, name, endpoint string) error {
	rev := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1",
		"kind":       "FunctionRevision",
		"metadata": map[string]any{
			"name":        name + "-in-process",
			"labels":      map[string]any{"pkg.crossplane.io/package": name},
			"annotations": map[string]any{"crossplane.io/paused": "true"},
		},
		"spec": map[string]any{
			"desiredState":                "Active",
			"image":                       "in-process.invalid/" + name + ":v0",
			"revision":                    int64(1),
			"ignoreCrossplaneConstraints": true,
			"skipDependencyResolution":    true,
		},
	}}
	if err := applyObject(ctx, c, rev); err != nil {
		return fmt.Errorf("cannot apply FunctionRevision for %s: %w", name, err)
	}
	status := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1",
		"kind":       "FunctionRevision",
		"metadata":   map[string]any{"name": name + "-in-process"},
		"status": map[string]any{
			"endpoint": endpoint,
			// Without it core refuses the function: "is missing required
			// capabilities: composition".
			"capabilities": []any{"composition"},
		},
	}}
	if err := c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(status), fieldOwner, client.ForceOwnership); err != nil {
		return fmt.Errorf("cannot set the endpoint of FunctionRevision %s: %w", name, err)
	}
	return nil
}
