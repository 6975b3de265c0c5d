package controlplane

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestKWOKStages(t *testing.T) {
	objs, err := DecodeManifests(strings.NewReader(kwokStages(1500 * time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		Kind  string
		Delay int64
	}
	got := map[string]stage{}
	for _, o := range objs {
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "resourceRef", "kind")
		delay, _, _ := unstructured.NestedInt64(o.Object, "spec", "delay", "durationMilliseconds")
		got[o.GetName()] = stage{Kind: kind, Delay: delay}
	}
	want := map[string]stage{
		"node-ready":        {Kind: "Node"},
		"node-heartbeat":    {Kind: "Node", Delay: 10000},
		"pod-running":       {Kind: "Pod"},
		"job-pod-succeeded": {Kind: "Pod", Delay: 1500},
		"pod-deleted":       {Kind: "Pod"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stages: -want +got:\n%s", diff)
	}
}
