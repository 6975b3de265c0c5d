package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AIChatWorkspace is the claim a tenant applies in their namespace. Crossplane
// offers it from the XRD's claimNames; this Go type is for clients such as
// the portal. Crossplane's own claim fields (compositionRef, resourceRef, ...)
// are left to Crossplane.
//
// +kubebuilder:object:root=true
// +kubebuilder:skipversion
type AIChatWorkspace struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkspaceSpec `json:"spec,omitempty"`
	Status ClaimStatus   `json:"status,omitempty"`
}

// ClaimStatus is the workspace status plus Crossplane's conditions.
type ClaimStatus struct {
	WorkspaceStatus `json:",inline"`

	// Conditions are Crossplane's Ready and Synced plus the function's own.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AIChatWorkspaceList is a list of AIChatWorkspace.
//
// +kubebuilder:object:root=true
// +kubebuilder:skipversion
type AIChatWorkspaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AIChatWorkspace `json:"items"`
}
