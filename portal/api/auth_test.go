package api_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
)

// backends runs a test on the real databases the portal supports.
var backends = map[string]func(t *testing.T) string{
	"sqlite": func(*testing.T) string { return "" },
	"mysql":  func(t *testing.T) string { return testenv.MySQL(t) },
}

func TestRegister(t *testing.T) {
	type want struct {
		Status int
		Field  string
	}
	cases := map[string]struct {
		reason string
		body   any
		want   want
	}{
		"OK":        {reason: "a new account", body: map[string]string{"email": "new@example.com", "password": "passw0rd-long", "name": "New"}, want: want{201, ""}},
		"Duplicate": {reason: "the e-mail exists (case-insensitively)", body: map[string]string{"email": "Taken@Example.com", "password": "passw0rd-long", "name": "T"}, want: want{409, "email"}},
		"BadEmail":  {reason: "not an e-mail address", body: map[string]string{"email": "nobody", "password": "passw0rd-long", "name": "N"}, want: want{400, "email"}},
		"Injection": {reason: "SQL-shaped e-mail", body: map[string]string{"email": "a@b.c' OR '1'='1", "password": "passw0rd-long", "name": "N"}, want: want{400, "email"}},
		"Weak":      {reason: "a weak password names the rule", body: map[string]string{"email": "w@example.com", "password": "short", "name": "N"}, want: want{400, "password"}},
		"NoName":    {reason: "a name is required", body: map[string]string{"email": "n@example.com", "password": "passw0rd-long", "name": " "}, want: want{400, "name"}},
		"Unknown":   {reason: "unknown fields are refused, e.g. a self-granted role", body: map[string]string{"email": "r@example.com", "password": "passw0rd-long", "name": "R", "role": "admin"}, want: want{400, "role"}},
		"WrongType": {reason: "a field of the wrong type is named", body: map[string]any{"email": 5, "password": "passw0rd-long", "name": "R"}, want: want{400, "email"}},
		"Malformed": {reason: "broken JSON", body: `{"email":`, want: want{400, ""}},
	}
	for backend, dsn := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, envOptions{dsn: dsn(t)})
			e.signup(t, "taken@example.com")
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					r := e.do(t, "POST", "/api/v1/auth/register", "", tc.body)
					got := want{Status: r.Status}
					if r.Status >= 400 {
						_, got.Field = r.Error(t)
					}
					if diff := cmp.Diff(tc.want, got); diff != "" {
						t.Errorf("%s (-want +got):\n%s\n%s", tc.reason, diff, r.Body)
					}
				})
			}
			// The weak password answer says the rule; a new user is not admin.
			r := e.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"email": "w2@example.com", "password": "short", "name": "N"})
			if !strings.Contains(string(r.Body), "at least one letter and one digit") {
				t.Errorf("weak password answer does not state the rule: %s", r.Body)
			}
			if role := e.do(t, "GET", "/api/v1/me", e.login(t, "taken@example.com", "passw0rd-long").AccessToken, nil).JSON(t)["role"]; role != "user" {
				t.Errorf("the first user must not silently be admin, got role %v", role)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	for backend, dsn := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, envOptions{dsn: dsn(t)})
			e.signup(t, "ada@example.com")
			wrongPw := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong-passw0rd"})
			unknown := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": "wrong-passw0rd"})
			inject := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "' OR '1'='1' -- ", "password": "' OR '1'='1"})
			ok := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "ADA@example.com", "password": "passw0rd-long"})
			got := []int{wrongPw.Status, unknown.Status, inject.Status, ok.Status}
			if diff := cmp.Diff([]int{401, 401, 401, 200}, got); diff != "" {
				t.Errorf("wrong password, unknown e-mail, injection, ok (-want +got):\n%s", diff)
			}
			if string(wrongPw.Body) != string(unknown.Body) {
				t.Errorf("unknown e-mail and wrong password must answer the same:\n%s\n%s", wrongPw.Body, unknown.Body)
			}
			p := ok.JSON(t)
			if p["token_type"] != "Bearer" || p["expires_in"] != float64(900) || p["access_token"] == "" || p["refresh_token"] == "" {
				t.Errorf("token pair: %s", ok.Body)
			}
		})
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	for backend, dsn := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, envOptions{dsn: dsn(t)})
			p1 := e.signup(t, "r@example.com")
			refresh := func(tok string) response {
				return e.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok})
			}
			r2 := refresh(p1.RefreshToken)
			p2 := r2.JSON(t)
			p2tok, _ := p2["refresh_token"].(string)
			reuse := refresh(p1.RefreshToken) // replay of the rotated token
			afterReuse := refresh(p2tok)      // the family is gone, newest included
			other := e.login(t, "r@example.com", "passw0rd-long")
			otherOK := refresh(other.RefreshToken) // another login is another family
			otherP := otherOK.JSON(t)
			logout := e.do(t, "POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": otherP["refresh_token"].(string)})
			afterLogout := refresh(otherP["refresh_token"].(string))
			garbage := refresh("not-a-token")
			got := []int{r2.Status, reuse.Status, afterReuse.Status, otherOK.Status, logout.Status, afterLogout.Status, garbage.Status}
			want := []int{200, 401, 401, 200, 204, 401, 401}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rotate, reuse, newest after reuse, other login, logout, after logout, garbage (-want +got):\n%s", diff)
			}
			if p2tok == p1.RefreshToken || p2tok == "" {
				t.Errorf("refresh tokens must rotate")
			}
			// Only hashes are stored.
			if _, err := e.store.RefreshTokenByHash(t.Context(), p1.RefreshToken); err == nil {
				t.Errorf("a refresh token is stored in clear")
			}
		})
	}
}

func TestMeAndPassword(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.signup(t, "me@example.com")
	patch := e.do(t, "PATCH", "/api/v1/me", p.AccessToken, map[string]string{"name": "Robert'); DROP TABLE users;--"})
	email := e.do(t, "PATCH", "/api/v1/me", p.AccessToken, map[string]string{"email": "other@example.com"})
	wrongCurrent := e.do(t, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": "nope-nope-1", "new_password": "new-passw0rd"})
	weak := e.do(t, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": "passw0rd-long", "new_password": "weak"})
	changed := e.do(t, "POST", "/api/v1/me/password", p.AccessToken, map[string]string{"current_password": "passw0rd-long", "new_password": "new-passw0rd"})
	oldRefresh := e.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": p.RefreshToken})
	oldLogin := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "me@example.com", "password": "passw0rd-long"})
	newLogin := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "me@example.com", "password": "new-passw0rd"})
	got := []int{patch.Status, email.Status, wrongCurrent.Status, weak.Status, changed.Status, oldRefresh.Status, oldLogin.Status, newLogin.Status}
	if diff := cmp.Diff([]int{200, 400, 400, 400, 204, 401, 401, 200}, got); diff != "" {
		t.Errorf("patch name, patch email, wrong current, weak new, change, old refresh, old password, new password (-want +got):\n%s", diff)
	}
	if name := e.do(t, "GET", "/api/v1/me", p.AccessToken, nil).JSON(t)["name"]; name != "Robert'); DROP TABLE users;--" {
		t.Errorf("name stored literally, got %v", name)
	}
}

func TestTokensRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.signup(t, "t@example.com")
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": e.cfg.JWTIssuer, "aud": e.cfg.JWTAudience, "sub": "1", "use": "access", "role": "admin",
			"email": "t@example.com", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parts := strings.Split(p.AccessToken, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"aichat-portal","aud":["aichat-portal"],"sub":"2","role":"admin","use":"access","exp":9999999999,"nbf":1,"iat":1}`))
	cases := map[string]struct {
		reason string
		token  string
		want   int
	}{
		"Valid":     {reason: "control: our own token works", token: p.AccessToken, want: 200},
		"Forged":    {reason: "claims swapped under the original signature", token: parts[0] + "." + forged + "." + parts[2], want: 401},
		"Truncated": {reason: "signature removed", token: parts[0] + "." + parts[1] + ".", want: 401},
		"Expired":   {reason: "exp passed", token: sign(jwt.SigningMethodHS256, testKey, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), want: 401},
		"WrongKey":  {reason: "signed with another key", token: sign(jwt.SigningMethodHS256, []byte("some-other-key-some-other-key-123"), claims(nil)), want: 401},
		"HS384":     {reason: "another HMAC algorithm with the right key", token: sign(jwt.SigningMethodHS384, testKey, claims(nil)), want: 401},
		"None":      {reason: "alg none", token: sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), want: 401},
		"Missing":   {reason: "no token", token: "", want: 401},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/me", tc.token, nil)
			if r.Status != tc.want {
				t.Fatalf("%s: status %d, want %d: %s", tc.reason, r.Status, tc.want, r.Body)
			}
			if r.Status == 401 {
				if code, _ := r.Error(t); code != "unauthorized" || r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: want an unauthorized error with WWW-Authenticate, got %s", tc.reason, r.Body)
				}
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{edit: func(c *config.Config) { c.LoginPerAccount = 3; c.LoginPerIPPerMinute = 100 }})
	e.signup(t, "rl@example.com") // one login used
	var got []int
	for range 3 {
		got = append(got, e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "rl@example.com", "password": "wrong-passw0rd"}).Status)
	}
	limited := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "rl@example.com", "password": "passw0rd-long"})
	other := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": "other@example.com", "password": "wrong-passw0rd"})
	got = append(got, limited.Status, other.Status)
	if diff := cmp.Diff([]int{401, 401, 429, 429, 401}, got); diff != "" {
		t.Errorf("per-account limit of 3 (-want +got):\n%s", diff)
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}

	ip := newEnv(t, envOptions{edit: func(c *config.Config) { c.LoginPerAccount = 100; c.LoginPerIPPerMinute = 2 }})
	var perIP []int
	for i := range 3 {
		perIP = append(perIP, ip.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": string(rune('a'+i)) + "@example.com", "password": "x"}).Status)
	}
	if diff := cmp.Diff([]int{401, 401, 429}, perIP); diff != "" {
		t.Errorf("per-client limit of 2 across accounts (-want +got):\n%s", diff)
	}
}
