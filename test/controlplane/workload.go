package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kubeControllers are the kube-controller-manager controllers the product
// relies on. clusterrole-aggregation-controller fills the rules of
// Crossplane's aggregated "crossplane" ClusterRole; without it core would
// run with no rights at all.
var kubeControllers = []string{
	"clusterrole-aggregation-controller",
	"deployment-controller",
	"endpointslice-controller",
	"garbage-collector-controller",
	"job-controller",
	"namespace-controller",
	"node-lifecycle-controller",
	"replicaset-controller",
	"serviceaccount-controller",
	"statefulset-controller",
}

// startWorkloadControllers starts what makes workloads behave: the
// controller manager (ReplicaSets, Pods, Job completion, garbage collection,
// namespace deletion), the scheduler, and KWOK playing the kubelet of one
// fake node. They run as admin, like the system components they are.
func (cp *ControlPlane) startWorkloadControllers(ctx context.Context) error {
	admin := cp.users["admin"]
	if _, err := cp.start("kube-controller-manager", cp.tools["kube-controller-manager"], []string{
		"--kubeconfig=" + admin,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + strings.Join(kubeControllers, ","),
		// The Service account token controller is off; the API server of
		// envtest does not require service account tokens for Pods.
		"--use-service-account-credentials=false",
	}, nil); err != nil {
		return err
	}
	if _, err := cp.start("kube-scheduler", cp.tools["kube-scheduler"], []string{
		"--kubeconfig=" + admin,
		"--leader-elect=false",
		"--secure-port=0",
	}, nil); err != nil {
		return err
	}
	stages := filepath.Join(cp.Dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages(cp.opts.JobPodRunTime)), 0o644); err != nil {
		return err
	}
	if _, err := cp.start("kwok", cp.tools["kwok"], []string{
		"--kubeconfig=" + admin,
		"--config=" + stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
	}, nil); err != nil {
		return err
	}
	return cp.Client.Create(ctx, fakeNode())
}

// waitWorkloadControllers waits until the fake node takes Pods (KWOK made it
// Ready, node-lifecycle-controller left or removed its not-ready taint) and
// the controller manager serves (the "default" ServiceAccount exists).
func (cp *ControlPlane) waitWorkloadControllers(ctx context.Context) error {
	if err := WaitFor(ctx, time.Minute, "node "+FakeNodeName+" to be Ready without taints", func(ctx context.Context) (bool, string, error) {
		if err := cp.checkProcesses(); err != nil {
			return false, "", err
		}
		n := &corev1.Node{}
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: FakeNodeName}, n); err != nil {
			return false, "", err
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		return ready && len(n.Spec.Taints) == 0, fmt.Sprintf("ready=%t taints=%v", ready, n.Spec.Taints), nil
	}); err != nil {
		return err
	}
	return WaitFor(ctx, time.Minute, "ServiceAccount default/default", func(ctx context.Context) (bool, string, error) {
		if err := cp.checkProcesses(); err != nil {
			return false, "", err
		}
		err := cp.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
		if err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
}

// checkProcesses returns an error naming the first tracked process that has
// exited: waiting on a dead component only wastes the timeout.
func (cp *ControlPlane) checkProcesses() error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, p := range cp.procs {
		if done, err := p.exited(); done && !p.stopping.Load() {
			return fmt.Errorf("%s exited (%v); last log lines:\n%s", p.name, err, p.tail(30))
		}
	}
	return nil
}
