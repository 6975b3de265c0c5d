package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

func TestAdminCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	common := []string{"--sqlite-path", db, "--bcrypt-cost", "4", "--log-level", "error"}
	cmd := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(append(append([]string{}, common...), args...), &out); err != nil {
			t.Fatalf("portal %v: %v", args, err)
		}
		return out.String()
	}
	first := cmd("migrate")
	second := cmd("migrate")
	created := cmd("admin", "create", "--email", "Root@Example.com")
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(created)
	if pw == nil {
		t.Fatalf("admin create printed no password: %s", created)
	}
	// Register an ordinary user directly, then grant and revoke.
	st, _, err := store.Open("", db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateUser(context.Background(), &store.User{Email: "u@example.com", Name: "U", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	role := func(email string) string {
		u, err := st.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		return u.Role
	}
	cmd("admin", "grant", "u@example.com")
	granted := role("u@example.com")
	cmd("admin", "revoke", "u@example.com")
	revoked := role("u@example.com")
	root, err := st.UserByEmail(context.Background(), "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := auth.NewHasher(4)
	got := []any{first, second, root.Role, h.Compare(root.PasswordHash, pw[1]), granted, revoked}
	want := []any{"schema version 2 (applied now: [1 2])\n", "schema version 2 (applied now: [])\n", "admin", true, "admin", "user"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("migrate twice, created role, password works, grant, revoke (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	if err := run(append(common, "admin", "grant", "nobody@example.com"), &out); err == nil {
		t.Errorf("granting an unknown user must fail")
	}
}
