package toolchain

import (
	"regexp"
	"strings"
	"testing"
)

// TestOllamaStampsItsVersion checks the version stamped into the Ollama
// binary is the one in its cache key (TestVersionsAgree ties the key to the
// tools module): a server that reports another version would confuse the
// clients that check it.
func TestOllamaStampsItsVersion(t *testing.T) {
	key := regexp.MustCompile(`v\d+\.\d+\.\d+`).FindString(Ollama.Key)
	m := regexp.MustCompile(`version\.Version=(\S+)`).FindStringSubmatch(Ollama.LDFlags)
	if m == nil {
		t.Fatalf("Ollama's ldflags %q stamp no version", Ollama.LDFlags)
	}
	if got := "v" + strings.TrimPrefix(m[1], "v"); got != key {
		t.Errorf("Ollama is stamped %s but cached as %s", got, key)
	}
}
