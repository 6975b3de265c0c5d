package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

const password = "correct-horse-42"

func (p *portal) claim(t *testing.T, name string) (*unstructured.Unstructured, error) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(v1alpha1.APIVersion)
	u.SetKind(v1alpha1.ClaimKind)
	err := p.cluster.Admin.Get(context.Background(), client.ObjectKey{Namespace: p.namespace, Name: name}, u)
	return u, err
}

// setStatus writes a claim's status as Crossplane and the function would.
func (p *portal) setStatus(t *testing.T, name string, status map[string]any) {
	t.Helper()
	u, err := p.claim(t, name)
	if err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = status
	if err := p.cluster.Admin.Status().Update(context.Background(), u); err != nil {
		t.Fatalf("status update: %v", err)
	}
}

func cond(typ, status, reason, msg string) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
}

// TestJourneySQLite and TestJourneyMariaDB walk the main flow on each
// database: sign up, log in, create a workspace, watch its status, open it,
// delete it.
func TestJourneySQLite(t *testing.T)  { mainJourney(t, "sqlite") }
func TestJourneyMariaDB(t *testing.T) { mainJourney(t, "mariadb") }

func mainJourney(t *testing.T, db string) {
	start := time.Now()
	p := startPortal(t, db, nil)
	b := newTab(t, p, "main-"+db)
	email := "ada-" + db + "@example.com"

	b.open("/")
	b.waitPath("/login")
	b.shoot("login")
	b.click("Create an account")
	b.waitPath("/signup")
	b.fill("Name", "Ada Lovelace")
	b.fill("E-mail address", email)
	b.fill("Password", password)
	b.shoot("signup")
	b.click("Create account")
	b.waitPath("/workspaces")
	b.waitText("You have no workspaces yet.")
	b.shoot("list-empty")

	// Log out and in again through the login page.
	b.click("Log out")
	b.waitPath("/login")
	b.waitText("You are logged out.")
	b.fill("E-mail address", email)
	b.fill("Password", password)
	b.click("Log in")
	b.waitPath("/workspaces")

	b.click("New workspace")
	b.waitPath("/workspaces/new")
	b.fill("Workspace name", "team-a")
	b.fill("Model 1", "llama3.2:1b")
	b.click("Add a model")
	b.fill("Model 2", "qwen2.5:0.5b")
	b.click("Add an assistant")
	b.fill("Assistant name", "summarizer")
	b.fill("Based on model", "llama3.2:1b")
	// The pattern suggestions come from /api/v1/patterns.
	b.waitFor("pattern suggestions", `[...document.querySelectorAll('datalist option')].some((o) => o.value === 'extract_wisdom')`, 10*time.Second)
	b.fill("Add a pattern", "summarize")
	b.click("Add pattern")
	b.fill("Add a pattern", "extract_wisdom")
	b.run(chromedp.KeyEvent(kb.Enter)) // Enter in the picker adds, it does not submit
	b.click("Add a variable")
	b.fill("Name", "audience")
	b.run(chromedp.SendKeys(`document.querySelector('.kv-value')`, "engineers", chromedp.ByJSPath))
	b.click("Add a parameter")
	b.fill("Parameter", "temperature")
	b.run(chromedp.SendKeys(`[...document.querySelectorAll('.kv-value')][1]`, "0.2", chromedp.ByJSPath))
	b.fill("Idle time before sleeping", "30m")
	b.shoot("create-filled")
	b.click("Create workspace")
	b.waitPath("/workspaces/team-a")
	b.waitText("was created")

	// What the form sent is what the cluster holds.
	u, err := p.claim(t, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := u.Object["spec"].(map[string]any)
	want := map[string]any{
		"owner": email, "size": "small", "models": []any{"llama3.2:1b", "qwen2.5:0.5b"},
		"assistants": []any{map[string]any{
			"name": "summarizer", "from": "llama3.2:1b", "patterns": []any{"summarize", "extract_wisdom"},
			"variables": map[string]any{"audience": "engineers"}, "parameters": map[string]any{"temperature": "0.2"},
		}},
		"scaleToZero": map[string]any{"enabled": true, "idleAfter": "30m"},
		// Defaults the claim's schema fills in.
		"pipelines": map[string]any{"enabled": false},
		"storage":   map[string]any{"data": "2Gi", "models": "20Gi"},
	}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("claim spec (-want +got):\n%s", diff)
	}

	// The platform reports progress; the detail page polls and shows it.
	p.setStatus(t, "team-a", map[string]any{
		"namespace": "aichat-team-a", "modelsReady": "1/3",
		"models": []any{
			map[string]any{"name": "llama3.2:1b", "kind": "base", "state": "Ready"},
			map[string]any{"name": "qwen2.5:0.5b", "kind": "base", "state": "Running", "message": "pulling 40%"},
			map[string]any{"name": "summarizer", "kind": "assistant", "state": "Pending", "message": "waiting for llama3.2:1b"},
		},
		"resources": []any{map[string]any{"kind": "Deployment", "name": "open-webui", "ready": false, "message": "0 of 1 replicas ready"}},
		"conditions": []any{cond("Synced", "True", "ReconcileSuccess", ""), cond("Ready", "False", "Creating", "Unready resources: open-webui"),
			// The SRE assistant's diagnosis (sre/): shown with the other
			// conditions, and its free text never read as "asleep".
			cond("Incident", "True", "ImagePullFailed", "ImagePullFailed on ReplicaSet/open-webui-1: cannot pull. Diagnosis by tiny: it may be scaled to zero")},
	})
	b.waitText("pulling 40%")
	b.waitText("Diagnosis by tiny")
	var asleepShown bool
	b.eval(`document.body.innerText.includes('Asleep')`, &asleepShown)
	if asleepShown {
		t.Error("an Incident condition's free text must not make the workspace look asleep")
	}
	var snippet string
	b.eval(`document.querySelector('pre.snippet').textContent`, &snippet)
	if !strings.Contains(snippet, p.base+"/llm/team-a/api/chat") || !strings.Contains(snippet, "Bearer $AICHAT_TOKEN") {
		t.Errorf("the API snippet without status.apiUrl should use the portal's gateway path and a placeholder token:\n%s", snippet)
	}
	b.shoot("detail-syncing")

	b.click("My workspaces")
	b.waitPath("/workspaces")
	var card string
	b.waitText("Syncing")
	b.eval(`document.querySelector('li[data-name="team-a"]').innerText`, &card)
	if !strings.Contains(card, "1 of 3") {
		t.Errorf("the card should say 1 of 3 models ready:\n%s", card)
	}

	// Ready and asleep: the list picks it up by polling.
	p.setStatus(t, "team-a", map[string]any{
		"namespace": "aichat-team-a", "modelsReady": "3/3",
		"url": "https://team-a.example.test", "apiUrl": "https://gw.example.test/llm/team-a",
		"models": []any{
			map[string]any{"name": "llama3.2:1b", "kind": "base", "state": "Ready"},
			map[string]any{"name": "qwen2.5:0.5b", "kind": "base", "state": "Ready"},
			map[string]any{"name": "summarizer", "kind": "assistant", "state": "Ready"},
		},
		"resources": []any{
			map[string]any{"kind": "Deployment", "name": "open-webui", "ready": true, "message": "scaled to zero"},
			map[string]any{"kind": "StatefulSet", "name": "ollama", "ready": true, "message": "scaled to zero"},
		},
		"conditions": []any{cond("Synced", "True", "ReconcileSuccess", ""), cond("Ready", "True", "Available", "")},
	})
	b.waitFor("the card to show Ready and asleep", `(() => { const c = document.querySelector('li[data-name="team-a"]'); return c && c.innerText.includes('Ready') && c.innerText.includes('Asleep') && c.innerText.includes('3 of 3'); })()`, 10*time.Second)
	b.shoot("list-ready")

	b.click("team-a")
	b.waitPath("/workspaces/team-a")
	b.waitText("Asleep")
	var openHref string
	b.eval(button("Open workspace (opens in a new tab)")+`.getAttribute('href')`, &openHref)
	b.eval(`document.querySelector('pre.snippet').textContent`, &snippet)
	if openHref != "https://team-a.example.test" || !strings.Contains(snippet, "https://gw.example.test/llm/team-a/api/chat") {
		t.Errorf("open link %q, snippet:\n%s", openHref, snippet)
	}
	b.run(chromedp.SetValue(control("API"), "openai", chromedp.ByJSPath),
		chromedp.Evaluate(control("API")+`.dispatchEvent(new Event('change'))`, nil))
	b.eval(`document.querySelector('pre.snippet').textContent`, &snippet)
	if !strings.Contains(snippet, "https://gw.example.test/llm/team-a/v1/chat/completions") {
		t.Errorf("OpenAI snippet:\n%s", snippet)
	}
	b.shoot("detail-ready")

	b.click("Delete workspace")
	b.waitFor("the confirmation dialog", `!!document.querySelector('dialog[open]')`, 5*time.Second)
	var confirmDisabled bool
	b.eval(button("Delete for good")+`.disabled`, &confirmDisabled)
	if !confirmDisabled {
		t.Error("the delete button must stay disabled until the name is typed")
	}
	b.fill("Type team-a to confirm", "team-a")
	b.shoot("delete-confirm")
	b.click("Delete for good")
	b.waitPath("/workspaces")
	b.waitText("team-a is being deleted")
	if _, err := p.claim(t, "team-a"); !kerrors.IsNotFound(err) {
		t.Errorf("the claim should be gone from the cluster, got %v", err)
	}
	b.shoot("list-after-delete")
	t.Logf("journey on %s took %s", db, time.Since(start).Round(time.Millisecond))
}

// fieldState is what a person sees of a form field: its error message
// and whether it is marked invalid and tied to that message.
type fieldState struct {
	Value     string
	Error     string
	Invalid   bool
	Described bool
	Focused   bool
}

func (b *tab) field(label string) fieldState {
	b.t.Helper()
	var s fieldState
	b.eval(`(() => { const c = `+control(label)+`; const w = c.closest('[data-field]'); const e = w && w.querySelector('.field-error');
		return { Value: c.value, Error: e && !e.hidden ? e.textContent : '', Invalid: c.getAttribute('aria-invalid') === 'true',
		  Described: !!e && (c.getAttribute('aria-describedby') || '').split(' ').includes(e.id), Focused: document.activeElement === c }; })()`, &s)
	return s
}

func TestErrorsSQLite(t *testing.T)  { errorJourney(t, "sqlite") }
func TestErrorsMariaDB(t *testing.T) { errorJourney(t, "mariadb") }

// errorJourney: wrong password, then a workspace form with a bad name, an
// assistant based on a model not listed, and a rule only the API server
// checks. Each error shows next to its field, and nothing typed is lost.
func errorJourney(t *testing.T, db string) {
	p := startPortal(t, db, nil)
	b := newTab(t, p, "errors-"+db)
	p.register(t, "grace@example.com", password)

	b.open("/login")
	b.fill("E-mail address", "grace@example.com")
	b.fill("Password", "not-the-password-1")
	b.click("Log in")
	b.waitFor("the login error", `!!document.querySelector('.form-error:not([hidden])')`, 5*time.Second)
	var alert string
	b.eval(`document.querySelector('.form-error[role=alert]').innerText`, &alert)
	if got := b.field("E-mail address"); !strings.Contains(alert, "wrong e-mail address or password") || got.Value != "grace@example.com" {
		t.Errorf("login error %q, e-mail field %+v", alert, got)
	}
	b.shoot("login-wrong-password")
	b.fill("Password", password)
	b.click("Log in")
	b.waitPath("/workspaces")

	b.open("/workspaces/new")
	b.fill("Workspace name", "Bad_Name")
	b.fill("Model 1", "llama3.2:1b")
	b.click("Add an assistant")
	b.fill("Assistant name", "helper")
	b.fill("Based on model", "mistral:7b")
	b.fill("Add a pattern", "summarize")
	b.click("Add pattern")
	b.click("Create workspace")
	b.waitFor("the name error", `!!document.querySelector('[data-field="name"] .field-error:not([hidden])')`, 5*time.Second)
	got := b.field("Workspace name")
	if diff := cmp.Diff(fieldState{Value: "Bad_Name", Invalid: true, Described: true, Focused: true}, got,
		cmpIgnoreError); diff != "" || !strings.Contains(got.Error, "DNS label") {
		t.Errorf("name field (-want +got):\n%s\nerror: %q", diff, got.Error)
	}
	b.shoot("create-bad-name")

	b.fill("Workspace name", "team-b")
	b.click("Create workspace")
	b.waitFor("the from error", `!!document.querySelector('[data-field="assistants[0].from"] .field-error:not([hidden])')`, 5*time.Second)
	got = b.field("Based on model")
	if diff := cmp.Diff(fieldState{Value: "mistral:7b", Invalid: true, Described: true, Focused: true}, got,
		cmpIgnoreError); diff != "" || !strings.Contains(got.Error, "from must name a model listed in models") {
		t.Errorf("from field (-want +got):\n%s\nerror: %q", diff, got.Error)
	}
	// The name error is gone, everything typed is still there.
	var kept []string
	b.eval(`[`+control("Workspace name")+`.value, `+control("Model 1")+`.value, `+control("Assistant name")+`.value,
		...[...document.querySelectorAll('.chip')].map((c) => c.dataset.pattern)]`, &kept)
	if diff := cmp.Diff([]string{"team-b", "llama3.2:1b", "helper", "summarize"}, kept); diff != "" {
		t.Errorf("form values after the error (-want +got):\n%s", diff)
	}
	if n := b.field("Workspace name"); n.Error != "" || n.Invalid {
		t.Errorf("the fixed name still shows an error: %+v", n)
	}
	b.shoot("create-bad-from")

	// Only the API server knows an assistant must not shadow a base model
	// (a CEL rule): its 422 names spec.assistants, shown on that section.
	b.fill("Based on model", "llama3.2:1b")
	b.fill("Assistant name", "tinyllama")
	b.fill("Model 1", "tinyllama")
	b.fill("Based on model", "tinyllama")
	b.click("Create workspace")
	b.waitFor("the API server's error", `!!document.querySelector('[data-field="assistants"] > .field-error:not([hidden])')`, 10*time.Second)
	var section string
	b.eval(`document.querySelector('[data-field="assistants"] > .field-error').textContent`, &section)
	if !strings.Contains(section, "must differ from every model") {
		t.Errorf("assistants error: %q", section)
	}
	b.shoot("create-cluster-rejects")

	// A reload keeps the draft; fixing the last error creates it.
	b.run(chromedp.Reload(), chromedp.WaitReady("main h1", chromedp.ByQuery))
	b.waitText("Your unsaved entries were restored.")
	if v := b.field("Assistant name").Value; v != "tinyllama" {
		t.Errorf("after a reload the assistant name is %q", v)
	}
	b.fill("Assistant name", "helper")
	b.click("Create workspace")
	b.waitPath("/workspaces/team-b")
	b.open("/workspaces/new")
	if v := b.field("Workspace name").Value; v != "" {
		t.Errorf("a created workspace's draft must be dropped, name is %q", v)
	}
}

var cmpIgnoreError = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Error" }, cmp.Ignore())

// TestKeyboardOnly logs in, creates and deletes a workspace with the
// keyboard alone, checking that every focused element shows a focus ring.
func TestKeyboardOnly(t *testing.T) {
	p := startPortal(t, "sqlite", nil)
	b := newTab(t, p, "keyboard")
	p.register(t, "kay@example.com", password)
	b.open("/login")

	// The first Tab stop is the skip link, and it leads to the main content.
	b.tab()
	if f := b.focused(); f.Text != "Skip to content" {
		t.Errorf("first tab stop: %+v", f)
	}
	b.tabTo("E-mail address", 10)
	b.run(chromedp.KeyEvent("kay@example.com"))
	b.tabTo("Password", 3)
	b.run(chromedp.KeyEvent(password), chromedp.KeyEvent(kb.Enter))
	b.waitPath("/workspaces")

	b.tabTo("New workspace", 15)
	b.run(chromedp.KeyEvent(kb.Enter))
	b.waitPath("/workspaces/new")
	if f := b.focused(); f.Tag != "H1" || f.Text != "New workspace" {
		t.Errorf("after navigating, focus should be on the page heading: %+v", f)
	}
	b.tabTo("Workspace name", 5)
	b.run(chromedp.KeyEvent("kb-ws"))
	b.tabTo("Model 1", 10)
	b.run(chromedp.KeyEvent("llama3.2:1b"), chromedp.KeyEvent(kb.Enter))
	b.waitPath("/workspaces/kb-ws")
	b.shoot("detail")

	b.tabTo("Delete workspace", 60)
	b.run(chromedp.KeyEvent(kb.Enter))
	b.waitFor("the dialog", `!!document.querySelector('dialog[open]')`, 5*time.Second)
	if f := b.focused(); f.Label != "Type kb-ws to confirm" {
		t.Errorf("the dialog should focus its confirmation field: %+v", f)
	}
	b.run(chromedp.KeyEvent("kb-ws"), chromedp.KeyEvent(kb.Enter))
	b.waitPath("/workspaces")
	b.waitText("kb-ws is being deleted")
}

type focus struct {
	Tag, Text, Label string
	Ring             bool
}

func (b *tab) focused() focus {
	b.t.Helper()
	var f focus
	b.eval(`(() => { const e = document.activeElement; const s = getComputedStyle(e);
		const l = e.labels && e.labels[0];
		return { Tag: e.tagName, Text: (e.innerText || '').trim(), Label: l ? l.textContent.trim() : '',
		  Ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 }; })()`, &f)
	return f
}

func (b *tab) tab() {
	b.t.Helper()
	b.run(chromedp.KeyEvent(kb.Tab))
}

// tabTo presses Tab until the element labelled (or reading) name has the
// focus, failing after max presses or when a focused element shows no
// focus ring.
func (b *tab) tabTo(name string, max int) {
	b.t.Helper()
	for i := 0; i < max; i++ {
		b.tab()
		f := b.focused()
		if f.Tag != "BODY" && f.Tag != "MAIN" && !f.Ring {
			b.shoot("no-focus-ring")
			b.t.Fatalf("focused element without a visible focus ring: %+v", f)
		}
		if f.Label == name || f.Text == name || strings.HasPrefix(f.Text, name+" (") {
			return
		}
	}
	b.shoot("tab-missing")
	b.t.Fatalf("%q not reached with %d presses of Tab (focus on %+v)", name, max, b.focused())
}

// TestSessionRefreshAndExpiry: with 1 s access tokens the app refreshes on
// a 401 and carries on (concurrent requests share one refresh, or the
// rotated token's reuse would end the login); once the refresh token is
// revoked the next request sends the user to log in, and back afterwards.
func TestSessionRefreshAndExpiry(t *testing.T) {
	p := startPortal(t, "sqlite", func(c *config.Config) { c.AccessTTL = time.Second })
	b := newTab(t, p, "session")
	p.register(t, "sam@example.com", password)
	u, err := p.app.Store.UserByEmail(context.Background(), "sam@example.com")
	if err != nil {
		t.Fatal(err)
	}
	role := store.RoleAdmin
	if _, err := p.app.Store.UpdateUser(context.Background(), u.ID, store.UserUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	b.open("/login")
	b.fill("E-mail address", "sam@example.com")
	b.fill("Password", password)
	b.click("Log in")
	b.waitPath("/workspaces")
	var rt1, rt2 string
	b.eval(`sessionStorage.getItem('aichat.refresh')`, &rt1)

	// Past the token's lifetime and the verifier's 5 s leeway.
	time.Sleep(7 * time.Second)
	b.click("Admin") // two API calls at once, both answered 401
	b.waitPath("/admin")
	b.waitText("sam@example.com")
	b.eval(`sessionStorage.getItem('aichat.refresh')`, &rt2)
	if rt1 == "" || rt2 == "" || rt1 == rt2 {
		t.Errorf("the refresh token should have rotated once: before %q, after %q", rt1, rt2)
	}
	b.shoot("admin")
	b.click("Workspaces")
	b.waitPath("/workspaces")
	b.waitText("You have no workspaces yet.")

	// The login is revoked elsewhere (logout in another client).
	if s, _ := p.call(t, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": rt2}); s != 204 {
		t.Fatalf("logout: %d", s)
	}
	time.Sleep(7 * time.Second)
	b.click("Admin")
	b.waitPath("/login?next=%2Fadmin")
	b.waitText("Your session has")
	b.shoot("expired")
	var stored string
	b.eval(`sessionStorage.getItem('aichat.refresh') || ''`, &stored)
	if stored != "" {
		t.Error("an ended session must not leave its refresh token in sessionStorage")
	}
	b.fill("E-mail address", "sam@example.com")
	b.fill("Password", password)
	b.click("Log in")
	b.waitPath("/admin")
}

// TestProfileTokensAdmin covers the remaining pages: profile and password
// (a password change ends every session, so the app logs in again with the
// new one), API tokens on a portal without the gateway (a clear message),
// and an admin changing a user's quota.
func TestProfileTokensAdmin(t *testing.T) {
	p := startPortal(t, "sqlite", nil)
	b := newTab(t, p, "pages")
	p.register(t, "pat@example.com", password)
	p.register(t, "other@example.com", password)
	u, _ := p.app.Store.UserByEmail(context.Background(), "pat@example.com")
	role := store.RoleAdmin
	if _, err := p.app.Store.UpdateUser(context.Background(), u.ID, store.UserUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	b.open("/login")
	b.fill("E-mail address", "pat@example.com")
	b.fill("Password", password)
	b.click("Log in")
	b.waitPath("/workspaces")

	b.click("Profile")
	b.waitPath("/profile")
	b.fill("Name", "Pat Q. Public")
	b.click("Save name")
	b.waitText("Saved.")
	b.fill("Current password", "wrong-password-1")
	b.fill("New password", "new-password-77")
	b.click("Change password")
	b.waitFor("the current-password error", `!!document.querySelector('[data-field="current_password"] .field-error:not([hidden])')`, 5*time.Second)
	if f := b.field("Current password"); !f.Invalid || !strings.Contains(f.Error, "current password is wrong") {
		t.Errorf("current password field: %+v", f)
	}
	if f := b.field("New password"); f.Value != "new-password-77" {
		t.Errorf("the new password was lost: %+v", f)
	}
	b.shoot("profile-error")
	b.fill("Current password", password)
	b.click("Change password")
	b.waitText("Password changed.")
	b.shoot("profile")
	// Still logged in: a fresh page load resumes with the new refresh token.
	b.open("/workspaces")
	b.waitText("You have no workspaces yet.")

	b.click("API tokens")
	b.waitPath("/tokens")
	b.waitText("No tokens yet.")

	b.click("Admin")
	b.waitPath("/admin")
	b.waitText("other@example.com")
	quota := `(() => { const f = [...document.querySelectorAll('form.user-row')].find((f) => f.innerText.includes('other@example.com')); return f.querySelector('input[name=workspaceQuota]'); })()`
	b.run(chromedp.Evaluate(quota+`.value = ''`, nil), chromedp.SendKeys(quota, "7", chromedp.ByJSPath))
	b.run(chromedp.Click(`[...document.querySelectorAll('form.user-row')].find((f) => f.innerText.includes('other@example.com')).querySelector('button[type=submit]')`, chromedp.ByJSPath))
	b.waitText("Saved.")
	other, _ := p.app.Store.UserByEmail(context.Background(), "other@example.com")
	if other.WorkspaceQuota == nil || *other.WorkspaceQuota != 7 {
		t.Errorf("quota in the database: %v", other.WorkspaceQuota)
	}
	b.shoot("admin")
	// The old password no longer works.
	if s, _ := p.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "pat@example.com", "password": password}); s != 401 {
		t.Errorf("login with the old password: %d", s)
	}
}

// TestTokensPage: a missing name shows next to the field; a created token
// is shown once with a working copy button, listed by its prefix, and
// revoked after a confirmation.
func TestTokensPage(t *testing.T) {
	p := startPortal(t, "sqlite", nil)
	b := newTab(t, p, "tokens")
	p.register(t, "tia@example.com", password)
	b.open("/login")
	b.fill("E-mail address", "tia@example.com")
	b.fill("Password", password)
	b.click("Log in")
	b.waitPath("/workspaces")
	b.click("API tokens")
	b.waitPath("/tokens")
	b.waitText("No tokens yet.")
	b.fill("Expires in (days)", "30")
	b.click("Create token")
	b.waitFor("the name error", `!!document.querySelector('[data-field="name"] .field-error:not([hidden])')`, 5*time.Second)
	if f := b.field("Name"); !f.Invalid || !f.Focused || !strings.Contains(f.Error, "name must be 1 to 64 characters") {
		t.Errorf("name field: %+v", f)
	}
	b.fill("Name", "ci pipeline")
	b.click("Create token")
	b.waitText("shown only this once")
	var secret string
	b.eval(`document.querySelector('code.token').textContent`, &secret)
	if !strings.HasPrefix(secret, "aichat_") {
		t.Fatalf("secret shown: %q", secret)
	}
	b.click("Copy token")
	var clip string
	b.run(chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if clip != secret {
		t.Errorf("clipboard %q, want the secret", clip)
	}
	b.shoot("created")
	b.click("I have saved it")
	var inDOM bool
	b.eval(`document.body.innerText.includes(`+js(secret)+`)`, &inDOM)
	if inDOM {
		t.Error("the secret must be gone from the page once dismissed")
	}
	// The list shows the token by the prefix the API keeps of it.
	_, login := p.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "tia@example.com", "password": password})
	access, _ := login["access_token"].(string)
	listed := func() map[string]any {
		s, body := p.call(t, "GET", "/api/v1/tokens", access, nil)
		items, _ := body["items"].([]any)
		if s != 200 || len(items) != 1 {
			t.Fatalf("GET /api/v1/tokens: %d %v", s, body)
		}
		return items[0].(map[string]any)
	}
	prefix, _ := listed()["prefix"].(string)
	if prefix == "" || !strings.HasPrefix(secret, prefix) {
		t.Fatalf("listed prefix %q is not a prefix of the secret", prefix)
	}
	b.waitText(prefix + "…")
	b.click("Revoke")
	b.waitFor("the dialog", `!!document.querySelector('dialog[open]')`, 5*time.Second)
	b.click("Revoke token")
	b.waitText("Revoked")
	b.shoot("revoked")
	if revoked := listed()["revoked"]; revoked != true {
		t.Errorf("the token was not revoked through the API: revoked=%v", revoked)
	}
}
