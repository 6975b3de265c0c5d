package function

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// maxMessage bounds a model's status message: it is shown in kubectl and
// the portal, and status size counts against etcd's object limit.
const maxMessage = 512

// jobSummaries reads the model program's summaries from the termination
// messages of the Jobs' pods, newest pod first per Job.
func jobSummaries(pods []resource.Required) map[string]v1alpha1.ModelJobSummary {
	type seen struct {
		created string
		summary v1alpha1.ModelJobSummary
	}
	latest := map[string]seen{}
	for _, p := range pods {
		if p.Resource == nil {
			continue
		}
		obj := p.Resource.Object
		job := p.Resource.GetLabels()[labelModelJob]
		if job == "" {
			continue
		}
		msg := ""
		for _, cs := range slice(obj, "status", "containerStatuses") {
			m, _ := cs.(map[string]any)
			if m == nil || m["name"] != "model-job" {
				continue
			}
			if msg = str(m, "state", "terminated", "message"); msg == "" {
				msg = str(m, "lastState", "terminated", "message")
			}
		}
		var s v1alpha1.ModelJobSummary
		if msg == "" || json.Unmarshal([]byte(firstLine(msg)), &s) != nil || s.State == "" {
			continue
		}
		created := str(obj, "metadata", "creationTimestamp")
		if prev, ok := latest[job]; ok && prev.created > created {
			continue
		}
		latest[job] = seen{created: created, summary: s}
	}
	out := make(map[string]v1alpha1.ModelJobSummary, len(latest))
	for k, v := range latest {
		out[k] = v.summary
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// modelStatus is the state of one model, from its Job and the Job's pods.
func modelStatus(j modelJob, observed *composed.Unstructured, emitted bool, summaries map[string]v1alpha1.ModelJobSummary) v1alpha1.ModelStatus {
	st := v1alpha1.ModelStatus{Name: j.model, Kind: j.kind}
	s, hasSummary := summaries[j.name]
	switch {
	case !emitted:
		st.State, st.Message = v1alpha1.ModelPending, fmt.Sprintf("waiting for base model %s", j.from)
	case observed == nil:
		st.State, st.Message = v1alpha1.ModelPending, "Job "+j.name+" is being created"
	default:
		if c, ok := condition(observed.Object, "Complete"); ok && c.status == "True" {
			st.State, st.Message = v1alpha1.ModelReady, "ready"
			if hasSummary && s.State == v1alpha1.ModelReady {
				st.Message = s.Message
			}
			break
		}
		if c, ok := condition(observed.Object, "Failed"); ok && c.status == "True" {
			st.State = v1alpha1.ModelFailed
			st.Message = fmt.Sprintf("Job %s failed: %s", j.name, c.message)
			if hasSummary && s.State == v1alpha1.ModelFailed {
				st.Message = s.Message
			}
			break
		}
		if active, _ := num(observed.Object, "status", "active"); active > 0 {
			st.State = v1alpha1.ModelRunning
			st.Message = "pulling " + j.model
			if j.kind == v1alpha1.ModelKindAssistant {
				st.Message = "creating " + j.model + " from " + j.from
			}
			if hasSummary && s.State == v1alpha1.ModelFailed {
				st.Message += "; the last attempt failed: " + s.Message
			}
			break
		}
		st.State, st.Message = v1alpha1.ModelPending, "waiting for the Job's pod to start"
	}
	st.Message = truncate(st.Message, maxMessage)
	return st
}

// readyCount is "ready/all" for the printer column.
func readyCount(models []v1alpha1.ModelStatus) (int, string) {
	n := 0
	for _, m := range models {
		if m.State == v1alpha1.ModelReady {
			n++
		}
	}
	return n, fmt.Sprintf("%d/%d", n, len(models))
}

// previousStates reads the model states the function last wrote to the XR,
// to tell transitions from repeats.
func previousStates(xr map[string]any) map[string]v1alpha1.ModelState {
	prev := map[string]v1alpha1.ModelState{}
	for _, m := range slice(xr, "status", "models") {
		mm, _ := m.(map[string]any)
		name, _ := mm["name"].(string)
		state, _ := mm["state"].(string)
		if name != "" {
			prev[name] = v1alpha1.ModelState(state)
		}
	}
	return prev
}
