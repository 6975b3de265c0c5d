package controlplane

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// There is no storage in the harness: no kubelet mounts anything and no CSI
// driver provisions anything. But a pod whose PersistentVolumeClaim stays
// unbound is never scheduled, so workloads with volumes (Ollama's
// StatefulSet, Open WebUI's data) would never run. provisionVolumes plays a
// static provisioner: for every pending claim it creates a PersistentVolume
// already bound to it, which kube-controller-manager's
// persistentvolume-binder-controller then binds, as it would a real one.
func (cp *ControlPlane) provisionVolumes(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pvcs := &corev1.PersistentVolumeClaimList{}
		if err := cp.Client.List(ctx, pvcs); err != nil {
			continue
		}
		for i := range pvcs.Items {
			pvc := &pvcs.Items[i]
			if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil {
				continue
			}
			if err := cp.Client.Create(ctx, volumeFor(pvc)); err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
				slog.Warn("controlplane: cannot provision a volume", "claim", pvc.Namespace+"/"+pvc.Name, "error", err)
			}
		}
	}
}

// volumeFor is a hostPath volume (nothing ever mounts it) of the claim's
// size, class and access modes, reserved for the claim by claimRef.
func volumeFor(pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	name := "pv-" + string(pvc.UID)
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"aichatworkspaces.io/harness": "static-provisioner"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/nonexistent/" + name}},
		},
	}
}
