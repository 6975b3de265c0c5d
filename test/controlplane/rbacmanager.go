package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rbacManagerLock serialises the Crossplane RBAC managers of all harnesses
// on this machine. `crossplane rbac start` has no flag for its metrics
// address, so it always binds :8080; two at once would fail. The harness
// therefore runs it only until it has written the roles for the current
// XRDs (about a second), under this lock.
var rbacManagerLock = filepath.Join(os.TempDir(), "aichat-crossplane-rbac-manager.lock")

// SyncXRDs makes the cluster serve XRDs applied after Start as it serves
// those of Options.Manifests: it runs Crossplane's RBAC manager, as a real
// install does, until it has created the ClusterRoles that let core serve
// every XRD and the controller manager has aggregated them into the
// "crossplane" ClusterRole; waits until each XRD is offered; and restarts
// the garbage collector, which otherwise learns new kinds only at its next
// discovery (every 30s) and until then leaves composed objects of deleted
// XRs behind.
func (cp *ControlPlane) SyncXRDs(ctx context.Context) error {
	if err := cp.syncXRDs(ctx); err != nil {
		return err
	}
	return cp.restartGarbageCollector(ctx)
}

func (cp *ControlPlane) syncXRDs(ctx context.Context) error {
	xrds := &unstructured.UnstructuredList{}
	xrds.SetAPIVersion("apiextensions.crossplane.io/v1")
	xrds.SetKind("CompositeResourceDefinitionList")
	if err := cp.Client.List(ctx, xrds); err != nil {
		return fmt.Errorf("cannot list XRDs: %w", err)
	}
	if len(xrds.Items) == 0 {
		return nil
	}
	if err := cp.runRBACManager(ctx, xrds.Items); err != nil {
		return err
	}
	for _, x := range xrds.Items {
		if err := WaitXRDOffered(ctx, cp.Client, x.GetName(), time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// runRBACManager runs `crossplane rbac start` until the roles of the XRDs
// are aggregated into core's ClusterRole.
func (cp *ControlPlane) runRBACManager(ctx context.Context, xrds []unstructured.Unstructured) error {
	unlock, err := flock(ctx, rbacManagerLock)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := cp.start("crossplane-rbac-manager", cp.tools["crossplane-core"], []string{"rbac", "start"},
		[]string{"KUBECONFIG=" + cp.users[CrossplaneRBACManagerUser]})
	if err != nil {
		return err
	}
	defer p.stop(processStopGrace)
	for _, x := range xrds {
		role := "crossplane:composite:" + x.GetName() + ":aggregate-to-crossplane"
		err := WaitFor(ctx, time.Minute, "ClusterRole "+role+" aggregated into crossplane", func(ctx context.Context) (bool, string, error) {
			if done, err := p.exited(); done {
				return false, "", fmt.Errorf("crossplane-rbac-manager exited (%v); last log lines:\n%s", err, p.tail(30))
			}
			return cp.aggregated(ctx, role)
		})
		if err != nil {
			return err
		}
	}
	slog.Info("crossplane RBAC synced", "xrds", len(xrds))
	return nil
}

// aggregated reports whether every rule of role is in the aggregated
// "crossplane" ClusterRole.
func (cp *ControlPlane) aggregated(ctx context.Context, role string) (bool, string, error) {
	part := &rbacv1.ClusterRole{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: role}, part); err != nil {
		if apierrors.IsNotFound(err) {
			return false, "role not created yet", nil
		}
		return false, "", err
	}
	all := &rbacv1.ClusterRole{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: crossplaneClusterRole}, all); err != nil {
		return false, "", err
	}
	for _, r := range part.Rules {
		found := false
		for _, a := range all.Rules {
			if equality.Semantic.DeepEqual(r, a) {
				found = true
				break
			}
		}
		if !found {
			return false, fmt.Sprintf("rule %v not aggregated yet", r), nil
		}
	}
	return true, "", nil
}

// flock takes an exclusive lock on path, waiting until ctx ends.
func flock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK {
			_ = f.Close()
			return nil, fmt.Errorf("cannot lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
