package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// APITokenPrefix starts every API token, so a leaked one is recognisable
// (secret scanners, logs) and the gateway tells it from a JWT without
// trying to parse it.
const APITokenPrefix = "aichat_"

// apiTokenBytes is the secret's entropy: 256 bits.
const apiTokenBytes = 32

// displayLen is how much of a token is kept in clear for display: the
// prefix plus 5 characters (30 of the 256 bits), enough to tell a user's
// tokens apart and useless for guessing the rest.
const displayLen = len(APITokenPrefix) + 5

// NewAPIToken returns a new API token, the hash to store and the part to
// display.
//
// The hash is an unsalted SHA-256, not bcrypt: the secret is 256 random
// bits, so there is no small space to search and a preimage is out of
// reach; a fast hash lets the gateway find the token by an indexed lookup
// on every request, where bcrypt would cost ~100 ms per call and need the
// token's id in the secret.
func NewAPIToken() (token, hash, display string, err error) {
	b := make([]byte, apiTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", "", err
	}
	token = APITokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashAPIToken(token), token[:displayLen], nil
}

// HashAPIToken is the stored form of an API token.
func HashAPIToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// LooksLikeAPIToken reports whether s has the shape of an API token: the
// prefix and exactly the encoded length of the secret. Anything else is
// refused without a database lookup.
func LooksLikeAPIToken(s string) bool {
	rest, ok := strings.CutPrefix(s, APITokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(apiTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}
