package function

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names of Open WebUI's and Pipelines' objects in the workspace namespace.
const (
	webUIName     = "open-webui"
	webUIPort     = 8080
	webUIDataDir  = "/app/backend/data"
	webUIDataPVC  = "open-webui-data"
	pipelinesName = "pipelines"
	pipelinesPort = 9099
)

func (w *workspace) webUIDataClaim() *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: w.meta(webUIDataPVC, componentWebUI),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse(w.spec.Storage.Data),
			}},
		},
	}
	if s := w.spec.Storage.StorageClassName; s != "" {
		c.Spec.StorageClassName = ptr(s)
	}
	return c
}

// webUIEnv configures Open WebUI for a private, offline workspace: Ollama is
// its only backend, nothing is downloaded from model hubs at start, and
// nothing phones home.
func (w *workspace) webUIEnv() []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: "OLLAMA_BASE_URL", Value: w.ollamaURL()},
		{Name: "WEBUI_URL", Value: w.url},
		{Name: "WEBUI_SECRET_KEY", ValueFrom: secretKey(secretKeyWebUI)},
		{Name: "DATA_DIR", Value: webUIDataDir},
		{Name: "DEFAULT_MODELS", Value: w.defaultModel()},
		{Name: "ENABLE_OLLAMA_API", Value: "true"},
		{Name: "OFFLINE_MODE", Value: "true"},
		{Name: "HF_HUB_OFFLINE", Value: "1"},
		{Name: "RAG_EMBEDDING_MODEL_AUTO_UPDATE", Value: "false"},
		{Name: "RAG_RERANKING_MODEL_AUTO_UPDATE", Value: "false"},
		{Name: "WHISPER_MODEL_AUTO_UPDATE", Value: "false"},
		{Name: "ENABLE_VERSION_UPDATE_CHECK", Value: "false"},
		{Name: "ANONYMIZED_TELEMETRY", Value: "false"},
		{Name: "DO_NOT_TRACK", Value: "true"},
		{Name: "SCARF_NO_ANALYTICS", Value: "true"},
		// Caches of Python libraries land on the data volume, not in the
		// image.
		{Name: "HOME", Value: webUIDataDir},
	}
	if w.spec.Pipelines.Enabled {
		env = append(env,
			corev1.EnvVar{Name: "ENABLE_OPENAI_API", Value: "true"},
			corev1.EnvVar{Name: "OPENAI_API_BASE_URLS", Value: "http://" + pipelinesName + "." + w.namespace + ".svc:9099"},
			corev1.EnvVar{Name: "OPENAI_API_KEYS", ValueFrom: secretKey(secretKeyPipelines)},
		)
	} else {
		env = append(env, corev1.EnvVar{Name: "ENABLE_OPENAI_API", Value: "false"})
	}
	return env
}

// defaultModel is what a new chat starts with: the first assistant, which is
// what the tenant built the workspace for, or else the first base model.
func (w *workspace) defaultModel() string {
	if len(w.spec.Assistants) > 0 {
		return w.spec.Assistants[0].Name
	}
	return w.models[0]
}

func (w *workspace) webUIDeployment() *appsv1.Deployment {
	probe := func(period, failures int32) *corev1.Probe {
		return probeOn(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}}, period, failures)
	}
	labels := w.labels(componentWebUI)
	labels[labelWakesOllama] = "true"
	return w.recreateDeployment(webUIName, componentWebUI, labels, restrictedPod(webUIName,
		[]corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: webUIDataPVC}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		corev1.Container{
			Name:            "open-webui",
			Image:           w.p.images.OpenWebUI,
			ImagePullPolicy: w.p.images.PullPolicy,
			Env:             w.webUIEnv(),
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: webUIPort, Protocol: corev1.ProtocolTCP}},
			Resources:       w.size.webUI,
			SecurityContext: containerSecurity(false),
			// Open WebUI runs migrations and loads its embedding model
			// at start: give it minutes.
			StartupProbe:   probe(5, 60),
			ReadinessProbe: probe(10, 3),
			LivenessProbe:  probe(20, 6),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "data", MountPath: webUIDataDir},
				{Name: "tmp", MountPath: "/tmp"},
			},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}))
}

// recreateDeployment is a Deployment of a workspace. It uses the Recreate
// strategy: Open WebUI's data volume is ReadWriteOnce, so the old pod must
// go before the new one mounts it, and a workspace has no second replica to
// roll to anyway.
func (w *workspace) recreateDeployment(name, component string, podLabels map[string]string, pod corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: w.meta(name, component),
		Spec: appsv1.DeploymentSpec{
			Replicas: w.replicas(),
			Selector: &metav1.LabelSelector{MatchLabels: w.selector(component)},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: pod},
		},
	}
}

// pipelinesDeployment runs Open WebUI Pipelines, an OpenAI-compatible server
// Open WebUI calls with the shared key from the workspace Secret.
func (w *workspace) pipelinesDeployment() *appsv1.Deployment {
	probe := func(period, failures int32) *corev1.Probe {
		return probeOn(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, period, failures)
	}
	return w.recreateDeployment(pipelinesName, componentPipelines, w.labels(componentPipelines), restrictedPod(pipelinesName,
		[]corev1.Volume{
			{Name: "pipelines", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		corev1.Container{
			Name:            "pipelines",
			Image:           w.p.images.Pipelines,
			ImagePullPolicy: w.p.images.PullPolicy,
			Env: []corev1.EnvVar{
				{Name: "PIPELINES_API_KEY", ValueFrom: secretKey(secretKeyPipelines)},
				{Name: "HOME", Value: "/tmp"},
			},
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: pipelinesPort, Protocol: corev1.ProtocolTCP}},
			Resources:       w.size.pipelines,
			SecurityContext: containerSecurity(false),
			StartupProbe:    probe(5, 60),
			ReadinessProbe:  probe(10, 3),
			LivenessProbe:   probe(20, 6),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "pipelines", MountPath: "/app/pipelines"},
				{Name: "tmp", MountPath: "/tmp"},
			},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}))
}
