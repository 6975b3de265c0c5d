package function

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func observedSecret(data map[string]string) *composed.Unstructured {
	d := map[string]any{}
	for k, v := range data {
		d[k] = v
	}
	o := composed.New()
	o.Object = map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": secretName}, "data": d}
	return o
}

func TestWorkspaceSecret(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	// 32 bytes of 7, URL-safe base64 without padding: what constReader(7) gives.
	generated := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\x07", 32)))

	type want struct {
		data map[string]string
		err  string
	}
	cases := map[string]struct {
		reason   string
		observed *composed.Unstructured
		random   io.Reader
		want     want
	}{
		"New": {
			reason: "Without an observed Secret both keys are drawn from the reader.",
			random: constReader(7),
			want:   want{data: map[string]string{secretKeyWebUI: generated, secretKeyPipelines: generated}},
		},
		"Kept": {
			reason:   "Observed keys are kept as they are: a new WEBUI_SECRET_KEY would log everybody out.",
			observed: observedSecret(map[string]string{secretKeyWebUI: b64("session-key"), secretKeyPipelines: b64("pipelines-key")}),
			random:   errReader{},
			want:     want{data: map[string]string{secretKeyWebUI: "session-key", secretKeyPipelines: "pipelines-key"}},
		},
		"OneMissing": {
			reason:   "Only the missing key is generated.",
			observed: observedSecret(map[string]string{secretKeyWebUI: b64("session-key")}),
			random:   constReader(7),
			want:     want{data: map[string]string{secretKeyWebUI: "session-key", secretKeyPipelines: generated}},
		},
		"Unusable": {
			reason:   "Empty or undecodable keys are generated again; other keys of the Secret are not carried over.",
			observed: observedSecret(map[string]string{secretKeyWebUI: "", secretKeyPipelines: "%%%not base64", "EXTRA": b64("x")}),
			random:   constReader(7),
			want:     want{data: map[string]string{secretKeyWebUI: generated, secretKeyPipelines: generated}},
		},
		"NoData": {
			reason:   "An observed Secret without data gets both keys.",
			observed: func() *composed.Unstructured { o := observedSecret(nil); delete(o.Object, "data"); return o }(),
			random:   constReader(7),
			want:     want{data: map[string]string{secretKeyWebUI: generated, secretKeyPipelines: generated}},
		},
		"ReaderFails": {
			reason: "A failing reader is an error naming the key.",
			random: errReader{},
			want:   want{err: "cannot generate WEBUI_SECRET_KEY: entropy exhausted"},
		},
		"ReaderShort": {
			reason: "A reader that runs dry is an error too.",
			random: strings.NewReader(strings.Repeat("x", 40)),
			want:   want{err: "cannot generate PIPELINES_API_KEY: unexpected EOF"},
		},
	}
	w := testWorkspace(t, nil, exampleSpec)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := w.workspaceSecret(tc.observed, tc.random)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.want.err, gotErr); diff != "" {
				t.Fatalf("%s\nworkspaceSecret(...): error: -want, +got:\n%s", tc.reason, diff)
			}
			if err != nil {
				return
			}
			got := map[string]string{}
			for k, v := range s.Data {
				got[k] = string(v)
			}
			if diff := cmp.Diff(tc.want.data, got); diff != "" {
				t.Errorf("%s\nworkspaceSecret(...): data: -want, +got:\n%s", tc.reason, diff)
			}
			if s.Name != secretName || s.Namespace != testNamespace || s.Type != corev1.SecretTypeOpaque || s.Kind != "Secret" || s.APIVersion != "v1" {
				t.Errorf("%s\nworkspaceSecret(...): %s %s/%s of type %s", tc.reason, s.Kind, s.Namespace, s.Name, s.Type)
			}
		})
	}
}

func TestWorkspaceSecretDrawsFromReader(t *testing.T) {
	w := testWorkspace(t, nil, exampleSpec)
	a, _ := w.workspaceSecret(nil, constReader(1))
	b, _ := w.workspaceSecret(nil, constReader(2))
	if string(a.Data[secretKeyWebUI]) == string(b.Data[secretKeyWebUI]) {
		t.Error("workspaceSecret(...): two readers gave the same key")
	}
	for k, v := range a.Data {
		if len(v) != 43 || strings.ContainsAny(string(v), "+/=") {
			t.Errorf("workspaceSecret(...): %s %q is not 32 bytes of URL-safe base64", k, v)
		}
	}
}
