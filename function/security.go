package function

import (
	corev1 "k8s.io/api/core/v1"
)

// Every pod of a workspace runs under the "restricted" Pod Security
// Standard, which the workspace Namespace also enforces.

// uid runs every container: the images' own users differ (Ollama and Open
// WebUI run as root by default), and a fixed non-root UID with fsGroup makes
// the volumes writable whatever the image says.
const uid int64 = 1000

func podSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:        ptr(true),
		RunAsUser:           ptr(uid),
		RunAsGroup:          ptr(uid),
		FSGroup:             ptr(uid),
		FSGroupChangePolicy: ptr(corev1.FSGroupChangeOnRootMismatch),
		SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// containerSecurity drops every capability and forbids escalation. readOnly
// is set where the image allows it; Open WebUI writes below /app at start,
// so it cannot have a read-only root.
func containerSecurity(readOnly bool) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(readOnly),
		RunAsNonRoot:             ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// restrictedPod is the pod spec every workload of a workspace shares: its
// own ServiceAccount without a token (nothing in a workspace talks to the
// Kubernetes API), no service links in the environment, and the restricted
// pod security context.
func restrictedPod(serviceAccount string, volumes []corev1.Volume, containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName:           serviceAccount,
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
		SecurityContext:              podSecurity(),
		Containers:                   containers,
		Volumes:                      volumes,
	}
}

func ptr[T any](v T) *T { return &v }
