package function

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// The API server validates claims with the XRD's OpenAPI schema and CEL
// rules before the function ever sees them. The function checks again,
// because an XR can be rendered locally, written by an older schema, or
// fuzzed: whatever it gets, it answers with a Fatal result naming the field,
// never with a panic or a half-built workspace.

var (
	modelNameRE   = regexp.MustCompile(`^([a-zA-Z0-9][a-zA-Z0-9._-]*(:[0-9]{1,5})?/)?([a-zA-Z0-9][a-zA-Z0-9._-]{0,79}/)?[a-zA-Z0-9][a-zA-Z0-9._-]{0,79}(:[a-zA-Z0-9_][a-zA-Z0-9._-]{0,79})?$`)
	dnsLabelRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	patternNameRE = regexp.MustCompile(`^[a-z0-9_]+$`)
	variableRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	durationRE    = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)
	quantityRE    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`)
)

// Parameters tenants may set on an assistant, and how each is checked. The
// XRD's CEL rule lists the same names; TestParameterNamesMatchXRD keeps the
// two in step.
var parameterKinds = map[string]string{
	"num_ctx": "int", "num_predict": "int", "num_keep": "int", "top_k": "int",
	"repeat_last_n": "int", "seed": "int",
	"temperature": "float", "top_p": "float", "min_p": "float", "typical_p": "float",
	"repeat_penalty": "float", "presence_penalty": "float", "frequency_penalty": "float",
	"stop": "string",
}

// Limits shared with the XRD schema.
const (
	maxModels     = 16
	maxAssistants = 32
	maxPatterns   = 8
	maxVariables  = 32
	maxParameters = 16
	maxOwner      = 254
	maxValue      = 4096
)

func validateModelName(m string) error {
	if len(m) == 0 || len(m) > 200 || !modelNameRE.MatchString(m) {
		return fmt.Errorf("%q is not an Ollama model name ([host/][namespace/]model[:tag])", m)
	}
	return nil
}

// withDefaults returns the spec with every default of the XRD applied, so
// that a rendered XR without the API server's defaulting composes the same
// workspace as a claim.
func withDefaults(s v1alpha1.WorkspaceSpec) v1alpha1.WorkspaceSpec {
	if s.Size == "" {
		s.Size = v1alpha1.SizeSmall
	}
	if s.ScaleToZero.Enabled == nil {
		t := true
		s.ScaleToZero.Enabled = &t
	}
	if s.ScaleToZero.IdleAfter == "" {
		s.ScaleToZero.IdleAfter = "15m"
	}
	if s.Storage.Models == "" {
		s.Storage.Models = "20Gi"
	}
	if s.Storage.Data == "" {
		s.Storage.Data = "2Gi"
	}
	return s
}

// validateSpec checks a defaulted spec. Every error names the field.
func validateSpec(s v1alpha1.WorkspaceSpec) error {
	if len(s.Owner) > maxOwner {
		return fmt.Errorf("spec.owner: at most %d characters", maxOwner)
	}
	switch s.Size {
	case v1alpha1.SizeXSmall, v1alpha1.SizeSmall, v1alpha1.SizeMedium, v1alpha1.SizeLarge:
	default:
		return fmt.Errorf("spec.size: %q is not one of xsmall, small, medium, large", s.Size)
	}
	if len(s.Models) > maxModels {
		return fmt.Errorf("spec.models: at most %d models, got %d", maxModels, len(s.Models))
	}
	models := make(map[v1alpha1.ModelName]bool, len(s.Models))
	for i, m := range s.Models {
		if err := validateModelName(string(m)); err != nil {
			return fmt.Errorf("spec.models[%d]: %w", i, err)
		}
		if models[m] {
			return fmt.Errorf("spec.models[%d]: %q is listed twice", i, m)
		}
		models[m] = true
	}
	if len(s.Assistants) > maxAssistants {
		return fmt.Errorf("spec.assistants: at most %d assistants, got %d", maxAssistants, len(s.Assistants))
	}
	names := make(map[string]bool, len(s.Assistants))
	for i, a := range s.Assistants {
		if err := validateAssistant(a, models); err != nil {
			return fmt.Errorf("spec.assistants[%d].%w", i, err)
		}
		if names[a.Name] {
			return fmt.Errorf("spec.assistants[%d].name: %q is used by another assistant", i, a.Name)
		}
		// Ollama reads a name without a tag as <name>:latest.
		if models[v1alpha1.ModelName(a.Name)] || models[v1alpha1.ModelName(a.Name+":latest")] {
			return fmt.Errorf("spec.assistants[%d].name: %q is also a base model in spec.models", i, a.Name)
		}
		names[a.Name] = true
	}
	if !durationRE.MatchString(s.ScaleToZero.IdleAfter) {
		return fmt.Errorf("spec.scaleToZero.idleAfter: %q is not a duration such as 15m or 1h30m", s.ScaleToZero.IdleAfter)
	}
	d, err := time.ParseDuration(s.ScaleToZero.IdleAfter)
	if err != nil || d < time.Minute || d > 24*time.Hour {
		return fmt.Errorf("spec.scaleToZero.idleAfter: %q must be between 1m and 24h", s.ScaleToZero.IdleAfter)
	}
	if err := validateQuantity("spec.storage.models", s.Storage.Models, "1Gi", "10Ti"); err != nil {
		return err
	}
	if err := validateQuantity("spec.storage.data", s.Storage.Data, "100Mi", "1Ti"); err != nil {
		return err
	}
	if c := s.Storage.StorageClassName; c != "" && (len(c) > 253 || !storageClassRE.MatchString(c)) {
		return fmt.Errorf("spec.storage.storageClassName: %q is not a valid name", c)
	}
	return nil
}

var storageClassRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// validateAssistant returns errors that start with the field below
// spec.assistants[i]., so the caller can prefix them.
func validateAssistant(a v1alpha1.Assistant, models map[v1alpha1.ModelName]bool) error {
	if len(a.Name) > maxLabel || !dnsLabelRE.MatchString(a.Name) {
		return fmt.Errorf("name: %q is not a DNS label (lower-case letters, digits and '-', at most 63)", a.Name)
	}
	if err := validateModelName(string(a.From)); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if !models[a.From] {
		return fmt.Errorf("from: %q is not listed in spec.models", a.From)
	}
	if len(a.Patterns) < 1 || len(a.Patterns) > maxPatterns {
		return fmt.Errorf("patterns: between 1 and %d patterns, got %d", maxPatterns, len(a.Patterns))
	}
	for j, p := range a.Patterns {
		if len(p) > 100 || !patternNameRE.MatchString(string(p)) {
			return fmt.Errorf("patterns[%d]: %q must match ^[a-z0-9_]+$", j, p)
		}
	}
	if len(a.Variables) > maxVariables {
		return fmt.Errorf("variables: at most %d variables", maxVariables)
	}
	for _, k := range sortedKeys(a.Variables) {
		if !variableRE.MatchString(k) {
			return fmt.Errorf("variables: %q must match ^[A-Za-z_][A-Za-z0-9_]*$", k)
		}
		if len(a.Variables[k]) > maxValue {
			return fmt.Errorf("variables.%s: at most %d characters", k, maxValue)
		}
	}
	if len(a.Parameters) > maxParameters {
		return fmt.Errorf("parameters: at most %d parameters", maxParameters)
	}
	for _, k := range sortedKeys(a.Parameters) {
		if err := validateParameter(k, a.Parameters[k]); err != nil {
			return fmt.Errorf("parameters.%s: %w", k, err)
		}
	}
	return nil
}

func validateParameter(name, value string) error {
	kind, ok := parameterKinds[name]
	if !ok {
		return fmt.Errorf("unknown Ollama parameter; allowed: %s", strings.Join(sortedKeys(parameterKinds), ", "))
	}
	switch kind {
	case "int":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", value)
		}
	case "float":
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return fmt.Errorf("%q is not a number", value)
		}
	default:
		if value == "" || len(value) > 256 {
			return fmt.Errorf("must be 1 to 256 characters")
		}
	}
	return nil
}

func validateQuantity(field, v, lo, hi string) error {
	if len(v) > 16 || !quantityRE.MatchString(v) {
		return fmt.Errorf("%s: %q is not a size such as 20Gi", field, v)
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("%s: %q is not a size such as 20Gi", field, v)
	}
	if q.Cmp(resource.MustParse(lo)) < 0 || q.Cmp(resource.MustParse(hi)) >= 0 {
		return fmt.Errorf("%s: %s must be at least %s and less than %s", field, v, lo, hi)
	}
	return nil
}
