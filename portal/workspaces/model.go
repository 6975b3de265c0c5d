// Package workspaces is the portal's view of AIChatWorkspace claims: reads
// come from a watch-backed cache of the cluster, writes go to the API
// server, and every operation is scoped to the calling user.
package workspaces

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/auth"
)

// Labels the portal puts on claims. The owner is the user's database id,
// because label values cannot hold an e-mail address.
const (
	LabelOwnerID   = "aichatworkspaces.io/owner-id"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "aichat-portal"
)

// Workspace is what the API shows of a claim.
type Workspace struct {
	Name      string                 `json:"name"`
	Namespace string                 `json:"namespace"`
	OwnerID   string                 `json:"ownerId,omitempty"`
	Spec      v1alpha1.WorkspaceSpec `json:"spec"`
	Status    Status                 `json:"status"`
	CreatedAt time.Time              `json:"createdAt"`
	Deleting  bool                   `json:"deleting,omitempty"`
}

// Status is the claim's status with Crossplane's conditions folded into
// ready/synced flags.
type Status struct {
	Ready       bool                      `json:"ready"`
	Synced      bool                      `json:"synced"`
	Namespace   string                    `json:"namespace,omitempty"`
	URL         string                    `json:"url,omitempty"`
	APIURL      string                    `json:"apiUrl,omitempty"`
	ModelsReady string                    `json:"modelsReady,omitempty"`
	Models      []v1alpha1.ModelStatus    `json:"models,omitempty"`
	Resources   []v1alpha1.ResourceStatus `json:"resources,omitempty"`
	Conditions  []Condition               `json:"conditions,omitempty"`
}

// Condition is a Crossplane condition.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// Owner is the user a workspace operation acts for.
type Owner struct {
	ID    uint64
	Email string
}

// OwnerOf is the owner behind a principal.
func OwnerOf(p auth.Principal) Owner { return Owner{ID: p.UserID, Email: p.Email} }

// Service is what the HTTP layer needs from the cluster.
type Service interface {
	List(ctx context.Context, o Owner) ([]Workspace, error)
	ListAll(ctx context.Context) ([]Workspace, error)
	Count(ctx context.Context, o Owner) (int, error)
	Get(ctx context.Context, o Owner, name string) (*Workspace, error)
	Create(ctx context.Context, o Owner, name string, spec v1alpha1.WorkspaceSpec) (*Workspace, error)
	// Patch applies a JSON merge patch (RFC 7386) to the spec.
	Patch(ctx context.Context, o Owner, name string, patch json.RawMessage) (*Workspace, error)
	Delete(ctx context.Context, o Owner, name string) error
	// Ready reports whether the cluster is reachable and the cache synced.
	Ready(ctx context.Context) error
}
