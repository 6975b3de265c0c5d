package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopMySQL()
	os.Exit(code)
}

// backends opens a migrated, empty store on each real database.
func backends(t *testing.T) map[string]func(t *testing.T) *store.GormStore {
	return map[string]func(t *testing.T) *store.GormStore{
		"sqlite": func(t *testing.T) *store.GormStore {
			return open(t, "", filepath.Join(t.TempDir(), "portal.db"))
		},
		"mysql": func(t *testing.T) *store.GormStore {
			return open(t, testenv.MySQL(t), "")
		},
	}
}

func open(t *testing.T, dsn, path string) *store.GormStore {
	t.Helper()
	st, db, err := store.Open(dsn, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := store.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMigrateTwice(t *testing.T) {
	cases := map[string]struct {
		reason string
		dsn    func(t *testing.T) string
	}{
		"sqlite": {reason: "SQLite file", dsn: func(*testing.T) string { return "" }},
		"mysql":  {reason: "MariaDB", dsn: func(t *testing.T) string { return testenv.MySQL(t) }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st, db, err := store.Open(tc.dsn(t), filepath.Join(t.TempDir(), "m.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			first, err := store.Migrate(ctx, db)
			if err != nil {
				t.Fatalf("%s: first migration: %v", tc.reason, err)
			}
			second, err := store.Migrate(ctx, db)
			if err != nil {
				t.Fatalf("%s: second migration: %v", tc.reason, err)
			}
			v, err := store.SchemaVersion(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			got := struct {
				First, Second []int
				Version       int
			}{first, second, v}
			want := struct {
				First, Second []int
				Version       int
			}{[]int{1, 2}, nil, 2}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: migrations (-want +got):\n%s", tc.reason, diff)
			}
			// The schema works after the second run.
			if err := st.CreateUser(ctx, &store.User{Email: "m@example.com", Name: "M", PasswordHash: "x"}); err != nil {
				t.Errorf("%s: create after migrating twice: %v", tc.reason, err)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	for backend, openStore := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			u := &store.User{Email: "ada@example.com", Name: "Ada", PasswordHash: "h"}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			dup := st.CreateUser(ctx, &store.User{Email: "ada@example.com", Name: "Other", PasswordHash: "h"})
			// SQL-injection-shaped input is stored and found literally.
			evil := &store.User{Email: "x'); DROP TABLE users; --@example.com", Name: `Robert'); DROP TABLE users;--`, PasswordHash: "h"}
			if err := st.CreateUser(ctx, evil); err != nil {
				t.Fatal(err)
			}
			gotEvil, err := st.UserByEmail(ctx, evil.Email)
			if err != nil {
				t.Fatal(err)
			}
			_, missing := st.UserByEmail(ctx, "' OR '1'='1")
			quota := 7
			q := &quota
			role := store.RoleAdmin
			updated, err := st.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &role, WorkspaceQuota: &q})
			if err != nil {
				t.Fatal(err)
			}
			_, badRole := st.UpdateUser(ctx, u.ID, store.UserUpdate{Role: ptr("root")})
			list, total, err := st.ListUsers(ctx, store.Page{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}

			type result struct {
				DupIsDuplicate, MissingNotFound, BadRoleInvalid bool
				EvilName, Role                                  string
				Quota                                           int
				Total                                           int64
				Listed                                          []string
			}
			got := result{
				DupIsDuplicate: errors.Is(dup, store.ErrDuplicate), MissingNotFound: errors.Is(missing, store.ErrNotFound),
				BadRoleInvalid: errors.Is(badRole, store.ErrInvalidOption),
				EvilName:       gotEvil.Name, Role: updated.Role, Quota: *updated.WorkspaceQuota, Total: total,
			}
			for _, l := range list {
				got.Listed = append(got.Listed, l.Email)
			}
			want := result{true, true, true, `Robert'); DROP TABLE users;--`, "admin", 7, 2, []string{"ada@example.com"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRefreshTokenRotation(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type want struct {
		Err        error
		NextActive bool // the token issued before the failing step is still usable
	}
	cases := map[string]struct {
		reason string
		// steps refreshes in order; each names the token to present: "t1" is
		// the login token, "tN" the token issued by step N-1.
		steps []string
		at    time.Time
		want  want
	}{
		"RotateOnce": {
			reason: "a fresh token rotates and the new one is active",
			steps:  []string{"t1"}, at: now, want: want{Err: nil, NextActive: true},
		},
		"Chain": {
			reason: "each rotated token rotates again",
			steps:  []string{"t1", "t2", "t3"}, at: now, want: want{Err: nil, NextActive: true},
		},
		"Reuse": {
			reason: "presenting an already rotated token revokes the whole family, including the newest token",
			steps:  []string{"t1", "t2", "t1"}, at: now, want: want{Err: store.ErrTokenReused, NextActive: false},
		},
		"Expired": {
			reason: "an expired token does not rotate",
			steps:  []string{"t1"}, at: now.Add(48 * time.Hour), want: want{Err: store.ErrTokenExpired, NextActive: true},
		},
	}
	for backend, openStore := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			u := &store.User{Email: "r@example.com", Name: "R", PasswordHash: "h"}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					family := name + backend
					hashes := map[string]string{"t1": family + "-1"}
					if err := st.CreateRefreshToken(ctx, &store.RefreshToken{UserID: u.ID, FamilyID: family, TokenHash: hashes["t1"], ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
						t.Fatal(err)
					}
					var err error
					last := "t1"
					for i, present := range tc.steps {
						next := &store.RefreshToken{TokenHash: family + "-" + string(rune('2'+i)), ExpiresAt: now.Add(24 * time.Hour)}
						_, err = st.RotateRefreshToken(ctx, hashes[present], next, tc.at)
						if err != nil {
							break
						}
						last = "t" + string(rune('2'+i))
						hashes[last] = next.TokenHash
					}
					tok, lerr := st.RefreshTokenByHash(ctx, hashes[last])
					if lerr != nil {
						t.Fatal(lerr)
					}
					got := want{Err: err, NextActive: tok.RevokedAt == nil}
					if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) })); diff != "" {
						t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
					}
				})
			}
		})
	}
}

func TestRevokeUserTokens(t *testing.T) {
	for backend, openStore := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			u := &store.User{Email: "p@example.com", Name: "P", PasswordHash: "h"}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			for _, h := range []string{"a", "b"} {
				if err := st.CreateRefreshToken(ctx, &store.RefreshToken{UserID: u.ID, FamilyID: "f" + h, TokenHash: h, ExpiresAt: now.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.RevokeUserTokens(ctx, u.ID, now); err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, h := range []string{"a", "b"} {
				tok, err := st.RefreshTokenByHash(ctx, h)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, tok.RevokedAt != nil)
			}
			if diff := cmp.Diff([]bool{true, true}, got); diff != "" {
				t.Errorf("every token of the user is revoked (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentRotation: two refreshes racing with the same token are a
// reuse; exactly one may win, and the family ends revoked either way.
func TestConcurrentRotation(t *testing.T) {
	for backend, openStore := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			u := &store.User{Email: "c@example.com", Name: "C", PasswordHash: "h"}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			if err := st.CreateRefreshToken(ctx, &store.RefreshToken{UserID: u.ID, FamilyID: "fam", TokenHash: "t0", ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			const n = 8
			errs := make(chan error, n)
			for i := range n {
				go func() {
					_, err := st.RotateRefreshToken(ctx, "t0", &store.RefreshToken{TokenHash: "next-" + string(rune('a'+i)), ExpiresAt: now.Add(time.Hour)}, now)
					errs <- err
				}()
			}
			wins := 0
			for range n {
				err := <-errs
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, store.ErrTokenReused):
					t.Errorf("unexpected error: %v", err)
				}
			}
			active := 0
			for i := range n {
				tok, err := st.RefreshTokenByHash(ctx, "next-"+string(rune('a'+i)))
				if err == nil && tok.RevokedAt == nil {
					active++
				}
			}
			if diff := cmp.Diff([]int{1, 0}, []int{wins, active}); diff != "" {
				t.Errorf("winners, active tokens after the race (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPITokens(t *testing.T) {
	for backend, openStore := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			ada := &store.User{Email: "ada@example.com", Name: "Ada", PasswordHash: "h"}
			bob := &store.User{Email: "bob@example.com", Name: "Bob", PasswordHash: "h"}
			for _, u := range []*store.User{ada, bob} {
				if err := st.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now().UTC().Truncate(time.Second)
			past := now.Add(-time.Hour)
			tokens := []*store.APIToken{
				{UserID: ada.ID, Name: "a", TokenHash: "h1", Prefix: "aichat_aaaaa", CreatedAt: now},
				{UserID: ada.ID, Name: "b", Workspace: "dev", TokenHash: "h2", Prefix: "aichat_bbbbb", CreatedAt: now},
				{UserID: ada.ID, Name: "old", TokenHash: "h3", Prefix: "aichat_ccccc", CreatedAt: now, ExpiresAt: &past},
				{UserID: bob.ID, Name: "c", TokenHash: "h4", Prefix: "aichat_ddddd", CreatedAt: now},
			}
			for _, tk := range tokens {
				if err := st.CreateAPIToken(ctx, tk); err != nil {
					t.Fatal(err)
				}
			}
			dup := &store.APIToken{UserID: ada.ID, Name: "dup", TokenHash: "h1", Prefix: "x"}
			if err := st.CreateAPIToken(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("a second token with the same hash: %v", err)
			}
			active, err := st.CountActiveAPITokens(ctx, ada.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			revokeOwn := st.RevokeAPIToken(ctx, ada.ID, tokens[0].ID, now)
			revokeAgain := st.RevokeAPIToken(ctx, ada.ID, tokens[0].ID, now.Add(time.Hour))
			revokeOthers := st.RevokeAPIToken(ctx, ada.ID, tokens[3].ID, now)
			err = st.AddAPITokenUsage(ctx, []store.TokenUsage{
				{TokenID: tokens[1].ID, Requests: 2, PromptTokens: 30, EvalTokens: 70, LastUsedAt: now},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.AddAPITokenUsage(ctx, []store.TokenUsage{{TokenID: tokens[1].ID, Requests: 1, PromptTokens: 5, EvalTokens: 6, LastUsedAt: now}}); err != nil {
				t.Fatal(err)
			}
			byHash, err := st.APITokenByHash(ctx, "h1")
			if err != nil {
				t.Fatal(err)
			}
			_, missing := st.APITokenByHash(ctx, "nope")
			mine, err := st.ListAPITokens(ctx, ada.ID)
			if err != nil {
				t.Fatal(err)
			}
			everyone, err := st.ListAPITokens(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			type got struct {
				Active                 int64
				RevokeOwn, RevokeAgain error
				RevokeOthers, Missing  error
				RevokedAt              time.Time
				Names                  []string
				All                    int
				Requests, Prompt, Eval int64
				LastUsed               bool
			}
			g := got{Active: active, RevokeOwn: revokeOwn, RevokeAgain: revokeAgain, RevokeOthers: revokeOthers, Missing: missing, All: len(everyone)}
			if byHash.RevokedAt != nil {
				g.RevokedAt = byHash.RevokedAt.UTC()
			}
			for _, tk := range mine {
				g.Names = append(g.Names, tk.Name)
				if tk.Name == "b" {
					g.Requests, g.Prompt, g.Eval, g.LastUsed = tk.Requests, tk.PromptTokens, tk.EvalTokens, tk.LastUsedAt != nil
				}
			}
			want := got{Active: 2, RevokeOthers: store.ErrNotFound, Missing: store.ErrNotFound, RevokedAt: now,
				Names: []string{"old", "b", "a"}, All: 4, Requests: 3, Prompt: 35, Eval: 76, LastUsed: true}
			if diff := cmp.Diff(want, g, cmpErrors); diff != "" {
				t.Errorf("API tokens (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpErrors compares errors by identity (errors.Is).
var cmpErrors = cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) || errors.Is(b, a) })
