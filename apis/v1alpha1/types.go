// Package v1alpha1 holds the AIChatWorkspace API: the claim a tenant applies
// and the composite resource Crossplane composes from it. These Go types are
// the one source of the XRD; `make generate` writes
// package/configuration/xrd.yaml from them.
//
// +kubebuilder:object:generate=true
// +groupName=aichatworkspaces.io
// +versionName=v1alpha1
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group, version and kinds of the API.
const (
	Group           = "aichatworkspaces.io"
	Version         = "v1alpha1"
	APIVersion      = Group + "/" + Version
	CompositeKind   = "XAIChatWorkspace"
	ClaimKind       = "AIChatWorkspace"
	CompositePlural = "xaichatworkspaces"
	ClaimPlural     = "aichatworkspaces"
)

// Size is the t-shirt size of a workspace. The platform maps every size to
// container resources, a LimitRange and a ResourceQuota in the function input.
// +kubebuilder:validation:Enum=xsmall;small;medium;large
type Size string

// The sizes a workspace can have.
const (
	SizeXSmall Size = "xsmall"
	SizeSmall  Size = "small"
	SizeMedium Size = "medium"
	SizeLarge  Size = "large"
)

// Sizes lists every Size in ascending order.
var Sizes = []Size{SizeXSmall, SizeSmall, SizeMedium, SizeLarge}

// ModelKind says how a model comes to be in the workspace.
// +kubebuilder:validation:Enum=base;assistant
type ModelKind string

// The kinds of model.
const (
	ModelKindBase      ModelKind = "base"
	ModelKindAssistant ModelKind = "assistant"
)

// ModelState is where a model is on its way into the workspace.
// +kubebuilder:validation:Enum=Pending;Running;Ready;Failed
type ModelState string

// The states of a model.
const (
	ModelPending ModelState = "Pending"
	ModelRunning ModelState = "Running"
	ModelReady   ModelState = "Ready"
	ModelFailed  ModelState = "Failed"
)

// ModelName is an Ollama model reference: [host[:port]/][namespace/]model[:tag].
// The pattern follows Ollama's own name rules (model and tag start with a
// letter, digit or underscore and hold letters, digits, '_', '-' and '.').
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=200
// +kubebuilder:validation:Pattern=`^([a-zA-Z0-9][a-zA-Z0-9._-]*(:[0-9]{1,5})?/)?([a-zA-Z0-9][a-zA-Z0-9._-]{0,79}/)?[a-zA-Z0-9][a-zA-Z0-9._-]{0,79}(:[a-zA-Z0-9_][a-zA-Z0-9._-]{0,79})?$`
type ModelName string

// PatternName is the name of a fabric pattern: a directory under
// data/patterns holding system.md.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=100
// +kubebuilder:validation:Pattern=`^[a-z0-9_]+$`
type PatternName string

// WorkspaceSpec is what a tenant asks for.
//
// +kubebuilder:validation:XValidation:rule="!has(self.assistants) || self.assistants.all(a, has(self.models) && a.from in self.models)",message="spec.assistants[].from must name a model listed in spec.models",fieldPath=".assistants"
// +kubebuilder:validation:XValidation:rule="!has(self.assistants) || !has(self.models) || self.assistants.all(a, !(a.name in self.models) && !((a.name + ':latest') in self.models))",message="spec.assistants[].name must differ from every model in spec.models (Ollama would overwrite the base model)",fieldPath=".assistants"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.owner) || (has(self.owner) && self.owner == oldSelf.owner)",message="spec.owner is immutable once set"
type WorkspaceSpec struct {
	// Owner identifies who the workspace belongs to, e.g. an e-mail address.
	// The portal sets it; kubectl users may leave it empty. Immutable once set.
	// +kubebuilder:validation:MaxLength=254
	// +optional
	Owner string `json:"owner,omitempty"`

	// Size selects the resources of the workspace.
	// +kubebuilder:default=small
	// +optional
	Size Size `json:"size,omitempty"`

	// Models are the base models pulled into the workspace's Ollama, e.g.
	// llama3.2:1b. When empty the platform's default models are pulled.
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +optional
	Models []ModelName `json:"models,omitempty"`

	// Assistants are models derived from a base model whose SYSTEM prompt
	// is built from fabric patterns.
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +optional
	Assistants []Assistant `json:"assistants,omitempty"`

	// ScaleToZero scales the workspace to zero when it is idle and wakes it
	// on the next request.
	// +kubebuilder:default={}
	// +optional
	ScaleToZero ScaleToZero `json:"scaleToZero,omitempty"`

	// Storage sizes the workspace's volumes.
	// +kubebuilder:default={}
	// +optional
	Storage Storage `json:"storage,omitempty"`

	// Pipelines adds Open WebUI Pipelines to the workspace.
	// +kubebuilder:default={}
	// +optional
	Pipelines Pipelines `json:"pipelines,omitempty"`
}

// An Assistant is a model derived from a base model with a SYSTEM prompt made
// of one or more fabric patterns.
//
// +kubebuilder:validation:XValidation:rule="!has(self.variables) || self.variables.all(k, k.matches('^[A-Za-z_][A-Za-z0-9_]{0,62}$'))",message="variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most 63 characters)",fieldPath=".variables"
// +kubebuilder:validation:XValidation:rule="!has(self.parameters) || self.parameters.all(k, k in ['num_ctx','num_predict','num_keep','temperature','top_k','top_p','min_p','typical_p','repeat_penalty','repeat_last_n','presence_penalty','frequency_penalty','seed','stop'])",message="parameters may only be num_ctx, num_predict, num_keep, temperature, top_k, top_p, min_p, typical_p, repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, seed and stop",fieldPath=".parameters"
type Assistant struct {
	// Name of the derived model; a DNS label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// From is the base model the assistant is built from; it must be listed
	// in spec.models.
	From ModelName `json:"from"`

	// Patterns are fabric pattern names whose system prompts are joined, in
	// order, into the assistant's SYSTEM prompt.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Patterns []PatternName `json:"patterns"`

	// Variables replace {{name}} placeholders in the pattern text.
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	Variables map[string]string `json:"variables,omitempty"`

	// Parameters are Ollama model parameters such as temperature, written
	// as strings (as in a Modelfile's PARAMETER lines).
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ScaleToZero configures idle scale-down.
type ScaleToZero struct {
	// Enabled scales Open WebUI and Ollama to zero when idle.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// IdleAfter is how long the workspace must be idle before it scales to
	// zero, as a duration such as 15m or 1h30m (1m to 24h).
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="spec.scaleToZero.idleAfter must be between 1m and 24h"
	// +optional
	IdleAfter string `json:"idleAfter,omitempty"`
}

// Storage sizes the workspace's volumes.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.models) || (has(self.models) && self.models == oldSelf.models)",message="spec.storage.models is immutable: the Ollama volume claim template cannot change",fieldPath=".models"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.data) || (has(self.data) && !quantity(self.data).isLessThan(quantity(oldSelf.data)))",message="spec.storage.data may grow but never shrink",fieldPath=".data"
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="spec.storage.storageClassName is immutable",fieldPath=".storageClassName"
type Storage struct {
	// Models is the size of Ollama's model volume, e.g. 20Gi (1Gi to 10Ti).
	// Immutable.
	// +kubebuilder:default="20Gi"
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`
	// +kubebuilder:validation:XValidation:rule="!quantity(self).isLessThan(quantity('1Gi')) && quantity(self).isLessThan(quantity('10Ti'))",message="spec.storage.models must be between 1Gi and 10Ti"
	// +optional
	Models string `json:"models,omitempty"`

	// Data is the size of Open WebUI's data volume, e.g. 2Gi (100Mi to
	// 1Ti). It may grow but never shrink.
	// +kubebuilder:default="2Gi"
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`
	// +kubebuilder:validation:XValidation:rule="!quantity(self).isLessThan(quantity('100Mi')) && quantity(self).isLessThan(quantity('1Ti'))",message="spec.storage.data must be between 100Mi and 1Ti"
	// +optional
	Data string `json:"data,omitempty"`

	// StorageClassName for both volumes; the cluster default when empty.
	// Immutable.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	StorageClassName string `json:"storageClassName,omitempty"`
}

// Pipelines configures Open WebUI Pipelines.
type Pipelines struct {
	// Enabled adds a Pipelines server and wires Open WebUI to it.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
}

// WorkspaceStatus is what the platform reports back.
type WorkspaceStatus struct {
	// Namespace the workspace runs in.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// URL of the workspace's Open WebUI.
	// +optional
	URL string `json:"url,omitempty"`

	// APIURL is where the workspace's Ollama API is reached with a token.
	// +optional
	APIURL string `json:"apiUrl,omitempty"`

	// ModelsReady counts the ready models, e.g. "2/3".
	// +optional
	ModelsReady string `json:"modelsReady,omitempty"`

	// Models is the state of every base model and assistant.
	// +optional
	Models []ModelStatus `json:"models,omitempty"`

	// Resources lists the composed resources and whether each is ready.
	// +optional
	Resources []ResourceStatus `json:"resources,omitempty"`
}

// ModelStatus is the state of one model.
type ModelStatus struct {
	Name    string     `json:"name"`
	Kind    ModelKind  `json:"kind"`
	State   ModelState `json:"state"`
	Message string     `json:"message,omitempty"`
}

// ResourceStatus is the state of one composed resource.
type ResourceStatus struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Ready   bool   `json:"ready"`
	Message string `json:"message,omitempty"`
}

// XAIChatWorkspace is the composite resource of an AIChat workspace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=crossplane
// +kubebuilder:subresource:status
type XAIChatWorkspace struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkspaceSpec   `json:"spec,omitempty"`
	Status WorkspaceStatus `json:"status,omitempty"`
}

// XAIChatWorkspaceList is a list of XAIChatWorkspace.
//
// +kubebuilder:object:root=true
type XAIChatWorkspaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []XAIChatWorkspace `json:"items"`
}
