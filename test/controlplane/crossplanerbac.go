package controlplane

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// The RBAC templates of Crossplane's Helm chart that a real install applies.
// The harness renders them from the chart in the Go module cache instead of
// keeping a copy, so a Crossplane bump brings its new roles along.
var crossplaneRBACTemplates = []string{
	"clusterrole.yaml",
	"clusterrolebinding.yaml",
	"rbac-manager-clusterrole.yaml",
	"rbac-manager-clusterrolebinding.yaml",
	"rbac-manager-managed-clusterroles.yaml",
	"rbac-manager-allowed-provider-permissions.yaml",
}

// The ClusterRoleBindings of the chart that name the two ServiceAccounts of a
// real install; the harness binds the same roles to its envtest users.
const (
	// crossplaneClusterRole aggregates every role labelled
	// rbac.crossplane.io/aggregate-to-crossplane; core is bound to it.
	crossplaneClusterRole = "crossplane"

	coreBinding        = "crossplane"
	rbacManagerBinding = "crossplane-rbac-manager"
)

// renderCrossplaneRBAC renders the chart's RBAC with its default values and
// rewrites the subjects of the core and RBAC manager bindings to the given
// users, the identities core and the RBAC manager run as here.
func renderCrossplaneRBAC(chartDir, coreUser, rbacManagerUser string) ([]*unstructured.Unstructured, error) {
	chart, err := readChartMeta(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	// Only the values these templates read; they are the chart's defaults.
	data := map[string]any{
		"Chart":   chart,
		"Release": map[string]any{"Name": "crossplane", "Namespace": "crossplane-system", "Service": "Helm"},
		"Values": map[string]any{
			"nameOverride":   "",
			"customLabels":   map[string]any{},
			"serviceAccount": map[string]any{"create": true, "name": ""},
			"rbacManager":    map[string]any{"deploy": true, "skipAggregatedClusterRoles": false},
		},
	}
	tmpl, err := parseChartTemplates(filepath.Join(chartDir, "templates"))
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for _, name := range crossplaneRBACTemplates {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, fmt.Errorf("cannot render %s of the Crossplane chart: %w", name, err)
		}
		o, err := DecodeManifests(&buf)
		if err != nil {
			return nil, fmt.Errorf("rendered %s: %w", name, err)
		}
		objs = append(objs, o...)
	}
	bound := map[string]string{coreBinding: coreUser, rbacManagerBinding: rbacManagerUser}
	for _, o := range objs {
		user, ok := bound[o.GetName()]
		if o.GetKind() != "ClusterRoleBinding" || !ok {
			continue
		}
		subjects := []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}}
		if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
			return nil, err
		}
		delete(bound, o.GetName())
	}
	if len(bound) != 0 {
		return nil, fmt.Errorf("the Crossplane chart has no ClusterRoleBinding %v any more: update the harness", bound)
	}
	return objs, nil
}

func readChartMeta(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := sigsyaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return map[string]any{"Name": c.Name, "Version": c.Version, "AppVersion": c.AppVersion}, nil
}

// parseChartTemplates parses the chart's helpers and RBAC templates with the
// few Sprig functions they use (Helm itself would be a heavy dependency for
// six small templates). A chart bump that uses another function fails here,
// loudly.
func parseChartTemplates(dir string) (*template.Template, error) {
	t := template.New("chart")
	t.Funcs(template.FuncMap{
		"default": func(def, v any) any {
			if v == nil || v == "" {
				return def
			}
			return v
		},
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"quote":      func(s any) string { return strconv.Quote(fmt.Sprint(s)) },
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"toYaml": func(v any) (string, error) {
			b, err := sigsyaml.Marshal(v)
			return strings.TrimSuffix(string(b), "\n"), err
		},
		"include": func(name string, data any) (string, error) {
			var buf bytes.Buffer
			err := t.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
	})
	for _, n := range append([]string{"_helpers.tpl"}, crossplaneRBACTemplates...) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		if _, err := t.New(n).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("cannot parse %s of the Crossplane chart: %w", n, err)
		}
	}
	return t, nil
}
