package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestVerify(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tokens := NewTokens(key, "iss", "aud", 15*time.Minute, func() time.Time { return now })
	good, _, err := tokens.Issue(Principal{UserID: 7, Email: "u@example.com", Role: "user"})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, k any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "iss", "aud": "aud", "sub": "7", "use": "access", "role": "admin",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	parts := strings.Split(good, ".")
	type want struct {
		ok     bool
		userID uint64
	}
	cases := map[string]struct {
		reason string
		token  string
		want   want
	}{
		"Valid":       {reason: "a token we issued is accepted", token: good, want: want{ok: true, userID: 7}},
		"ValidCustom": {reason: "a well-formed HS256 token with our key is accepted", token: sign(jwt.SigningMethodHS256, key, claims(nil)), want: want{ok: true, userID: 7}},
		"TamperedPayload": {reason: "changing the payload breaks the signature",
			token: parts[0] + "." + strings.TrimRight(jwtEncode(`{"iss":"iss","aud":["aud"],"sub":"1","role":"admin","use":"access"}`), "=") + "." + parts[2]},
		"TamperedSignature": {reason: "a flipped signature byte is refused", token: parts[0] + "." + parts[1] + "." + flip(parts[2])},
		"Expired":           {reason: "exp in the past", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }))},
		"NotYetValid":       {reason: "nbf in the future", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }))},
		"IssuedInFuture":    {reason: "iat in the future", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }))},
		"NoExpiry":          {reason: "exp is required", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "exp") }))},
		"NoNotBefore":       {reason: "nbf is required", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "nbf") }))},
		"WrongIssuer":       {reason: "iss must match", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["iss"] = "evil" }))},
		"WrongAudience":     {reason: "aud must match", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["aud"] = "other" }))},
		"WrongUse":          {reason: "only access tokens authenticate", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["use"] = "refresh" }))},
		"WrongKey":          {reason: "another key's signature is refused", token: sign(jwt.SigningMethodHS256, []byte("another-key-another-key-another-k"), claims(nil))},
		"HS512":             {reason: "the algorithm is pinned to HS256, even with the right key", token: sign(jwt.SigningMethodHS512, key, claims(nil))},
		"AlgNone":           {reason: "unsigned tokens are refused", token: sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))},
		"BadSubject":        {reason: "the subject must be a user id", token: sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["sub"] = "1 OR 1=1" }))},
		"Garbage":           {reason: "not a JWT", token: "not.a.token"},
		"Empty":             {reason: "empty", token: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := tokens.Verify(tc.token)
			if tc.want.ok != (err == nil) {
				t.Fatalf("%s: Verify error = %v, want ok=%v", tc.reason, err, tc.want.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: error %v is not ErrInvalidToken", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want.userID, p.UserID); diff != "" {
				t.Errorf("%s: user id (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func jwtEncode(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestCheckPassword(t *testing.T) {
	cases := map[string]struct {
		reason string
		pw     string
		want   bool
	}{
		"Good":      {reason: "letters and digits, long enough", pw: "correct horse 1", want: true},
		"Short":     {reason: "under 10 bytes", pw: "abc123", want: false},
		"NoDigit":   {reason: "letters only", pw: "onlyletters", want: false},
		"NoLetter":  {reason: "digits only", pw: "1234567890", want: false},
		"TooLong":   {reason: "bcrypt ignores bytes past 72, so refuse them", pw: strings.Repeat("a1", 37), want: false},
		"Exactly72": {reason: "72 bytes is the limit", pw: strings.Repeat("a1", 36), want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := CheckPassword(tc.pw) == nil; got != tc.want {
				t.Errorf("%s: ok = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	type want struct {
		email string
		ok    bool
	}
	cases := map[string]struct {
		reason string
		in     string
		want   want
	}{
		"Plain":     {reason: "lower-cased", in: "Ada@Example.COM", want: want{"ada@example.com", true}},
		"Spaces":    {reason: "trimmed", in: "  ada@example.com ", want: want{"ada@example.com", true}},
		"Named":     {reason: "a display name is not an address", in: "Ada <ada@example.com>", want: want{"", false}},
		"NoDomain":  {reason: "needs a dotted domain", in: "ada@localhost", want: want{"", false}},
		"NoAt":      {reason: "needs @", in: "ada.example.com", want: want{"", false}},
		"Injection": {reason: "SQL-shaped input is not an address", in: "' OR 1=1 --", want: want{"", false}},
		"Unicode":   {reason: "printable ASCII only", in: "ädä@example.com", want: want{"", false}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := NormalizeEmail(tc.in)
			if diff := cmp.Diff(tc.want, want{e, err == nil}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestHasher(t *testing.T) {
	h, err := NewHasher(4)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash("right password 1")
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{h.Compare(hash, "right password 1"), h.Compare(hash, "wrong password 1"), h.Compare("", "right password 1")}
	if diff := cmp.Diff([]bool{true, false, false}, got); diff != "" {
		t.Errorf("right, wrong, unknown user (-want +got):\n%s", diff)
	}
}
