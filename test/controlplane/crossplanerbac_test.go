package controlplane

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

func TestRenderCrossplaneRBAC(t *testing.T) {
	dir, err := toolchain.GoModDir(t.Context(), crossplaneModule, crossplaneVersion)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := renderCrossplaneRBAC(filepath.Join(dir, "cluster", "charts", "crossplane"), "core-user", "rbac-user")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byName[o.GetKind()+"/"+o.GetName()] = o
	}

	cases := map[string]struct {
		reason string
		object string
		path   []string
		want   any
	}{
		"CoreRoleAggregates": {
			reason: "core's ClusterRole aggregates every role labelled for it, the product's included",
			object: "ClusterRole/crossplane",
			path:   []string{"aggregationRule", "clusterRoleSelectors"},
			want:   []any{map[string]any{"matchLabels": map[string]any{"rbac.crossplane.io/aggregate-to-crossplane": "true"}}},
		},
		"SystemRoleIsAggregated": {
			reason: "Crossplane's own rules reach core through the same label",
			object: "ClusterRole/crossplane:system:aggregate-to-crossplane",
			path:   []string{"metadata", "labels", "rbac.crossplane.io/aggregate-to-crossplane"},
			want:   "true",
		},
		"CoreBoundToItsUser": {
			reason: "the chart binds a ServiceAccount; the harness binds the user core runs as",
			object: "ClusterRoleBinding/crossplane",
			path:   []string{"subjects"},
			want:   []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "core-user"}},
		},
		"RBACManagerBoundToItsUser": {
			reason: "the RBAC manager runs as its own user",
			object: "ClusterRoleBinding/crossplane-rbac-manager",
			path:   []string{"subjects"},
			want:   []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "rbac-user"}},
		},
		"RBACManagerMayEscalate": {
			reason: "the RBAC manager grants roles it does not hold itself",
			object: "ClusterRole/crossplane-rbac-manager",
			path:   []string{"metadata", "labels", "app.kubernetes.io/name"},
			want:   "crossplane",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o, ok := byName[tc.object]
			if !ok {
				t.Fatalf("%s: %s not rendered; got %v", tc.reason, tc.object, keys(byName))
			}
			got, _, err := unstructured.NestedFieldNoCopy(o.Object, tc.path...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
