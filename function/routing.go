package function

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
)

// Browsers reach Open WebUI at <id>.<domain>. With scale to zero the route
// goes through the KEDA HTTP interceptor, which holds the request while the
// workspace wakes and counts traffic so KEDA knows when it is idle; without
// it the route goes straight to Open WebUI's Service.

const (
	routeName       = "open-webui"
	interceptorName = "keda-interceptor"
	webUIServPort   = 80
)

// backend is the Service (and port) the route sends traffic to.
func (w *workspace) backend() (name string, port int32) {
	if w.scaleToZero {
		return interceptorName, w.p.interceptor.Port
	}
	return webUIName, webUIServPort
}

// interceptorService lets an Ingress in the workspace namespace route to the
// interceptor in KEDA's namespace: Ingress backends must be local Services.
func (w *workspace) interceptorService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: w.meta(interceptorName, componentWebUI),
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: w.p.interceptor.Service + "." + w.p.interceptor.Namespace + ".svc.cluster.local",
			Ports: []corev1.ServicePort{{
				Name: "http", Port: w.p.interceptor.Port, Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

func (w *workspace) ingress() *networkingv1.Ingress {
	name, port := w.backend()
	m := w.meta(routeName, componentWebUI)
	if len(w.p.ingress.Annotations) > 0 {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		maps.Copy(m.Annotations, w.p.ingress.Annotations)
	}
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: m,
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: w.host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: ptr(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: name, Port: networkingv1.ServiceBackendPort{Number: port},
						}},
					}},
				}},
			}},
		},
	}
	if c := w.p.ingress.ClassName; c != "" {
		ing.Spec.IngressClassName = ptr(c)
	}
	if s := w.p.ingress.TLSSecretName; s != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{w.host}, SecretName: s}}
	}
	return ing
}

// The Gateway API types the function composes, limited to the fields it
// sets. Their schemas come from the Gateway API CRDs; the render tests
// validate the output against them where the CRDs are at hand.

// HTTPRoute is a gateway.networking.k8s.io/v1 HTTPRoute.
type HTTPRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              HTTPRouteSpec `json:"spec"`
}

// HTTPRouteSpec is the part of an HTTPRoute's spec the function sets.
type HTTPRouteSpec struct {
	ParentRefs []ParentReference `json:"parentRefs"`
	Hostnames  []string          `json:"hostnames"`
	Rules      []HTTPRouteRule   `json:"rules"`
}

// ParentReference points at a Gateway.
type ParentReference struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace,omitempty"`
	SectionName string `json:"sectionName,omitempty"`
}

// HTTPRouteRule sends everything to its backends.
type HTTPRouteRule struct {
	BackendRefs []BackendRef `json:"backendRefs"`
}

// BackendRef is a Service and port.
type BackendRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Port      int32  `json:"port"`
}

// ReferenceGrant is a gateway.networking.k8s.io/v1beta1 ReferenceGrant.
type ReferenceGrant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ReferenceGrantSpec `json:"spec"`
}

// ReferenceGrantSpec allows references from some objects to others.
type ReferenceGrantSpec struct {
	From []ReferenceGrantFrom `json:"from"`
	To   []ReferenceGrantTo   `json:"to"`
}

// ReferenceGrantFrom names the referring kind and namespace.
type ReferenceGrantFrom struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
}

// ReferenceGrantTo names the referred kind (and name).
type ReferenceGrantTo struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name,omitempty"`
}

// httpRoute attaches the workspace host to the platform's Gateway. Gateway
// implementations do not follow ExternalName Services, so with scale to
// zero the route points straight at the interceptor in KEDA's namespace,
// which referenceGrant allows.
func (w *workspace) httpRoute() *HTTPRoute {
	ref := BackendRef{Name: webUIName, Port: webUIServPort}
	if w.scaleToZero {
		ref = BackendRef{Name: w.p.interceptor.Service, Namespace: w.p.interceptor.Namespace, Port: w.p.interceptor.Port}
	}
	return &HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: w.meta(routeName, componentWebUI),
		Spec: HTTPRouteSpec{
			ParentRefs: []ParentReference{{Name: w.p.gateway.Name, Namespace: w.p.gateway.Namespace, SectionName: w.p.gateway.SectionName}},
			Hostnames:  []string{w.host},
			Rules:      []HTTPRouteRule{{BackendRefs: []BackendRef{ref}}},
		},
	}
}

// referenceGrant lives in KEDA's namespace and lets exactly this
// workspace's HTTPRoute reference the interceptor Service.
func (w *workspace) referenceGrant() *ReferenceGrant {
	m := w.meta(w.p.namespacePrefix+w.id, componentWebUI)
	m.Namespace = w.p.interceptor.Namespace
	return &ReferenceGrant{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1beta1", Kind: "ReferenceGrant"},
		ObjectMeta: m,
		Spec: ReferenceGrantSpec{
			From: []ReferenceGrantFrom{{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Namespace: w.namespace}},
			To:   []ReferenceGrantTo{{Group: "", Kind: "Service", Name: w.p.interceptor.Service}},
		},
	}
}

func (p *platform) gatewayMode() bool { return p.routingMode == v1beta1.RoutingGatewayAPI }
