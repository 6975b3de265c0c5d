package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kubeControllers are the kube-controller-manager controllers the product
// relies on (the persistent volume controllers bind and release the volumes
// provisionVolumes creates). clusterrole-aggregation-controller fills the rules of
// Crossplane's aggregated "crossplane" ClusterRole; without it core would
// run with no rights at all. The garbage collector runs in a second
// controller manager (see restartGarbageCollector).
var kubeControllers = []string{
	"clusterrole-aggregation-controller",
	"deployment-controller",
	"endpointslice-controller",
	"job-controller",
	"namespace-controller",
	"node-lifecycle-controller",
	"persistentvolume-binder-controller",
	"persistentvolume-protection-controller",
	"persistentvolumeclaim-protection-controller",
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
	controllers := kubeControllers
	if cp.opts.EnforceQuotas {
		controllers = append(slices.Clone(controllers), "resourcequota-controller")
	}
	if _, err := cp.start("kube-controller-manager", cp.tools["kube-controller-manager"], []string{
		"--kubeconfig=" + admin,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + strings.Join(controllers, ","),
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
	// A DataDir's etcd still holds the node of the last run.
	if err := cp.Client.Create(ctx, fakeNode()); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// restartGarbageCollector (re)starts a kube-controller-manager running only
// the garbage collector and waits until it watches every kind. It discovers
// kinds when it starts and then only every 30 seconds: started before the
// XRDs were offered, it would not delete what a deleted XR composed until
// its next discovery.
func (cp *ControlPlane) restartGarbageCollector(ctx context.Context) error {
	cp.mu.Lock()
	old := cp.gc
	cp.mu.Unlock()
	if old != nil {
		old.stop(processStopGrace)
	}
	logPath := cp.LogPath("kube-garbage-collector")
	var offset int64
	if fi, err := os.Stat(logPath); err == nil {
		offset = fi.Size()
	}
	p, err := cp.start("kube-garbage-collector", cp.tools["kube-controller-manager"], []string{
		"--kubeconfig=" + cp.users["admin"],
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=garbage-collector-controller",
	}, nil)
	if err != nil {
		return err
	}
	cp.mu.Lock()
	cp.gc = p
	cp.mu.Unlock()
	const synced = "all resource monitors have synced"
	return WaitFor(ctx, time.Minute, "the garbage collector to watch every kind", func(context.Context) (bool, string, error) {
		if done, err := p.exited(); done {
			return false, "", fmt.Errorf("kube-garbage-collector exited (%v); last log lines:\n%s", err, p.tail(30))
		}
		b, err := os.ReadFile(logPath)
		if err != nil || int64(len(b)) < offset {
			return false, "", err
		}
		return strings.Contains(string(b[offset:]), synced), "no \"" + synced + "\" in its log yet", nil
	})
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
