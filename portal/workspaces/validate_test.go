package workspaces

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/apierr"
)

func TestValidateSpec(t *testing.T) {
	base := func(edit func(*v1alpha1.WorkspaceSpec)) v1alpha1.WorkspaceSpec {
		s := v1alpha1.WorkspaceSpec{
			Size:   v1alpha1.SizeSmall,
			Models: []v1alpha1.ModelName{"llama3.2:1b", "registry.example.com:5000/team/qwen2.5:0.5b"},
			Assistants: []v1alpha1.Assistant{{
				Name: "summarizer", From: "llama3.2:1b", Patterns: []v1alpha1.PatternName{"summarize", "extract_wisdom"},
				Variables: map[string]string{"role": "editor"}, Parameters: map[string]string{"temperature": "0.2"},
			}},
			ScaleToZero: v1alpha1.ScaleToZero{IdleAfter: "30m"},
			Storage:     v1alpha1.Storage{Models: "20Gi", Data: "2Gi"},
		}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	cases := map[string]struct {
		reason string
		spec   v1alpha1.WorkspaceSpec
		old    *v1alpha1.WorkspaceSpec
		want   string // the field named, "" for valid
	}{
		"Valid":           {reason: "a full valid spec", spec: base(nil)},
		"Empty":           {reason: "every field is optional", spec: v1alpha1.WorkspaceSpec{}},
		"BadSize":         {reason: "size is an enum", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Size = "huge" }), want: "size"},
		"BadModel":        {reason: "model names follow Ollama's syntax", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Models[1] = "bad model;rm -rf" }), want: "models[1]"},
		"DuplicateModel":  {reason: "models are a set", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Models[1] = s.Models[0] }), want: "models[1]"},
		"TooManyModels":   {reason: "at most 16", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Models = make([]v1alpha1.ModelName, 17) }), want: "models"},
		"FromNotInModels": {reason: "an assistant's from must be listed in models", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].From = "mistral" }), want: "assistants[0].from"},
		"BadAssistantName": {reason: "assistant names are DNS labels",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Name = "Not_A_Label" }), want: "assistants[0].name"},
		"NoPatterns":   {reason: "at least one pattern", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Patterns = nil }), want: "assistants[0].patterns"},
		"NinePatterns": {reason: "at most eight patterns", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Patterns = make([]v1alpha1.PatternName, 9) }), want: "assistants[0].patterns"},
		"BadPattern": {reason: "pattern names match ^[a-z0-9_]+$",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Patterns[1] = "../etc/passwd" }), want: "assistants[0].patterns[1]"},
		"BadVariable": {reason: "variable names are identifiers",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Variables = map[string]string{"1x": ""} }), want: "assistants[0].variables"},
		"BadParameter": {reason: "only known Ollama parameters",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Parameters = map[string]string{"rm": "1"} }), want: "assistants[0].parameters"},
		"DuplicateAssistant": {reason: "assistants are a map keyed by name",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Assistants = append(s.Assistants, s.Assistants[0]) }), want: "assistants[1].name"},
		"IdleTooShort":    {reason: "idleAfter at least 1m", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "30s" }), want: "scaleToZero.idleAfter"},
		"IdleNotDuration": {reason: "idleAfter is a duration", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "soon" }), want: "scaleToZero.idleAfter"},
		"ModelsTooSmall":  {reason: "models volume at least 1Gi", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.Models = "500Mi" }), want: "storage.models"},
		"DataNotQuantity": {reason: "sizes are quantities", spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "lots" }), want: "storage.data"},
		"BadClass": {reason: "storage class is a DNS subdomain",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.StorageClassName = strings.Repeat("A", 3) }), want: "storage.storageClassName"},
		"ModelsImmutable": {reason: "the models volume cannot change",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.Models = "40Gi" }), old: ptr(base(nil)), want: "storage.models"},
		"DataShrinks": {reason: "data may not shrink",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "1Gi" }), old: ptr(base(nil)), want: "storage.data"},
		"DataGrows": {reason: "data may grow",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "4Gi" }), old: ptr(base(nil))},
		"ClassImmutable": {reason: "storage class cannot change",
			spec: base(func(s *v1alpha1.WorkspaceSpec) { s.Storage.StorageClassName = "fast" }), old: ptr(base(nil)), want: "storage.storageClassName"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := ValidateSpec(tc.spec, tc.old)
			got := ""
			if err != nil {
				e, ok := apierr.As(err)
				if !ok || e.Status != 400 || e.Field == "" {
					t.Fatalf("%s: want a 400 naming a field, got %v", tc.reason, err)
				}
				got = e.Field
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: field (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestValidateName(t *testing.T) {
	cases := map[string]struct {
		reason string
		name   string
		want   bool
	}{
		"Good":      {reason: "a DNS label", name: "my-workspace-1", want: true},
		"Upper":     {reason: "upper case is not a DNS label", name: "MyWorkspace"},
		"Dash":      {reason: "must not start with a dash", name: "-x"},
		"Long":      {reason: "at most 63 characters", name: strings.Repeat("a", 64)},
		"Injection": {reason: "SQL-shaped input", name: "x' OR '1'='1"},
		"Path":      {reason: "path traversal", name: "../secrets"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ValidateName(tc.name) == nil; got != tc.want {
				t.Errorf("%s: ok = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

func TestMergePatch(t *testing.T) {
	cases := map[string]struct {
		reason        string
		target, patch map[string]any
		want          map[string]any
	}{
		"Replace": {reason: "scalars and lists are replaced",
			target: map[string]any{"size": "small", "models": []any{"a"}}, patch: map[string]any{"models": []any{"b"}},
			want: map[string]any{"size": "small", "models": []any{"b"}}},
		"Merge": {reason: "objects merge key by key",
			target: map[string]any{"storage": map[string]any{"models": "20Gi", "data": "2Gi"}}, patch: map[string]any{"storage": map[string]any{"data": "4Gi"}},
			want: map[string]any{"storage": map[string]any{"models": "20Gi", "data": "4Gi"}}},
		"Delete": {reason: "null removes a key",
			target: map[string]any{"size": "small", "models": []any{"a"}}, patch: map[string]any{"size": nil},
			want: map[string]any{"models": []any{"a"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mergePatch(tc.target, tc.patch)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
