package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Principal is who a request acts as.
type Principal struct {
	UserID uint64
	Email  string
	Role   string
	// Via says how the principal authenticated: "jwt" or "api_token".
	Via string
	// APITokenID is the API token used, when Via is "api_token".
	APITokenID uint64
	// Workspace restricts an API token to one workspace ("" = all of the
	// user's).
	Workspace string
}

// IsAdmin reports whether p has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == "admin" }

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	Email string `json:"email"`
	Role  string `json:"role"`
	// Use separates access tokens from any other token signed with the
	// same key in the future.
	Use string `json:"use"`
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	key      []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// NewTokens returns a Tokens signing with key (HS256).
func NewTokens(key []byte, issuer, audience string, ttl time.Duration, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		key: key, issuer: issuer, audience: audience, ttl: ttl, now: now,
		// The algorithm is pinned: a token saying "none", RS256 or HS512 is
		// refused before its signature is looked at.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
			jwt.WithTimeFunc(now),
		),
	}
}

// TTL is the lifetime of access tokens.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs an access token for p.
func (t *Tokens) Issue(p Principal) (string, time.Time, error) {
	now := t.now().UTC().Truncate(time.Second)
	exp := now.Add(t.ttl)
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   strconv.FormatUint(p.UserID, 10),
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti),
		},
		Email: p.Email, Role: p.Role, Use: "access",
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	return s, exp, err
}

// ErrInvalidToken is returned for every token that is not accepted; the
// reason goes to the log, not to the client.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks an access token and returns its principal.
func (t *Tokens) Verify(token string) (Principal, error) {
	var c accessClaims
	_, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil })
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// jwt checks nbf and iat only when present; we always issue them, so a
	// token without them was not made by us.
	if c.NotBefore == nil || c.IssuedAt == nil || c.Use != "access" {
		return Principal{}, fmt.Errorf("%w: missing nbf, iat or use", ErrInvalidToken)
	}
	id, err := strconv.ParseUint(c.Subject, 10, 64)
	if err != nil || id == 0 {
		return Principal{}, fmt.Errorf("%w: bad subject", ErrInvalidToken)
	}
	return Principal{UserID: id, Email: c.Email, Role: c.Role, Via: "jwt"}, nil
}

// NewRefreshToken returns a random opaque refresh token and the hash to
// store. 32 random bytes make guessing hopeless, so an unsalted SHA-256 is
// enough (unlike passwords, there is no small space to search).
func NewRefreshToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashRefreshToken(token), nil
}

// HashRefreshToken is the stored form of a refresh token.
func HashRefreshToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// NewFamilyID returns a random id for a new refresh token family.
func NewFamilyID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
