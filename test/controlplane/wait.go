package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"
)

// pollInterval is short because everything here is local: waiting longer
// than needed only slows the tests down.
const pollInterval = 100 * time.Millisecond

// WaitFor polls cond until it returns true, returns an error, or timeout
// passes. On timeout the error carries the last value of describe (what was
// seen), so a failing test says why it waited in vain.
func WaitFor(ctx context.Context, timeout time.Duration, what string, cond func(ctx context.Context) (done bool, seen string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var seen string
	for {
		done, s, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if s != "" {
			seen = s
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s; last seen: %s", timeout, what, seen)
		case <-time.After(pollInterval):
		}
	}
}

// Ref names an object by group/version/kind, namespace and name, for the
// wait helpers that work on any kind.
type Ref struct {
	APIVersion string
	Kind       string
	Namespace  string // empty for cluster-scoped objects
	Name       string
}

func (r Ref) String() string {
	if r.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
	}
	return fmt.Sprintf("%s %s", r.Kind, r.Name)
}

func (r Ref) object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.FromAPIVersionAndKind(r.APIVersion, r.Kind))
	u.SetNamespace(r.Namespace)
	u.SetName(r.Name)
	return u
}

// RefTo returns the Ref of an object that has its apiVersion and kind set.
func RefTo(o client.Object) Ref {
	gvk := o.GetObjectKind().GroupVersionKind()
	return Ref{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

// WaitForConditions waits until the object exists and each of the condition
// types has status "True" (e.g. "Ready", "Synced" on a claim; "Available"
// on a Deployment; "Complete" on a Job).
func WaitForConditions(ctx context.Context, c client.Client, ref Ref, timeout time.Duration, types ...string) error {
	what := fmt.Sprintf("%s to be %s", ref, strings.Join(types, "+"))
	return WaitFor(ctx, timeout, what, func(ctx context.Context) (bool, string, error) {
		u := ref.object()
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				return false, err.Error(), nil
			}
			return false, "", err
		}
		conds := Conditions(u)
		for _, t := range types {
			if conds[t].Status != "True" {
				return false, describeConditions(conds), nil
			}
		}
		return true, "", nil
	})
}

// WaitGone waits until the object no longer exists.
func WaitGone(ctx context.Context, c client.Client, ref Ref, timeout time.Duration) error {
	return WaitFor(ctx, timeout, ref.String()+" to be deleted", func(ctx context.Context) (bool, string, error) {
		u := ref.object()
		err := c.Get(ctx, client.ObjectKeyFromObject(u), u)
		switch {
		case apierrors.IsNotFound(err):
			return true, "", nil
		case err != nil:
			return false, "", err
		}
		seen := "exists"
		if ts := u.GetDeletionTimestamp(); ts != nil {
			seen = fmt.Sprintf("deleting since %s, finalizers %v", ts.UTC().Format(time.RFC3339), u.GetFinalizers())
		}
		return false, seen, nil
	})
}

// A Condition is the part of a status condition the wait helpers read.
type Condition struct {
	Status  string
	Reason  string
	Message string
}

// Conditions returns an object's status.conditions by type.
func Conditions(u *unstructured.Unstructured) map[string]Condition {
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	out := map[string]Condition{}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		out[s("type")] = Condition{Status: s("status"), Reason: s("reason"), Message: s("message")}
	}
	return out
}

func describeConditions(conds map[string]Condition) string {
	if len(conds) == 0 {
		return "no conditions"
	}
	var parts []string
	for t, c := range conds {
		p := fmt.Sprintf("%s=%s", t, c.Status)
		if c.Reason != "" {
			p += " (" + c.Reason
			if c.Message != "" {
				p += ": " + c.Message
			}
			p += ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// WaitCRDsEstablished waits until every named CustomResourceDefinition is
// Established, i.e. its kinds can be used.
func WaitCRDsEstablished(ctx context.Context, c client.Client, timeout time.Duration, names ...string) error {
	deadline := time.Now().Add(timeout)
	for _, n := range names {
		ref := Ref{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: n}
		if err := WaitForConditions(ctx, c, ref, time.Until(deadline), "Established"); err != nil {
			return err
		}
	}
	return nil
}

// WaitXRDOffered waits until Crossplane has established an XRD's composite
// resource and, when it has claimNames, offered its claim.
func WaitXRDOffered(ctx context.Context, c client.Client, name string, timeout time.Duration) error {
	ref := Ref{APIVersion: "apiextensions.crossplane.io/v1", Kind: "CompositeResourceDefinition", Name: name}
	u := ref.object()
	if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return fmt.Errorf("cannot get XRD %s: %w", name, err)
	}
	want := []string{"Established"}
	if _, ok, _ := unstructured.NestedMap(u.Object, "spec", "claimNames"); ok {
		want = append(want, "Offered")
	}
	return WaitForConditions(ctx, c, ref, timeout, want...)
}

var errStopped = errors.New("control plane is stopped")

// Describe returns an object as YAML (without managedFields), or why it
// cannot: for failure messages of tests that waited in vain.
func Describe(ctx context.Context, c client.Client, ref Ref) string {
	u := ref.object()
	if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return fmt.Sprintf("%s: %v", ref, err)
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	b, err := sigsyaml.Marshal(u.Object)
	if err != nil {
		return fmt.Sprintf("%s: %v", ref, err)
	}
	return string(b)
}
