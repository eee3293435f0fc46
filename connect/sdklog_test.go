package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
)

// The SDK's line for a failed activity attempt names the error's kind, not
// its message, which can quote what a payer answered; a late activity's
// result is withheld. Other attributes and other errors' kinds stay.
func TestSDKLogLinesWithholdErrorMessagesAndResults(t *testing.T) {
	var buf bytes.Buffer
	l := sdklog.NewStructuredLogger(slog.New(sdkLogHandler{slog.NewTextHandler(&buf, nil)}))
	payer := temporal.NewApplicationError("payer said: member River Quinn, born 1991-04-02, not covered", "payer-refused")
	sdklog.With(l, "Error", fmt.Errorf("wrapped: %w", errors.New("pq: duplicate key value River Quinn"))).Info("With")
	l.Error("Activity error.", "ActivityType", "SubmitAuthorization", "Attempt", 3, "Error", payer)
	l.Info("Activity complete after timeout.", "Result", map[string]string{"name": "River Quinn"}, "Error", context.DeadlineExceeded)
	// Errors that wrap a timeout or a cancellation are named by it, not by
	// their text.
	l.Error("Activity error.", "Error", fmt.Errorf("payer said member River Quinn: %w", context.DeadlineExceeded))
	l.Error("Activity error.", "Error", temporal.NewApplicationErrorWithCause("member River Quinn", "payer-refused", context.Canceled))
	l.Error("Workflow panic.", "PanicError", "member River Quinn", "StackTrace", "workflows/case.go:12")
	// The SDK writes a payload storage error into the message; workflow
	// code logs a server's answer as "error".
	l.Warn("Workflow task postprocess error: storage driver: River Quinn", "WorkflowID", "case-c-1")
	l.Warn("Workflow task preprocess error: River Quinn")
	l.Warn("Activity task preprocess error: River Quinn")
	l.Warn("Activity task postprocess error: River Quinn")
	l.Warn("case did not take the service update", "case_id", "c-1", "error", errors.New("signal: River Quinn"))
	out := buf.String()
	for _, phi := range []string{"River", "Quinn", "1991"} {
		if strings.Contains(out, phi) {
			t.Errorf("the log holds %q:\n%s", phi, out)
		}
	}
	for _, want := range []string{"application error payer-refused", "ActivityType=SubmitAuthorization", "Attempt=3",
		"context deadline exceeded", "*errors.errorString", "withheld", "StackTrace=workflows/case.go:12",
		`msg="Workflow task postprocess error: (error withheld from the log)"`, "WorkflowID=case-c-1", "case_id=c-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}
