package function

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

// testWorkspace is the workspace of the example claim with the given spec
// (JSON) and input.
func testWorkspace(t testing.TB, in *v1beta1.Input, spec string) *workspace {
	t.Helper()
	if in == nil {
		in = &v1beta1.Input{}
	}
	p, err := newPlatform(in)
	if err != nil {
		t.Fatalf("newPlatform: %v", err)
	}
	xr := map[string]any{}
	if err := json.Unmarshal([]byte(`{"spec": `+spec+`}`), &xr); err != nil {
		t.Fatal(err)
	}
	w, err := newWorkspace(xr, testXRName, map[string]string{labelClaimName: testClaimName, labelClaimNamespace: testClaimNamespace}, p)
	if err != nil {
		t.Fatalf("newWorkspace: %v", err)
	}
	return w
}

func TestNewWorkspace(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     *v1beta1.Input
		spec   string
		check  func(t *testing.T, w *workspace)
	}{
		"Example": {
			reason: "The example claim's workspace has the names of examples/observed.yaml.",
			spec:   exampleSpec,
			check: func(t *testing.T, w *workspace) {
				got := []any{w.id, w.namespace, w.host, w.url, w.apiURL, w.models, w.scaleToZero, w.idleAfter}
				want := []any{testID, testNamespace, testID + ".aichat.example.com", "https://" + testID + ".aichat.example.com",
					"https://" + testID + ".aichat.example.com/ollama", []string{"llama3.2:1b", "qwen2.5-coder:1.5b"}, true, int32(1800)}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("-want, +got:\n%s", diff)
				}
			},
		},
		"DefaultModels": {
			reason: "Without models the platform's default models are pulled.",
			in:     &v1beta1.Input{DefaultModels: []string{"phi3:mini", "gemma2:2b"}},
			spec:   `{}`,
			check: func(t *testing.T, w *workspace) {
				if diff := cmp.Diff([]string{"phi3:mini", "gemma2:2b"}, w.models); diff != "" {
					t.Errorf("models: -want, +got:\n%s", diff)
				}
				if w.idleAfter != 900 {
					t.Errorf("idleAfter: want the default 900s, got %d", w.idleAfter)
				}
			},
		},
		"PrefixAndDomain": {
			reason: "The namespace prefix and the domain shape the namespace and the host; the ID leaves room for the prefix.",
			in:     &v1beta1.Input{NamespacePrefix: ptr("ws-"), Domain: "chat.corp.example"},
			spec:   `{}`,
			check: func(t *testing.T, w *workspace) {
				if w.namespace != "ws-"+w.id || w.host != w.id+".chat.corp.example" {
					t.Errorf("namespace %q, host %q", w.namespace, w.host)
				}
			},
		},
		"KEDAOff": {
			reason: "A claim asking for scale to zero gets none when the platform disables KEDA.",
			in:     &v1beta1.Input{KEDA: v1beta1.KEDA{Enabled: ptr(false)}},
			spec:   `{"scaleToZero": {"enabled": true}}`,
			check: func(t *testing.T, w *workspace) {
				if w.scaleToZero {
					t.Error("scaleToZero: want false")
				}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.check(t, testWorkspace(t, tc.in, tc.spec))
		})
	}
}

func TestNewWorkspaceErrors(t *testing.T) {
	p, _ := newPlatform(&v1beta1.Input{})
	cases := map[string]struct {
		reason string
		xr     map[string]any
		name   string
		want   string
	}{
		"NoName":    {"An XR without a name has no workspace.", map[string]any{}, "", "metadata.name"},
		"WrongType": {"A spec that does not decode names spec.", map[string]any{"spec": map[string]any{"size": 3.0}}, "x", "spec:"},
		"Invalid":   {"An invalid spec names its field.", map[string]any{"spec": map[string]any{"size": "tiny"}}, "x", "spec.size"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := newWorkspace(tc.xr, tc.name, nil, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nnewWorkspace(...): want an error naming %s, got %v", tc.reason, tc.want, err)
			}
		})
	}
}

var idRE = regexp.MustCompile(`^([a-z0-9-]+-)?[0-9a-f]{8}$`)

func TestWorkspaceID(t *testing.T) {
	long := strings.Repeat("very-long-name-", 10)
	cases := map[string]struct {
		reason             string
		xr, claim, claimNS string
		maxLen             int
		want               string // "" to check only the shape
		wantPrefix         string
	}{
		"Claim": {
			reason: "A claim's workspace reads <claim namespace>-<claim name>-<hash of the XR name>.",
			xr:     testXRName, claim: testClaimName, claimNS: testClaimNamespace, maxLen: 56,
			want: testID,
		},
		"NoClaim": {
			reason: "An XR without a claim reads <XR name>-<hash>.",
			xr:     "direct", maxLen: 56, wantPrefix: "direct-",
		},
		"Sanitised": {
			reason: "Characters a DNS label cannot hold become single dashes.",
			xr:     "x", claim: "My_Claim..2", claimNS: "Team.A", maxLen: 56, wantPrefix: "team-a-my-claim-2-",
		},
		"Long": {
			reason: "A long name is cut so that the ID fits, without a dash before the hash doubled.",
			xr:     "x", claim: long, claimNS: "ns", maxLen: 56,
		},
		"OnlySymbols": {
			reason: "A name with nothing readable is the hash alone.",
			xr:     "---", maxLen: 56,
		},
		"NoRoom": {
			reason: "With no room for a readable part the ID is the hash.",
			xr:     "abc", maxLen: 9,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := workspaceID(tc.xr, tc.claim, tc.claimNS, tc.maxLen)
			if tc.want != "" && got != tc.want {
				t.Errorf("%s\nworkspaceID(...): want %q, got %q", tc.reason, tc.want, got)
			}
			if !strings.HasPrefix(got, tc.wantPrefix) {
				t.Errorf("%s\nworkspaceID(...): %q does not start with %q", tc.reason, got, tc.wantPrefix)
			}
			if len(got) > tc.maxLen {
				t.Errorf("%s\nworkspaceID(...): %q is longer than %d", tc.reason, got, tc.maxLen)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 || !idRE.MatchString(got) || strings.Contains(got, "--") {
				t.Errorf("%s\nworkspaceID(...): %q is not <readable>-<hash>: %v", tc.reason, got, errs)
			}
			if again := workspaceID(tc.xr, tc.claim, tc.claimNS, tc.maxLen); again != got {
				t.Errorf("%s\nworkspaceID(...) is not deterministic: %q then %q", tc.reason, got, again)
			}
		})
	}
}

func TestWorkspaceIDUnique(t *testing.T) {
	type xr struct{ name, claim, ns string }
	cases := map[string]struct {
		reason string
		a, b   xr
	}{
		"TenantsWithSameReadablePart": {
			reason: `Claim "a-b" in namespace "c" and claim "b" in namespace "c-a" both read c-a-b; their IDs differ.`,
			a:      xr{"a-b-x7k2p", "a-b", "c"},
			b:      xr{"b-q9z3m", "b", "c-a"},
		},
		"RecreatedClaim": {
			reason: "A claim deleted and created again gets a new XR name and so a new namespace.",
			a:      xr{"research-x7k2p", "research", "team-a"},
			b:      xr{"research-m4n8d", "research", "team-a"},
		},
		"LongNamesCutAlike": {
			reason: "Two long claims whose cut readable parts are equal still differ.",
			a:      xr{strings.Repeat("a", 70) + "-1", strings.Repeat("a", 70) + "-1", "ns"},
			b:      xr{strings.Repeat("a", 70) + "-2", strings.Repeat("a", 70) + "-2", "ns"},
		},
		"ClaimAndDirectXR": {
			reason: "A claim's XR and a direct XR with the readable name of the claim differ.",
			a:      xr{"team-a-research", "", ""},
			b:      xr{"research-x7k2p", "research", "team-a"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := workspaceID(tc.a.name, tc.a.claim, tc.a.ns, 56)
			b := workspaceID(tc.b.name, tc.b.claim, tc.b.ns, 56)
			if a == b {
				t.Errorf("%s\nworkspaceID: both are %q", tc.reason, a)
			}
		})
	}
}

func TestWorkspaceIDFitsNamespace(t *testing.T) {
	for _, prefix := range []string{"", "aichat-", "abcdefghijklmno-"} {
		p, err := newPlatform(&v1beta1.Input{NamespacePrefix: ptr(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		w, err := newWorkspace(map[string]any{}, strings.Repeat("x", 253), map[string]string{
			labelClaimName: strings.Repeat("c", 63), labelClaimNamespace: strings.Repeat("n", 63),
		}, p)
		if err != nil {
			t.Fatal(err)
		}
		if errs := validation.IsDNS1123Label(w.namespace); len(errs) > 0 {
			t.Errorf("prefix %q: namespace %q: %v", prefix, w.namespace, errs)
		}
		if errs := validation.IsDNS1123Label(w.id); len(errs) > 0 {
			t.Errorf("prefix %q: id %q: %v", prefix, w.id, errs)
		}
	}
}

func TestDNSLabel(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"Plain":      {"research", "research"},
		"Upper":      {"Research", "research"},
		"Dots":       {"llama3.2:1b", "llama3-2-1b"},
		"Runs":       {"a..__--b", "a-b"},
		"Ends":       {"-_a_-", "a"},
		"Empty":      {"", ""},
		"OnlyDashes": {"---", ""},
		"Unicode":    {"café-über", "caf-ber"},
		"Slash":      {"library/llama3", "library-llama3"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := dnsLabel(tc.in); got != tc.want {
				t.Errorf("dnsLabel(%q): want %q, got %q", tc.in, tc.want, got)
			}
		})
	}
}

func TestLabelValue(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"Email":    {"ada@example.com", "ada_at_example.com"},
		"Plain":    {"Ada.Lovelace-1", "Ada.Lovelace-1"},
		"Spaces":   {"Ada Lovelace", "Ada_Lovelace"},
		"Ends":     {"-.ada_.", "ada"},
		"Empty":    {"", ""},
		"Unicode":  {"zoë", "zo"},
		"Long":     {strings.Repeat("a", 70), strings.Repeat("a", 63)},
		"LongCut":  {strings.Repeat("a", 62) + "@b", strings.Repeat("a", 62)},
		"OnlyJunk": {"@@@", "at__at__at"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := labelValue(tc.in)
			if got != tc.want {
				t.Errorf("labelValue(%q): want %q, got %q", tc.in, tc.want, got)
			}
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Errorf("labelValue(%q) = %q is no label value: %v", tc.in, got, errs)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	w := testWorkspace(t, nil, exampleSpec)
	want := map[string]string{
		"app.kubernetes.io/name":        "ollama",
		"app.kubernetes.io/instance":    testID,
		"app.kubernetes.io/component":   "ollama",
		"app.kubernetes.io/part-of":     "aichat-workspaces",
		"app.kubernetes.io/managed-by":  "crossplane",
		"aichatworkspaces.io/workspace": testID,
		"aichatworkspaces.io/owner":     "ada_at_example.com",
	}
	if diff := cmp.Diff(want, w.labels(componentOllama)); diff != "" {
		t.Errorf("labels: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"app.kubernetes.io/instance": testID, "app.kubernetes.io/component": "ollama"}, w.selector(componentOllama)); diff != "" {
		t.Errorf("selector: -want, +got:\n%s", diff)
	}
	noOwner := testWorkspace(t, nil, `{}`)
	if _, ok := noOwner.labels(componentOllama)[labelOwner]; ok {
		t.Error("labels: an owner label without an owner")
	}
	if noOwner.annotations() != nil {
		t.Errorf("annotations without an owner: %v", noOwner.annotations())
	}
	if diff := cmp.Diff(map[string]string{"aichatworkspaces.io/owner": "ada@example.com"}, w.annotations()); diff != "" {
		t.Errorf("annotations: -want, +got:\n%s", diff)
	}
}
