package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// sdkLogHandler is the handler of the Temporal SDK's log lines. The SDK
// logs every failed activity attempt ("Activity error.") with the error's
// message, and an activity that completes after its timeout with its
// result. An error's message can quote what a payer, a notification
// gateway or PostgreSQL answered, which may name a patient; a result can
// hold a case's data. So an "Error" is logged by its kind only (its
// ApplicationError type, or its Go type) and a "Result" not at all: the
// case's history keeps both, encrypted (docs/privacy.md). A panic's value
// ("PanicError") is withheld too; its stack is code locations only, and
// so is an error the SDK writes into a line's message.
type sdkLogHandler struct{ slog.Handler }

func (h sdkLogHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, withholdMessage(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(withhold(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h sdkLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	safe := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		safe[i] = withhold(a)
	}
	return sdkLogHandler{h.Handler.WithAttrs(safe)}
}

func (h sdkLogHandler) WithGroup(name string) slog.Handler {
	return sdkLogHandler{h.Handler.WithGroup(name)}
}

// errorInMessage are the SDK's lines that put an error's text in the
// message itself (a payload storage driver's error, which can quote what
// it was given).
var errorInMessage = []string{"Workflow task postprocess error: ", "Workflow task preprocess error: ",
	"Activity task postprocess error: ", "Activity task preprocess error: "}

// withholdMessage is an SDK line's message without an error's text.
func withholdMessage(msg string) string {
	for _, prefix := range errorInMessage {
		if strings.HasPrefix(msg, prefix) {
			return prefix + "(error withheld from the log)"
		}
	}
	return msg
}

// withhold is attribute a as an SDK log line may carry it. Workflow code's
// own lines (workflow.GetLogger) come through here too, and pass an error
// as "error".
func withhold(a slog.Attr) slog.Attr {
	switch a.Key {
	case "Result", "PanicError":
		return slog.String(a.Key, "(withheld: the history has it, encrypted)")
	case "Error", "error":
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, errorKind(err))
		}
	}
	return a
}

// errorKind names err without its message, or any message in its chain.
func errorKind(err error) string {
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	var canceled *temporal.CanceledError
	const withheld = " (message withheld from the log; the history has it, encrypted)"
	switch {
	case errors.As(err, &app):
		return "application error " + app.Type() + withheld
	case errors.As(err, &timeout):
		return "timeout " + timeout.TimeoutType().String() + withheld
	case errors.As(err, &canceled):
		return "canceled" + withheld
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded" + withheld
	case errors.Is(err, context.Canceled):
		return "context canceled" + withheld
	}
	return fmt.Sprintf("%T", RootCause(err)) + withheld
}
