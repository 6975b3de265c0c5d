package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorsAreJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.signup(t, "e@example.com")
	big := `{"email":"` + strings.Repeat("a", 70_000) + `@example.com","password":"x","name":"n"}`
	type want struct {
		Status int
		Code   string
		Field  string
	}
	cases := map[string]struct {
		reason string
		method string
		path   string
		token  string
		body   any
		want   want
	}{
		"Oversized":       {reason: "bodies over the limit are refused", method: "POST", path: "/api/v1/auth/register", body: big, want: want{413, "too_large", ""}},
		"Malformed":       {reason: "not JSON", method: "POST", path: "/api/v1/auth/login", body: "email=a", want: want{400, "malformed_json", ""}},
		"TwoObjects":      {reason: "one object only", method: "POST", path: "/api/v1/auth/login", body: `{"email":"a"}{"email":"b"}`, want: want{400, "malformed_json", ""}},
		"Array":           {reason: "an array is not an object", method: "POST", path: "/api/v1/auth/login", body: `[1,2]`, want: want{400, "malformed_json", ""}},
		"Empty":           {reason: "no body", method: "POST", path: "/api/v1/auth/login", body: "", want: want{400, "malformed_json", ""}},
		"NoRoute":         {reason: "unknown endpoint", method: "GET", path: "/api/v1/nope", want: want{404, "not_found", ""}},
		"NoMethod":        {reason: "wrong method", method: "PUT", path: "/api/v1/me", token: p.AccessToken, want: want{405, "method_not_allowed", ""}},
		"NoCluster":       {reason: "without a cluster workspace endpoints say so", method: "GET", path: "/api/v1/workspaces", token: p.AccessToken, want: want{503, "unavailable", ""}},
		"NotAdmin":        {reason: "users cannot use admin routes", method: "GET", path: "/api/v1/admin/users", token: p.AccessToken, want: want{403, "forbidden", ""}},
		"InjectionInPath": {reason: "a name that cannot exist is not found, never an error", method: "GET", path: "/api/v1/workspaces/x'%20OR%20'1'='1", token: p.AccessToken, want: want{404, "not_found", ""}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, tc.token, tc.body)
			got := want{Status: r.Status}
			got.Code, got.Field = r.Error(t)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s\n%s", tc.reason, diff, r.Body)
			}
		})
	}
}

// TestOversizedChunkedBody sends a body without Content-Length, so only the
// reader limit can stop it.
func TestOversizedChunkedBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"email":"`))
		for range 200 {
			if _, err := pw.Write([]byte(strings.Repeat("a", 1024))); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/auth/login", pr)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too_large") {
		t.Errorf("chunked oversized body: %d %s", resp.StatusCode, body)
	}
}

// TestOpenAPIMatchesRoutes checks that every registered route is documented
// and every documented operation is registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do(t, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	var registered []string
	for _, rt := range e.srv.Engine().Routes() {
		// Gin writes :name where OpenAPI writes {name}.
		parts := strings.Split(rt.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		registered = append(registered, rt.Method+" "+strings.Join(parts, "/"))
	}
	slices.Sort(documented)
	slices.Sort(registered)
	if diff := cmp.Diff(registered, documented); diff != "" {
		t.Errorf("routes (-registered +documented):\n%s", diff)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, envOptions{})
	healthz := e.do(t, "GET", "/healthz", "", nil)
	readyz := e.do(t, "GET", "/readyz", "", nil)
	metrics := e.do(t, "GET", "/metrics", "", nil)
	got := []int{healthz.Status, readyz.Status, metrics.Status}
	if diff := cmp.Diff([]int{200, 200, 200}, got); diff != "" {
		t.Errorf("healthz, readyz, metrics (-want +got):\n%s", diff)
	}
	if c := readyz.JSON(t)["checks"].(map[string]any); c["database"] != "ok" || c["cluster"] != "not configured" {
		t.Errorf("readyz checks: %s", readyz.Body)
	}
	if !strings.Contains(string(metrics.Body), `portal_http_requests_total{code="200",method="GET",route="/healthz"} 1`) {
		t.Errorf("metrics do not count the healthz request:\n%.2000s", metrics.Body)
	}
	// A closed database makes the portal unready.
	_ = e.store.Close()
	if r := e.do(t, "GET", "/readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed: %d %s", r.Status, r.Body)
	}
}

func TestAdmin(t *testing.T) {
	for backend, dsn := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, envOptions{dsn: dsn(t)})
			user := e.signup(t, "user@example.com")
			e.signup(t, "boss@example.com")
			e.makeAdmin(t, "boss@example.com")
			boss := e.login(t, "boss@example.com", "passw0rd-long") // the role is in new tokens
			me := e.do(t, "GET", "/api/v1/me", boss.AccessToken, nil).JSON(t)
			uid := int(e.do(t, "GET", "/api/v1/me", user.AccessToken, nil).JSON(t)["id"].(float64))
			bossID := int(me["id"].(float64))
			path := func(id int) string { return "/api/v1/admin/users/" + strconv.Itoa(id) }

			list := e.do(t, "GET", "/api/v1/admin/users?limit=10", boss.AccessToken, nil)
			quota := e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"workspaceQuota": 5})
			promote := e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"role": "admin"})
			badRole := e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"role": "root"})
			badQuota := e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"workspaceQuota": -1})
			selfDemote := e.do(t, "PATCH", path(bossID), boss.AccessToken, map[string]any{"role": "user"})
			missing := e.do(t, "PATCH", path(99999), boss.AccessToken, map[string]any{"role": "user"})
			resetQuota := e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"workspaceQuota": nil, "role": "user"})
			// Demotion is checked against the database at once, not at token expiry.
			e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"role": "admin"})
			promoted := e.login(t, "user@example.com", "passw0rd-long")
			e.do(t, "PATCH", path(uid), boss.AccessToken, map[string]any{"role": "user"})
			demoted := e.do(t, "GET", "/api/v1/admin/users", promoted.AccessToken, nil)
			noCluster := e.do(t, "GET", "/api/v1/admin/workspaces", boss.AccessToken, nil)

			got := []int{list.Status, quota.Status, promote.Status, badRole.Status, badQuota.Status, selfDemote.Status, missing.Status, resetQuota.Status, demoted.Status, noCluster.Status}
			want := []int{200, 200, 200, 400, 400, 400, 404, 200, 403, 503}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("list, quota, promote, bad role, bad quota, self-demote, missing, reset, demoted token, workspaces without cluster (-want +got):\n%s", diff)
			}
			if l := list.JSON(t); l["total"] != float64(2) {
				t.Errorf("user list: %s", list.Body)
			}
			if q := quota.JSON(t)["workspaceQuota"]; q != float64(5) {
				t.Errorf("quota set: %v", q)
			}
			if q := resetQuota.JSON(t)["workspaceQuota"]; q != float64(e.cfg.WorkspaceQuota) {
				t.Errorf("quota reset to the default: %v", q)
			}
		})
	}
}
