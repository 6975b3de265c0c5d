// Package auth holds the portal's credentials logic: password rules and
// hashing, HS256 access tokens and opaque rotating refresh tokens.
package auth

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// PasswordRule is what the portal tells users about acceptable passwords.
const PasswordRule = "password must be 10 to 72 bytes long and contain at least one letter and one digit"

// CheckPassword enforces PasswordRule. bcrypt only reads 72 bytes, so longer
// passwords would silently be truncated: refuse them instead.
func CheckPassword(pw string) error {
	if len(pw) < 10 || len(pw) > 72 {
		return errors.New(PasswordRule)
	}
	var letter, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	if !letter || !digit {
		return errors.New(PasswordRule)
	}
	return nil
}

// NormalizeEmail checks that s is one bare e-mail address and returns it in
// lower case (the unique key of a user).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", errors.New("e-mail address must be 1 to 254 characters")
	}
	a, err := mail.ParseAddress(s)
	// ParseAddress also accepts "Name <a@b>"; only the bare form is an e-mail.
	if err != nil || a.Address != s || a.Name != "" {
		return "", errors.New("not a valid e-mail address (expected user@example.com)")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return "", errors.New("not a valid e-mail address (expected user@example.com)")
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return "", errors.New("e-mail address must be printable ASCII")
		}
	}
	return strings.ToLower(s), nil
}

// Hasher hashes and compares passwords with bcrypt at a configured cost.
type Hasher struct {
	Cost int
	// dummy is compared against when the user does not exist, so unknown
	// e-mails take as long as wrong passwords.
	dummy []byte
}

// NewHasher returns a Hasher for cost.
func NewHasher(cost int) (*Hasher, error) {
	d, err := bcrypt.GenerateFromPassword([]byte("timing equaliser password 1"), cost)
	if err != nil {
		return nil, err
	}
	return &Hasher{Cost: cost, dummy: d}, nil
}

// Hash returns the bcrypt hash of pw.
func (h *Hasher) Hash(pw string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(pw), h.Cost)
	return string(b), err
}

// Compare reports whether pw matches hash. An empty hash (unknown user)
// still spends one bcrypt comparison and returns false.
func (h *Hasher) Compare(hash, pw string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(h.dummy, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
