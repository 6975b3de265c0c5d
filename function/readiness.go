package function

import (
	"fmt"

	"github.com/crossplane/function-sdk-go/resource/composed"
)

// readiness says whether an observed composed resource is ready, and if not,
// why. Crossplane's default (a Ready condition) fits none of the kinds a
// workspace composes, so every kind has its own rule here:
//
//   - a workload scaled to zero by KEDA is ready: it is asleep, not broken;
//   - a Job is ready when it has succeeded (its model is there);
//   - an Ingress is ready once it exists: an address from a load balancer
//     is not needed for it to route (and some controllers never set one);
//   - KEDA objects and HTTPRoutes are ready unless they report a problem;
//   - everything else (Namespace aside) is ready once it exists.
func readiness(o *composed.Unstructured) (bool, string) {
	if o == nil {
		return false, "not created yet"
	}
	switch o.GetKind() {
	case "Namespace":
		if phase := str(o.Object, "status", "phase"); phase != "" && phase != "Active" {
			return false, "namespace is " + phase
		}
		return true, ""
	case "Deployment", "StatefulSet":
		return workloadReadiness(o)
	case "Job":
		return jobReadiness(o)
	case "PersistentVolumeClaim":
		if phase := str(o.Object, "status", "phase"); phase == "Lost" {
			return false, "volume lost"
		}
		// Pending is fine: with WaitForFirstConsumer a volume binds only
		// when a pod needs it, which a sleeping workspace does not.
		return true, ""
	case "HTTPScaledObject", "ScaledObject":
		if c, ok := condition(o.Object, "Ready"); ok && c.status == "False" {
			return false, fmt.Sprintf("KEDA: %s %s", c.reason, c.message)
		}
		return true, ""
	case "HTTPRoute":
		for _, p := range slice(o.Object, "status", "parents") {
			pm, _ := p.(map[string]any)
			if c, ok := conditionIn(slice(pm, "conditions"), "Accepted"); ok && c.status == "False" {
				return false, fmt.Sprintf("gateway did not accept the route: %s", c.message)
			}
		}
		return true, ""
	default:
		return true, ""
	}
}

func workloadReadiness(o *composed.Unstructured) (bool, string) {
	gen, _ := num(o.Object, "metadata", "generation")
	seen, ok := num(o.Object, "status", "observedGeneration")
	if !ok || seen < gen {
		return false, "waiting for the controller to observe the latest spec"
	}
	want, ok := num(o.Object, "spec", "replicas")
	if !ok {
		want = 1
	}
	if want == 0 {
		return true, "scaled to zero"
	}
	readyReplicas, _ := num(o.Object, "status", "readyReplicas")
	updated, _ := num(o.Object, "status", "updatedReplicas")
	if readyReplicas < want || updated < want {
		return false, fmt.Sprintf("%d of %d replicas ready", readyReplicas, want)
	}
	return true, ""
}

func jobReadiness(o *composed.Unstructured) (bool, string) {
	if c, ok := condition(o.Object, "Complete"); ok && c.status == "True" {
		return true, ""
	}
	if c, ok := condition(o.Object, "Failed"); ok && c.status == "True" {
		return false, "failed: " + c.message
	}
	return false, "running"
}

// cond is the part of a status condition readiness looks at.
type cond struct{ status, reason, message string }

// condition finds a condition in an object's status.conditions.
func condition(obj map[string]any, typ string) (cond, bool) {
	return conditionIn(slice(obj, "status", "conditions"), typ)
}

// conditionIn finds a condition in a list of conditions, such as those of
// each parent in an HTTPRoute's status.parents.
func conditionIn(conditions []any, typ string) (cond, bool) {
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		s, _ := m["status"].(string)
		r, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		return cond{status: s, reason: r, message: msg}, true
	}
	return cond{}, false
}

// The helpers below read unstructured content without failing: observed
// objects come from the API server and may lack any field.

func field(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func str(obj map[string]any, path ...string) string {
	s, _ := field(obj, path...).(string)
	return s
}

func slice(obj map[string]any, path ...string) []any {
	s, _ := field(obj, path...).([]any)
	return s
}

func num(obj map[string]any, path ...string) (int64, bool) {
	switch v := field(obj, path...).(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	}
	return 0, false
}
