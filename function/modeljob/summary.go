package modeljob

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// Exit codes of model-job. The Job's pod shows them; the summary in the
// termination log carries the details.
const (
	// ExitOK: the model is ready.
	ExitOK = 0
	// ExitInternal: a bug or an environment problem of the program itself.
	ExitInternal = 1
	// ExitUsage: bad arguments or flags (unknown parameter, invalid
	// pattern or model name, ...). Retrying cannot help; fix the spec.
	ExitUsage = 2
	// ExitUnreachable: Ollama did not answer within --wait-timeout, or went
	// away during the operation. A retry may help.
	ExitUnreachable = 3
	// ExitModelFailed: Ollama answered but the model could not be made
	// ready: pull failed, pattern missing, variable missing, base model
	// missing, create refused.
	ExitModelFailed = 4
)

// MaxMessageBytes keeps the summary far below the kubelet's 4096-byte cap on
// termination messages, leaving room for the JSON around it.
const MaxMessageBytes = 1024

// usageError marks errors in how the program was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// ExitCode maps an error of a run to the program's exit code.
func ExitCode(err error) int {
	var ue usageError
	// A connection error (not a timeout of ours: context.DeadlineExceeded
	// is a net.Error too) means Ollama went away.
	var ne *net.OpError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, ErrUnreachable), errors.As(err, &ne):
		return ExitUnreachable
	default:
		return ExitModelFailed
	}
}

// NewSummary is the summary of a run that ended with err (nil: success,
// message says what happened).
func NewSummary(name string, kind v1alpha1.ModelKind, message string, err error) v1alpha1.ModelJobSummary {
	s := v1alpha1.ModelJobSummary{Model: name, Kind: kind, State: v1alpha1.ModelReady, Message: message}
	if err != nil {
		s.State = v1alpha1.ModelFailed
		s.Message = err.Error()
	}
	s.Message = shorten(s.Message, MaxMessageBytes)
	return s
}

// WriteSummary writes s as one JSON line to path, replacing its content.
func WriteSummary(path string, s v1alpha1.ModelJobSummary) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write the termination log: %w", err)
	}
	return nil
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ") // One line, however the error was built.
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
