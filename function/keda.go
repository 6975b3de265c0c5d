package function

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The KEDA types the function composes, limited to the fields it sets (the
// render tests validate them against KEDA's CRDs from the Go module cache).
// Importing KEDA's Go API would pull its operator's dependencies into the
// function for a handful of fields.

// HTTPScaledObject is an http.keda.sh/v1alpha1 HTTPScaledObject.
type HTTPScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              HTTPScaledObjectSpec `json:"spec"`
}

// HTTPScaledObjectSpec routes hosts to a workload and scales it on traffic.
type HTTPScaledObjectSpec struct {
	Hosts           []string           `json:"hosts"`
	ScaleTargetRef  HTTPScaleTargetRef `json:"scaleTargetRef"`
	Replicas        ReplicaStruct      `json:"replicas"`
	ScaledownPeriod int32              `json:"scaledownPeriod"`
	Timeouts        HTTPTimeouts       `json:"timeouts"`
}

// HTTPScaleTargetRef names the workload and the Service in front of it.
type HTTPScaleTargetRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Service    string `json:"service"`
	Port       int32  `json:"port"`
}

// ReplicaStruct bounds the replicas.
type ReplicaStruct struct {
	Min int32 `json:"min"`
	Max int32 `json:"max"`
}

// HTTPTimeouts override the interceptor's global timeouts.
type HTTPTimeouts struct {
	ConditionWait  string `json:"conditionWait"`
	ResponseHeader string `json:"responseHeader"`
}

// ScaledObject is a keda.sh/v1alpha1 ScaledObject.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

// ScaledObjectSpec scales a workload on triggers.
type ScaledObjectSpec struct {
	ScaleTargetRef  ScaleTarget    `json:"scaleTargetRef"`
	MinReplicaCount int32          `json:"minReplicaCount"`
	MaxReplicaCount int32          `json:"maxReplicaCount"`
	PollingInterval int32          `json:"pollingInterval"`
	CooldownPeriod  int32          `json:"cooldownPeriod"`
	Triggers        []ScaleTrigger `json:"triggers"`
}

// ScaleTarget names the workload.
type ScaleTarget struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// ScaleTrigger is one KEDA trigger.
type ScaleTrigger struct {
	Type     string            `json:"type"`
	Metadata map[string]string `json:"metadata"`
}

// httpScaledObject scales Open WebUI between zero and one on its traffic.
// The interceptor holds a request for up to conditionWait while Open WebUI
// starts, and waits up to responseHeader for a slow first answer.
func (w *workspace) httpScaledObject() *HTTPScaledObject {
	return w.scaleOnTraffic(w.meta(webUIName, componentWebUI), w.host,
		HTTPScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: webUIName, Service: webUIName, Port: webUIServPort})
}

// ollamaHTTPScaledObject routes API calls for Ollama's in-cluster host
// through the KEDA interceptor: the portal's LLM gateway sends a sleeping
// workspace's calls there, the interceptor holds them while Ollama starts,
// and every running generation counts as traffic, so Ollama stays up as long
// as the API is in use. KEDA must not create a ScaledObject of its own for
// it (the annotation): Ollama's ScaledObject already scales the StatefulSet
// and takes this traffic as one more trigger.
func (w *workspace) ollamaHTTPScaledObject() *HTTPScaledObject {
	m := w.meta(ollamaName, componentOllama)
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations["httpscaledobject.keda.sh/skip-scaledobject-creation"] = "true"
	return w.scaleOnTraffic(m, w.ollamaHost(),
		HTTPScaleTargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: ollamaName, Service: ollamaName, Port: ollamaPort})
}

// scaleOnTraffic routes host through the interceptor to target and scales
// it between zero and one, idle after the claim's idleAfter.
func (w *workspace) scaleOnTraffic(m metav1.ObjectMeta, host string, target HTTPScaleTargetRef) *HTTPScaledObject {
	return &HTTPScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: "http.keda.sh/v1alpha1", Kind: "HTTPScaledObject"},
		ObjectMeta: m,
		Spec: HTTPScaledObjectSpec{
			Hosts:           []string{host},
			ScaleTargetRef:  target,
			Replicas:        ReplicaStruct{Min: 0, Max: 1},
			ScaledownPeriod: w.idleAfter,
			Timeouts: HTTPTimeouts{
				ConditionWait:  w.p.conditionWait.String(),
				ResponseHeader: w.p.responseHeader.String(),
			},
		},
	}
}

// followerScaledObject makes a workload follow the pods that need it: while
// any pod matching podSelector exists, the workload runs one replica; when
// none does, it scales to zero. kubernetes-workload counts only pods that
// have not terminated, so a finished model Job lets Ollama sleep again.
func (w *workspace) followerScaledObject(name, kind, component, podSelector string, extra ...ScaleTrigger) *ScaledObject {
	so := &ScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject"},
		ObjectMeta: w.meta(name, component),
		Spec: ScaledObjectSpec{
			ScaleTargetRef:  ScaleTarget{APIVersion: "apps/v1", Kind: kind, Name: name},
			MinReplicaCount: 0,
			MaxReplicaCount: 1,
			PollingInterval: 10,
			CooldownPeriod:  60,
			Triggers: []ScaleTrigger{{
				Type: "kubernetes-workload",
				Metadata: map[string]string{
					"podSelector": podSelector,
					"value":       strconv.Itoa(1),
				},
			}},
		},
	}
	so.Spec.Triggers = append(so.Spec.Triggers, extra...)
	return so
}

// ollamaTraffic is the trigger that wakes Ollama on API calls held by the
// interceptor (see ollamaHTTPScaledObject).
func (w *workspace) ollamaTraffic() ScaleTrigger {
	return ScaleTrigger{Type: "external-push", Metadata: map[string]string{
		"httpScaledObject": ollamaName,
		"scalerAddress":    w.p.externalScaler,
	}}
}

// Pods that need Ollama: Open WebUI and running model Jobs.
func (w *workspace) ollamaUsers() string {
	return labelInstance + "=" + w.id + "," + labelWakesOllama + "=true"
}

// Pods that need Pipelines: Open WebUI.
func (w *workspace) pipelinesUsers() string {
	return labelInstance + "=" + w.id + "," + labelComponent + "=" + componentWebUI
}
