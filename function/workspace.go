package function

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// Labels Crossplane puts on an XR created for a claim.
const (
	labelClaimName      = "crossplane.io/claim-name"
	labelClaimNamespace = "crossplane.io/claim-namespace"
)

// Labels and annotations the function puts on what it composes.
const (
	labelName      = "app.kubernetes.io/name"
	labelInstance  = "app.kubernetes.io/instance"
	labelComponent = "app.kubernetes.io/component"
	labelPartOf    = "app.kubernetes.io/part-of"
	labelManagedBy = "app.kubernetes.io/managed-by"

	// labelWorkspace carries the workspace ID on every object, so that
	// tools (the portal, the SRE assistant) find a workspace's objects.
	labelWorkspace = v1alpha1.Group + "/workspace"
	// labelOwner carries the claim's owner (sanitised to a label value).
	labelOwner = v1alpha1.Group + "/owner"
	// labelWakesOllama marks pods that need Ollama: while one exists, the
	// KEDA ScaledObject keeps Ollama at one replica.
	labelWakesOllama = v1alpha1.Group + "/wakes-ollama"
	// labelModel names the model a Job works on (sanitised).
	labelModelJob = v1alpha1.Group + "/model-job"

	annotationOwner = v1alpha1.Group + "/owner"
	annotationModel = v1alpha1.Group + "/model"

	partOf    = "aichat-workspaces"
	managedBy = "crossplane"
)

// Components of a workspace, used in labels and resource names.
const (
	componentOllama    = "ollama"
	componentWebUI     = "open-webui"
	componentPipelines = "pipelines"
	componentModelJob  = "model-job"
)

// workspace is everything derived from the observed XR that the builders
// need: who it is, where it lives and what the tenant asked for.
type workspace struct {
	// id names the workspace uniquely and is a DNS label: the host is
	// <id>.<domain> and the namespace <prefix><id>.
	id        string
	namespace string
	host      string
	url       string
	apiURL    string

	claimName      string
	claimNamespace string
	xrName         string

	p    *platform
	spec v1alpha1.WorkspaceSpec
	// models is spec.models or the platform defaults.
	models []string
	// scaleToZero is true when the claim asks for it and the platform
	// allows it.
	scaleToZero bool
	idleAfter   int32 // seconds
	size        *sizeProfile
}

// maxLabel is the longest DNS label (and Namespace name).
const maxLabel = 63

// workspaceID derives a DNS label that is unique per XR. A claim's XR is
// named <claim>-<random>, so an ID derived from the XR name differs when a
// claim is deleted and created again: the new workspace never lands in the
// old, still terminating Namespace. The readable part says which claim it
// belongs to; the hash makes it unique.
func workspaceID(xrName, claimName, claimNamespace string, maxLen int) string {
	sum := sha256.Sum256([]byte(xrName))
	hash := hex.EncodeToString(sum[:])[:8]

	readable := xrName
	if claimName != "" {
		readable = claimNamespace + "-" + claimName
	}
	readable = dnsLabel(readable)
	if room := maxLen - len(hash) - 1; len(readable) > room {
		readable = strings.TrimRight(readable[:room], "-")
	}
	if readable == "" {
		return hash
	}
	return readable + "-" + hash
}

// dnsLabel lowercases s and replaces everything that may not stand in a DNS
// label with '-', trimming dashes at both ends.
func dnsLabel(s string) string {
	b := make([]byte, 0, len(s))
	dash := false
	for _, c := range []byte(strings.ToLower(s)) {
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !ok {
			if !dash && len(b) > 0 {
				b = append(b, '-')
			}
			dash = true
			continue
		}
		b = append(b, c)
		dash = false
	}
	return strings.Trim(string(b), "-")
}

// labelValue makes s a valid label value (at most 63 characters of
// [A-Za-z0-9_.-], starting and ending alphanumeric). Used for owners such as
// e-mail addresses, which the owner annotation carries unaltered.
func labelValue(s string) string {
	b := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b = append(b, c)
		case c == '@':
			b = append(b, '_', 'a', 't', '_')
		default:
			b = append(b, '_')
		}
	}
	if len(b) > maxLabel {
		b = b[:maxLabel]
	}
	return strings.Trim(string(b), "-_.")
}

// labels are the labels of every object of a component of the workspace.
func (w *workspace) labels(component string) map[string]string {
	l := map[string]string{
		labelName:      component,
		labelInstance:  w.id,
		labelComponent: component,
		labelPartOf:    partOf,
		labelManagedBy: managedBy,
		labelWorkspace: w.id,
	}
	if w.spec.Owner != "" {
		l[labelOwner] = labelValue(w.spec.Owner)
	}
	return l
}

// selector selects the pods of a component of the workspace.
func (w *workspace) selector(component string) map[string]string {
	return map[string]string{labelInstance: w.id, labelComponent: component}
}
