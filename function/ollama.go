package function

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names of Ollama's objects in the workspace namespace.
const (
	ollamaName = "ollama"
	ollamaPort = 11434
	modelsDir  = "/models"
)

// ollamaHost is Ollama's in-cluster host name: how Open WebUI and the model
// Jobs reach it, and the host the KEDA interceptor routes API calls on.
func (w *workspace) ollamaHost() string {
	return ollamaName + "." + w.namespace + ".svc"
}

// ollamaURL is how Open WebUI and the model Jobs reach Ollama.
func (w *workspace) ollamaURL() string {
	return "http://" + w.ollamaHost() + ":11434"
}

func (w *workspace) serviceAccount(name, component string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: w.meta(name, component),
		// No workload of a workspace talks to the Kubernetes API.
		AutomountServiceAccountToken: ptr(false),
	}
}

// ollamaStatefulSet runs Ollama with its models on a volume claimed from
// the StatefulSet's template, so a restart never pulls again.
func (w *workspace) ollamaStatefulSet() *appsv1.StatefulSet {
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "models", Labels: w.labels(componentOllama)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse(w.spec.Storage.Models),
			}},
		},
	}
	if c := w.spec.Storage.StorageClassName; c != "" {
		pvc.Spec.StorageClassName = ptr(c)
	}
	probe := func(period, failures int32) *corev1.Probe {
		return probeOn(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}, period, failures)
	}
	s := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: w.meta(ollamaName, componentOllama),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    w.replicas(),
			ServiceName: ollamaName,
			Selector:    &metav1.LabelSelector{MatchLabels: w.selector(componentOllama)},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
				// Scaling to zero must keep the models.
				WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: w.labels(componentOllama)},
				Spec: restrictedPod(ollamaName,
					[]corev1.Volume{
						{Name: "home", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					corev1.Container{
						Name:            "ollama",
						Image:           w.p.images.Ollama,
						ImagePullPolicy: w.p.images.PullPolicy,
						Args:            []string{"serve"},
						Env: []corev1.EnvVar{
							{Name: "OLLAMA_HOST", Value: "0.0.0.0:11434"},
							{Name: "OLLAMA_MODELS", Value: modelsDir},
							// Ollama writes its key pair to $HOME/.ollama.
							{Name: "HOME", Value: "/home/ollama"},
						},
						Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: ollamaPort, Protocol: corev1.ProtocolTCP}},
						Resources:       w.size.ollama,
						SecurityContext: containerSecurity(true),
						StartupProbe:    probe(2, 60),
						ReadinessProbe:  probe(10, 3),
						LivenessProbe:   probe(20, 6),
						VolumeMounts: []corev1.VolumeMount{
							{Name: "models", MountPath: modelsDir},
							{Name: "home", MountPath: "/home/ollama"},
							{Name: "tmp", MountPath: "/tmp"},
						},
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}),
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{pvc},
		},
	}
	return s
}

// replicas is nil when KEDA scales the workload: Crossplane must not own
// spec.replicas, or it would undo every scale of the HPA on each reconcile.
func (w *workspace) replicas() *int32 {
	if w.scaleToZero {
		return nil
	}
	return ptr(int32(1))
}

func (w *workspace) service(name, component string, port, targetPort int32) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: w.meta(name, component),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: w.selector(component),
			Ports: []corev1.ServicePort{{
				Name: "http", Port: port, TargetPort: intstr.FromInt32(targetPort), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// probeOn is a probe of the container's "http" port. Every workload has a
// startup probe that gives it minutes, then readiness and liveness probes
// that differ only in period and patience.
func probeOn(h corev1.ProbeHandler, period, failures int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: h, PeriodSeconds: period, TimeoutSeconds: 5, FailureThreshold: failures}
}
