package controlplane

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeManifests(t *testing.T) {
	cases := map[string]struct {
		reason  string
		in      string
		want    []string // kind/name of each object
		wantErr bool
	}{
		"MultiDocument": {
			reason: "documents come back in order; empty ones and comments are skipped",
			in: `---
# leading comment
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: a}
`,
			want: []string{"Namespace/a", "ConfigMap/b"},
		},
		"JSON": {
			reason: "JSON manifests are YAML too",
			in:     `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "j"}}`,
			want:   []string{"Namespace/j"},
		},
		"NoKind": {
			reason:  "a document that is not an object is an error, not silently skipped",
			in:      "apiVersion: v1\nmetadata: {name: x}\n",
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objs, err := DecodeManifests(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: error %v, want error %t", tc.reason, err, tc.wantErr)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
