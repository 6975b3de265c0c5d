package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// Cluster is a running kube-apiserver + etcd with the claim CRD installed.
type Cluster struct {
	env *envtest.Environment
	// Config is an admin identity.
	Config *rest.Config
	// Admin is a client with that identity.
	Admin client.Client
}

// StartCluster starts envtest with the binaries from test/toolchain (built
// into the user cache once; KUBEBUILDER_ASSETS overrides) and installs the
// claim CRD. Progress of a first-time build goes to log.
func StartCluster(ctx context.Context, log io.Writer) (*Cluster, error) {
	if _, err := toolchain.Etcd.Path(ctx, log); err != nil {
		return nil, err
	}
	bin, err := toolchain.KubeAPIServer.Path(ctx, log)
	if err != nil {
		return nil, err
	}
	crd, err := ClaimCRD(ctx)
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: filepath.Dir(bin),
		CRDs:                  []*apiextensionsv1.CustomResourceDefinition{crd},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Cluster{env: env, Config: cfg, Admin: c}, nil
}

// StartClusterT starts a cluster for t and stops it when t ends; without the
// control-plane binaries it fails in CI and skips elsewhere.
func StartClusterT(t testing.TB) *Cluster {
	t.Helper()
	c, err := StartCluster(context.Background(), os.Stderr)
	if err != nil {
		Unavailable(t, "no kube-apiserver for tests: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Stop stops the control plane.
func (c *Cluster) Stop() { _ = c.env.Stop() }

// Kubeconfig writes a kubeconfig file for a user (see AddUser) into dir and
// returns its path, for processes that take --kubeconfig.
func (c *Cluster) Kubeconfig(dir, name string, groups ...string) (string, error) {
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return "", err
	}
	b, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "kubeconfig")
	return p, os.WriteFile(p, b, 0o600)
}

// AddUser returns a config for a user the API server authenticates (by
// client certificate) but authorises only through RBAC bindings.
func (c *Cluster) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// ClaimCRD derives a CRD for the namespaced AIChatWorkspace claim from the
// Go types: controller-gen generates the composite's CRD from apis/v1alpha1,
// and the claim gets the same schema under the claim names, plus the
// status.conditions Crossplane adds. It stands in for the XRD until the
// control-plane harness with Crossplane is used.
func ClaimCRD(ctx context.Context) (*apiextensionsv1.CustomResourceDefinition, error) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp("", "portal-crd-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	cmd := exec.CommandContext(ctx, "go", "tool", "controller-gen", "crd", "paths=./apis/v1alpha1", "output:crd:dir="+out)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("controller-gen: %w: %s", err, stderr.String())
	}
	// Once apis/v1alpha1 has a root claim type, controller-gen writes its CRD
	// directly; until then the composite's schema is re-scoped below.
	b, err := os.ReadFile(filepath.Join(out, v1alpha1.Group+"_"+v1alpha1.ClaimPlural+".yaml"))
	if err != nil {
		b, err = os.ReadFile(filepath.Join(out, v1alpha1.Group+"_"+v1alpha1.CompositePlural+".yaml"))
	}
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		return nil, err
	}
	crd.Name = v1alpha1.ClaimPlural + "." + v1alpha1.Group
	crd.Spec.Scope = apiextensionsv1.NamespaceScoped
	crd.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{
		Kind: v1alpha1.ClaimKind, ListKind: v1alpha1.ClaimKind + "List",
		Plural: v1alpha1.ClaimPlural, Singular: "aichatworkspace", Categories: []string{"claim"},
	}
	for i := range crd.Spec.Versions {
		s := crd.Spec.Versions[i].Schema.OpenAPIV3Schema
		st := s.Properties["status"]
		if st.Properties == nil {
			st.Properties = map[string]apiextensionsv1.JSONSchemaProps{}
		}
		if _, ok := st.Properties["conditions"]; ok {
			continue
		}
		preserve := true
		st.Properties["conditions"] = apiextensionsv1.JSONSchemaProps{
			Type: "array",
			Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object", XPreserveUnknownFields: &preserve,
			}},
		}
		s.Properties["status"] = st
	}
	return crd, nil
}
