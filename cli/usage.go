package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// boolMarker is how pflag marks a boolean flag in a usage line
// ("--eligible[=true|false]"). caseflow's help shows the flag as it is
// typed, "--eligible".
const boolMarker = "[=true|false]"

// plainBoolFlags makes the help of every command show boolean flags without
// pflag's "[=true|false]". The marker is replaced by as many spaces, so the
// flag column stays aligned.
func plainBoolFlags(root *cobra.Command) {
	cobra.AddTemplateFunc("plainBools", func(s string) string {
		return strings.ReplaceAll(s, boolMarker, strings.Repeat(" ", len(boolMarker)))
	})
	t := root.UsageTemplate()
	for _, set := range []string{".LocalFlags.FlagUsages", ".InheritedFlags.FlagUsages"} {
		t = strings.ReplaceAll(t, set+" | trimTrailingWhitespaces", set+" | plainBools | trimTrailingWhitespaces")
	}
	root.SetUsageTemplate(t)
}
