// Package v1beta1 holds the input of the AIChat workspace composition
// function: the platform's settings, set once per Composition. A platform
// upgrade (new images, sizes, domain) is a new CompositionRevision.
//
// `make generate` writes package/function/input/ from these types.
//
// +kubebuilder:object:generate=true
// +groupName=workspace.fn.aichatworkspaces.io
// +versionName=v1beta1
package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group, version and kind of the input.
const (
	Group      = "workspace.fn.aichatworkspaces.io"
	Version    = "v1beta1"
	Kind       = "Input"
	APIVersion = Group + "/" + Version
)

// Input is the platform configuration of the AIChat workspace function.
// Every field is optional: the function fills what is left out with the
// defaults documented on each field.
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=crossplane
type Input struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Domain under which workspaces are served: a workspace gets the host
	// <workspace-id>.<domain>. Default aichat.example.com.
	// +kubebuilder:validation:MaxLength=189
	// +optional
	Domain string `json:"domain,omitempty"`

	// NamespacePrefix starts the name of every workspace Namespace.
	// Default "aichat-".
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?-)?$`
	// +optional
	NamespacePrefix *string `json:"namespacePrefix,omitempty"`

	// Routing says how browsers reach Open WebUI.
	// +optional
	Routing Routing `json:"routing,omitempty"`

	// API says where tenants call their workspace's Ollama API.
	// +optional
	API API `json:"api,omitempty"`

	// Images of the workspace's containers.
	// +optional
	Images Images `json:"images,omitempty"`

	// Sizes maps each workspace size to container resources. Sizes left out
	// keep their defaults.
	// +optional
	Sizes Sizes `json:"sizes,omitempty"`

	// DefaultModels are pulled when a claim lists no models.
	// Default [llama3.2:1b].
	// +kubebuilder:validation:MaxItems=16
	// +optional
	DefaultModels []string `json:"defaultModels,omitempty"`

	// KEDA configures scale to zero through the KEDA HTTP add-on.
	// +optional
	KEDA KEDA `json:"keda,omitempty"`

	// Network names the peers the workspace's NetworkPolicies allow.
	// +optional
	Network Network `json:"network,omitempty"`

	// Patterns configures where model Jobs fetch fabric patterns from.
	// +optional
	Patterns Patterns `json:"patterns,omitempty"`

	// ModelJobs bounds the model Jobs.
	// +optional
	ModelJobs ModelJobs `json:"modelJobs,omitempty"`

	// Reconcile sets how often Crossplane calls the function again.
	// +optional
	Reconcile Reconcile `json:"reconcile,omitempty"`
}

// RoutingMode selects Ingress or Gateway API.
// +kubebuilder:validation:Enum=Ingress;GatewayAPI
type RoutingMode string

// The routing modes.
const (
	RoutingIngress    RoutingMode = "Ingress"
	RoutingGatewayAPI RoutingMode = "GatewayAPI"
)

// Routing says how browsers reach Open WebUI.
type Routing struct {
	// Mode is Ingress (default) or GatewayAPI (an HTTPRoute).
	// +optional
	Mode RoutingMode `json:"mode,omitempty"`

	// Scheme of workspace URLs: https (default) or http.
	// +kubebuilder:validation:Enum=http;https
	// +optional
	Scheme string `json:"scheme,omitempty"`

	// Ingress settings, used in Ingress mode.
	// +optional
	Ingress IngressRouting `json:"ingress,omitempty"`

	// Gateway settings, used in GatewayAPI mode.
	// +optional
	Gateway GatewayRouting `json:"gateway,omitempty"`
}

// IngressRouting configures the workspace Ingress.
type IngressRouting struct {
	// ClassName of the Ingress; the cluster default when empty.
	// +optional
	ClassName string `json:"className,omitempty"`

	// TLSSecretName names a TLS Secret for the workspace host. Because the
	// Ingress lives in the workspace namespace, this is usually a secret
	// issued per host by cert-manager (see Annotations).
	// +optional
	TLSSecretName string `json:"tlsSecretName,omitempty"`

	// Annotations added to every Ingress, e.g. cert-manager or auth
	// annotations of the ingress controller.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// GatewayRouting configures the workspace HTTPRoute.
type GatewayRouting struct {
	// Name of the Gateway the routes attach to.
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace of the Gateway.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// SectionName of the Gateway listener, if any.
	// +optional
	SectionName string `json:"sectionName,omitempty"`
}

// API says where tenants call their workspace's Ollama API.
type API struct {
	// GatewayURL is the base URL of the portal's authenticated LLM gateway,
	// e.g. https://portal.example.com/llm. When set, status.apiUrl is
	// <gatewayURL>/<claim-name>; when empty it is Open WebUI's
	// authenticated Ollama proxy, <workspace-url>/ollama.
	// +optional
	GatewayURL string `json:"gatewayURL,omitempty"`
}

// Images of the workspace's containers. Pin tags (or digests): a platform
// upgrade is a new Composition revision.
type Images struct {
	// Ollama image. Default docker.io/ollama/ollama:0.32.9.
	// +optional
	Ollama string `json:"ollama,omitempty"`
	// OpenWebUI image. Default ghcr.io/open-webui/open-webui:v0.11.4.
	// +optional
	OpenWebUI string `json:"openWebUI,omitempty"`
	// Pipelines image. Default ghcr.io/open-webui/pipelines:git-c98ca76.
	// +optional
	Pipelines string `json:"pipelines,omitempty"`
	// ModelJob is the image with the /model-job program (the function's
	// own image). Default ghcr.io/aichatworkspaces/function-aichat-workspace:v0.1.0.
	// +optional
	ModelJob string `json:"modelJob,omitempty"`
	// PullPolicy of every container. Default IfNotPresent.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	PullPolicy corev1.PullPolicy `json:"pullPolicy,omitempty"`
}

// Sizes maps each workspace size to resources.
type Sizes struct {
	// +optional
	XSmall *SizeProfile `json:"xsmall,omitempty"`
	// +optional
	Small *SizeProfile `json:"small,omitempty"`
	// +optional
	Medium *SizeProfile `json:"medium,omitempty"`
	// +optional
	Large *SizeProfile `json:"large,omitempty"`
}

// SizeProfile gives the resources of every container of a workspace. The
// ResourceQuota is the sum of what the workspace runs at its peak (a rolling
// update of Open WebUI and all model Jobs at once), so the quota never
// blocks the workspace's own rollout; the LimitRange caps any container at
// the largest of these.
type SizeProfile struct {
	// +optional
	Ollama corev1.ResourceRequirements `json:"ollama,omitempty"`
	// +optional
	OpenWebUI corev1.ResourceRequirements `json:"openWebUI,omitempty"`
	// +optional
	Pipelines corev1.ResourceRequirements `json:"pipelines,omitempty"`
	// +optional
	ModelJob corev1.ResourceRequirements `json:"modelJob,omitempty"`
}

// KEDA configures scale to zero.
type KEDA struct {
	// Enabled lets claims scale to zero. When false, scaleToZero in claims
	// is ignored and no KEDA objects are composed. Default true.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// Interceptor is the KEDA HTTP add-on's interceptor proxy Service.
	// +optional
	Interceptor Interceptor `json:"interceptor,omitempty"`

	// ExternalScaler is the HTTP add-on's external scaler (host:port),
	// which feeds the interceptor's traffic to Ollama's ScaledObject.
	// Default keda-add-ons-http-external-scaler.<interceptor namespace>:9090.
	// +optional
	ExternalScaler string `json:"externalScaler,omitempty"`

	// ConditionWait is how long the interceptor holds a request while the
	// workspace wakes (Open WebUI takes long to start). Default 5m.
	// +optional
	ConditionWait *metav1.Duration `json:"conditionWait,omitempty"`

	// ResponseHeader is how long the interceptor waits for response
	// headers. Default 5m (model loads and long generations).
	// +optional
	ResponseHeader *metav1.Duration `json:"responseHeader,omitempty"`
}

// Interceptor names the KEDA HTTP add-on interceptor proxy.
type Interceptor struct {
	// Namespace of the interceptor. Default keda.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Service of the interceptor proxy. Default
	// keda-add-ons-http-interceptor-proxy.
	// +optional
	Service string `json:"service,omitempty"`
	// Port of the interceptor proxy. Default 8080.
	// +optional
	Port int32 `json:"port,omitempty"`
	// PodLabels select the interceptor pods for NetworkPolicies. Default
	// app.kubernetes.io/component=interceptor.
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`
}

// Network names the peers the NetworkPolicies allow.
type Network struct {
	// IngressController pods may reach Open WebUI.
	// Default namespace ingress-nginx, pods app.kubernetes.io/name=ingress-nginx.
	// +optional
	IngressController Peer `json:"ingressController,omitempty"`

	// LLMGateway pods (the portal's authenticated gateway) may reach
	// Ollama. Default namespace aichat-system, pods
	// app.kubernetes.io/name=aichat-portal.
	// +optional
	LLMGateway Peer `json:"llmGateway,omitempty"`

	// DNS pods the workspace may query. Default namespace kube-system,
	// pods k8s-app=kube-dns.
	// +optional
	DNS Peer `json:"dns,omitempty"`

	// PullCIDRs are where Ollama and the model Jobs may connect on port
	// 443 to pull models and fetch patterns. Default 0.0.0.0/0 and ::/0.
	// +optional
	PullCIDRs []string `json:"pullCIDRs,omitempty"`
}

// A Peer is a set of pods in a namespace.
type Peer struct {
	// Namespace of the pods (matched by its kubernetes.io/metadata.name).
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// PodLabels select the pods; all pods of the namespace when empty.
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`
}

// Patterns configures the fabric pattern source of model Jobs.
type Patterns struct {
	// Source is an http(s) base URL (<source>/<pattern>/system.md) or an
	// absolute directory inside the model Job (for air-gapped clusters,
	// mounted from ConfigMap below). Default: the Fabric repository's
	// data/patterns at a pinned commit.
	// +optional
	Source string `json:"source,omitempty"`

	// Volume, when set, is mounted read-only at Source (which must then be
	// a directory) in every assistant Job: the air-gapped way to ship
	// patterns. An image volume (an OCI artifact with the patterns) or a
	// shared CSI/NFS volume suits best, because every workspace has its own
	// new namespace where a ConfigMap would first have to be copied.
	// +optional
	Volume *corev1.VolumeSource `json:"volume,omitempty"`
}

// ModelJobs bounds the model Jobs.
type ModelJobs struct {
	// BackoffLimit of every model Job. Default 3.
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
	// ActiveDeadline of every model Job. Default 2h (large pulls).
	// +optional
	ActiveDeadline *metav1.Duration `json:"activeDeadline,omitempty"`
}

// Reconcile sets how often Crossplane calls the function again.
type Reconcile struct {
	// Converging is the TTL of a response while the workspace is not yet
	// ready. Default 15s.
	// +optional
	Converging *metav1.Duration `json:"converging,omitempty"`
	// Ready is the TTL once the workspace is ready. Default 10m.
	// +optional
	Ready *metav1.Duration `json:"ready,omitempty"`
}
