package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/caseclient"
)

// Exit statuses of caseflow, by the kind of the error (docs/operations.md).
const (
	exitOK          = 0
	exitFailure     = 1 // anything else (care.KindInternal)
	exitInvalid     = 2 // usage or invalid input
	exitNotFound    = 3
	exitNotAllowed  = 4 // not allowed now, or a conflict
	exitUnavailable = 5 // Temporal, PostgreSQL or the worker did not answer
)

// exitCodes is the documented exit status of each error kind.
var exitCodes = map[care.ErrorKind]int{
	care.KindInvalid:     exitInvalid,
	care.KindNotFound:    exitNotFound,
	care.KindNotAllowed:  exitNotAllowed,
	care.KindConflict:    exitNotAllowed,
	care.KindUnavailable: exitUnavailable,
	care.KindInternal:    exitFailure,
}

// exitHelp is the exit-status section of "caseflow --help".
const exitHelp = `Exit status:
  0  success
  1  anything else (for "case import": any failure; see its help)
  2  usage or invalid input: an unknown command or flag, a bad value or file
  3  not found: the case (or task, appointment) does not exist
  4  not allowed now (the case's phase, a pause, a closed case) or a conflict
     with what is recorded
  5  a dependency is unavailable: Temporal, PostgreSQL, or the worker did not
     answer within --timeout
With --output json an error also prints {"error": {"code", "kind", "message"}}
on stdout; the message is always on stderr.`

// kindOf is the kind of err: care.KindOf, and KindUnavailable for a
// deadline that passed or Temporal unavailable where no layer said more.
func kindOf(err error) care.ErrorKind {
	kind := care.KindOf(err)
	if kind == care.KindInternal {
		kind = caseclient.TransportKind(err)
	}
	return kind
}

// exitCode is the exit status for err.
func exitCode(err error) int {
	var imp importFailed
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &imp):
		return exitFailure
	}
	return exitCodes[kindOf(err)]
}

// importFailed is an error of "case import", which has an exit status of
// its own (1 for any failure, see its help) and prints no JSON error: with
// --output json its stdout holds the summary or nothing.
type importFailed struct{ err error }

func (e importFailed) Error() string { return e.err.Error() }
func (e importFailed) Unwrap() error { return e.err }

// errorObject is what an error prints on stdout with --output json.
type errorObject struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    int            `json:"code"`
	Kind    care.ErrorKind `json:"kind"`
	Message string         `json:"message"`
}

// report prints err as one line on stderr and, with --output json, as an
// error object on stdout, and returns the exit status.
func (a *app) report(err error, stderr io.Writer) int {
	code := exitCode(err)
	msg := oneLine(err)
	if a.json() && !errors.As(err, new(importFailed)) {
		kind := kindOf(err)
		if e := a.printJSON(errorObject{errorBody{Code: code, Kind: kind, Message: msg}}); e != nil {
			fmt.Fprintln(stderr, "caseflow: "+oneLine(e))
		}
	}
	fmt.Fprintln(stderr, "caseflow: "+msg)
	return code
}

// outputIn is the last --output (-o) given in args, for an error cobra hit
// before it parsed the flags (an unknown flag stops it).
func outputIn(args []string) string {
	out := ""
	for i, arg := range args {
		switch {
		case arg == "--":
			return out
		case (arg == "--output" || arg == "-o") && i+1 < len(args):
			out = args[i+1]
		case strings.HasPrefix(arg, "--output="):
			out = strings.TrimPrefix(arg, "--output=")
		case strings.HasPrefix(arg, "-o") && !strings.HasPrefix(arg, "--"):
			out = strings.TrimPrefix(strings.TrimPrefix(arg, "-o"), "=")
		}
	}
	return out
}

// usage makes an error of the command line itself (an unknown command or
// flag, a wrong number of arguments) an invalid-input error; one that has a
// kind keeps it.
func usage(err error) error {
	if err == nil || care.KindOf(err) != care.KindInternal || errors.As(err, new(importFailed)) {
		return err
	}
	return &care.Error{Kind: care.KindInvalid, Message: err.Error(), Err: err}
}

// strictCommands makes every command of the tree refuse what it does not
// know: a group (a command with subcommands and nothing to run) refuses an
// unknown subcommand instead of printing its help, and argument errors are
// usage errors.
func strictCommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
	}
	if check := cmd.Args; check != nil {
		cmd.Args = func(cmd *cobra.Command, args []string) error { return usage(check(cmd, args)) }
	}
	for _, sub := range cmd.Commands() {
		strictCommands(sub)
	}
}

// unknownCommand says that name is no subcommand of group, and what might be.
func unknownCommand(group *cobra.Command, name string) error {
	hint := ""
	if group.SuggestionsMinimumDistance <= 0 {
		group.SuggestionsMinimumDistance = 2
	}
	if s := group.SuggestionsFor(name); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(quoteAll(s), " or "))
	}
	return care.Errorf(care.KindInvalid, "unknown command %q for %q%s; see \"%s --help\"", name, group.CommandPath(), hint, group.CommandPath())
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}

// badFlag makes a flag that cobra could not parse a usage error.
func badFlag(cmd *cobra.Command, err error) error {
	return care.Errorf(care.KindInvalid, "%v; see \"%s --help\"", err, cmd.CommandPath())
}
