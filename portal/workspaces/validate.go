package workspaces

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/apierr"
)

// These mirror the XRD's OpenAPI and CEL rules (apis/v1alpha1 markers), so a
// user gets a 400 naming the field before the API server is asked. The API
// server stays the authority: its 422s are mapped too.
var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	modelName    = regexp.MustCompile(`^([a-zA-Z0-9][a-zA-Z0-9._-]*(:[0-9]{1,5})?/)?([a-zA-Z0-9][a-zA-Z0-9._-]{0,79}/)?[a-zA-Z0-9][a-zA-Z0-9._-]{0,79}(:[a-zA-Z0-9_][a-zA-Z0-9._-]{0,79})?$`)
	patternName  = regexp.MustCompile(`^[a-z0-9_]+$`)
	variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	duration     = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)
	quantity     = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`)
	storageClass = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
)

// parameters Ollama accepts in an assistant (the XRD's CEL list).
var parameters = []string{"num_ctx", "num_predict", "num_keep", "temperature", "top_k", "top_p", "min_p",
	"typical_p", "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty", "seed", "stop"}

// ValidateName checks a workspace (claim) name.
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > 63 || !dnsLabel.MatchString(name) {
		return apierr.Invalid("name", "name must be a DNS label: 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit")
	}
	return nil
}

// ValidateSpec checks a spec the portal is about to write. old is the
// current spec on an update (nil on create), for the immutability rules.
func ValidateSpec(s v1alpha1.WorkspaceSpec, old *v1alpha1.WorkspaceSpec) error {
	if s.Size != "" && !slices.Contains(v1alpha1.Sizes, s.Size) {
		return apierr.Invalid("size", "size must be one of %v", v1alpha1.Sizes)
	}
	if len(s.Models) > 16 {
		return apierr.Invalid("models", "at most 16 models")
	}
	for i, m := range s.Models {
		f := fmt.Sprintf("models[%d]", i)
		if len(m) == 0 || len(m) > 200 || !modelName.MatchString(string(m)) {
			return apierr.Invalid(f, "%q is not an Ollama model name ([host[:port]/][namespace/]model[:tag])", m)
		}
		if slices.Index(s.Models, m) != i {
			return apierr.Invalid(f, "model %q is listed twice", m)
		}
	}
	if len(s.Assistants) > 32 {
		return apierr.Invalid("assistants", "at most 32 assistants")
	}
	seen := map[string]bool{}
	for i, a := range s.Assistants {
		if err := validateAssistant(fmt.Sprintf("assistants[%d]", i), a, s.Models); err != nil {
			return err
		}
		if seen[a.Name] {
			return apierr.Invalid(fmt.Sprintf("assistants[%d].name", i), "assistant %q is listed twice", a.Name)
		}
		seen[a.Name] = true
	}
	if d := s.ScaleToZero.IdleAfter; d != "" {
		v, err := time.ParseDuration(d)
		if len(d) > 32 || !duration.MatchString(d) || err != nil || v < time.Minute || v > 24*time.Hour {
			return apierr.Invalid("scaleToZero.idleAfter", "idleAfter must be a duration between 1m and 24h, e.g. 15m or 1h30m")
		}
	}
	if err := validateQuantity("storage.models", s.Storage.Models, "1Gi", "10Ti"); err != nil {
		return err
	}
	if err := validateQuantity("storage.data", s.Storage.Data, "100Mi", "1Ti"); err != nil {
		return err
	}
	if c := s.Storage.StorageClassName; c != "" && (len(c) > 253 || !storageClass.MatchString(c)) {
		return apierr.Invalid("storage.storageClassName", "storageClassName must be a DNS subdomain")
	}
	if old != nil {
		return validateTransition(s, *old)
	}
	return nil
}

func validateAssistant(f string, a v1alpha1.Assistant, models []v1alpha1.ModelName) error {
	if len(a.Name) == 0 || len(a.Name) > 63 || !dnsLabel.MatchString(a.Name) {
		return apierr.Invalid(f+".name", "assistant name must be a DNS label (lower-case letters, digits, '-')")
	}
	if !slices.Contains(models, a.From) {
		return apierr.Invalid(f+".from", "from must name a model listed in models (got %q)", a.From)
	}
	if len(a.Patterns) < 1 || len(a.Patterns) > 8 {
		return apierr.Invalid(f+".patterns", "an assistant needs 1 to 8 patterns")
	}
	for j, p := range a.Patterns {
		if len(p) == 0 || len(p) > 100 || !patternName.MatchString(string(p)) {
			return apierr.Invalid(fmt.Sprintf("%s.patterns[%d]", f, j), "pattern names match ^[a-z0-9_]+$ (got %q)", p)
		}
	}
	if len(a.Variables) > 32 {
		return apierr.Invalid(f+".variables", "at most 32 variables")
	}
	for k := range a.Variables {
		if !variableName.MatchString(k) {
			return apierr.Invalid(f+".variables", "variable name %q must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most 63 characters)", k)
		}
	}
	if len(a.Parameters) > 16 {
		return apierr.Invalid(f+".parameters", "at most 16 parameters")
	}
	for k := range a.Parameters {
		if !slices.Contains(parameters, k) {
			return apierr.Invalid(f+".parameters", "parameter %q is not one of %v", k, parameters)
		}
	}
	return nil
}

func validateQuantity(f, v, min, max string) error {
	if v == "" {
		return nil
	}
	q, err := resource.ParseQuantity(v)
	if len(v) > 16 || !quantity.MatchString(v) || err != nil {
		return apierr.Invalid(f, "%q is not a size such as 20Gi", v)
	}
	if q.Cmp(resource.MustParse(min)) < 0 || q.Cmp(resource.MustParse(max)) >= 0 {
		return apierr.Invalid(f, "must be at least %s and less than %s", min, max)
	}
	return nil
}

func validateTransition(s, old v1alpha1.WorkspaceSpec) error {
	if old.Storage.Models != "" && s.Storage.Models != old.Storage.Models {
		return apierr.Invalid("storage.models", "storage.models is immutable: the Ollama volume cannot change size")
	}
	if old.Storage.Data != "" {
		if s.Storage.Data == "" {
			return apierr.Invalid("storage.data", "storage.data may grow but never shrink")
		}
		was, err := resource.ParseQuantity(old.Storage.Data)
		if now, _ := resource.ParseQuantity(s.Storage.Data); err == nil && now.Cmp(was) < 0 {
			return apierr.Invalid("storage.data", "storage.data may grow but never shrink (now %s)", old.Storage.Data)
		}
	}
	if s.Storage.StorageClassName != old.Storage.StorageClassName {
		return apierr.Invalid("storage.storageClassName", "storage.storageClassName is immutable")
	}
	return nil
}
