package cli

import (
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
)

// inputField names the field of an input-limit error (caseclient.CheckSize)
// the way it was given: the flag ("--notes") when the flag was set, else
// the field of the --file it came from ("plan.json: goals[0].description").
func inputField(cmd *cobra.Command, err error) error {
	var v *care.ValidationError
	if !errors.As(err, &v) || strings.HasPrefix(v.Field, "-") {
		return err
	}
	top, _, _ := strings.Cut(v.Field, ".")
	top, _, _ = strings.Cut(top, "[")
	if f := cmd.Flags().Lookup(strings.ReplaceAll(top, "_", "-")); f != nil && f.Changed && top == v.Field {
		return care.Invalidf("--"+f.Name, "%s", v.Problem)
	}
	if f := cmd.Flags().Lookup("file"); f != nil && f.Changed {
		return care.Invalidf(f.Value.String()+": "+v.Field, "%s", v.Problem)
	}
	return err
}

// minRoundTrip is the shortest --timeout that a round trip to Temporal (and
// through it to the worker) can be expected to fit in; below it a timeout
// is the flag's fault, not Temporal's.
const minRoundTrip = time.Second

// shortTimeout says that --timeout was too short when a command ran out of
// time under a --timeout below minRoundTrip, instead of "cannot reach
// Temporal". An error that says the service refused the connection keeps
// its message.
func (a *app) shortTimeout(err error) error {
	if err == nil || a.timeout >= minRoundTrip || kindOf(err) != care.KindUnavailable {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		return err
	}
	return care.Errorf(care.KindUnavailable, "--timeout %s is shorter than a round trip to Temporal and the worker can take, so nothing answered in time; use --timeout %s or more (the default is 30s). An action sent may still complete: check with \"caseflow case show\"",
		humanDuration(a.timeout), humanDuration(minRoundTrip))
}
