package workflows_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// forbidden are the packages of adapters: the database driver and its
// helpers, the migration tool and HTTP. Deterministic workflow code has no
// use for them.
var forbidden = []string{"database/sql", "github.com/lib/pq", "github.com/jmoiron/sqlx", "github.com/pressly/goose", "net/http"}

// adapters are caseflow's own packages that talk to the outside world.
var adapters = []string{"postgres", "payer", "notify", "schema", "connect", "codec", "cli", "internal/httperr"}

const module = "github.com/caseflow/caseflow/"

func isForbidden(pkg string) bool {
	for _, f := range forbidden {
		if pkg == f || strings.HasPrefix(pkg, f+"/") {
			return true
		}
	}
	return false
}

// goList returns each package in the dependencies of pkgs with its direct
// imports.
func goList(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`}, pkgs...)
	out, err := exec.Command("go", args...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}

// TestWorkflowsLinkNoAdapters checks that the workflow package, and the
// caseflow packages it imports (care, activities), link neither the
// database driver (database/sql, lib/pq, sqlx), the migrations (goose) nor
// HTTP: the activities reach the store, the payer and the notifier only
// through interfaces, which the worker fills with the real adapters.
//
// The Temporal SDK itself links net/http (go.temporal.io/sdk/converter
// serves the remote payload codec over HTTP, and gRPC's transport imports
// it) and database/sql/driver (github.com/google/uuid implements
// driver.Valuer), so a plain `go list -deps ./workflows | grep net/http`
// always matches. The test therefore allows a forbidden package only when
// the SDK's own dependencies bring it, and requires that no caseflow
// package in the graph imports one, or imports an adapter.
func TestWorkflowsLinkNoAdapters(t *testing.T) {
	deps := goList(t, module+"workflows")
	var sdk []string // what caseflow's packages import from go.temporal.io
	for pkg, imports := range deps {
		if !strings.HasPrefix(pkg, module) {
			continue
		}
		for _, a := range adapters {
			require.NotEqual(t, module+a, pkg, "workflows links the adapter %s", pkg)
		}
		for _, imp := range imports {
			require.False(t, isForbidden(imp), "%s imports %s", pkg, imp)
			if strings.HasPrefix(imp, "go.temporal.io/") && !slices.Contains(sdk, imp) {
				sdk = append(sdk, imp)
			}
		}
	}
	require.Contains(t, deps, module+"activities", "workflows names the activities through their methods")
	fromSDK := goList(t, sdk...)
	for pkg := range deps {
		if isForbidden(pkg) {
			require.Contains(t, fromSDK, pkg, "%s is linked into workflows, and not by the Temporal SDK", pkg)
		}
	}
	for _, p := range []string{"database/sql", "github.com/lib/pq", "github.com/jmoiron/sqlx", "github.com/pressly/goose/v3"} {
		require.NotContains(t, deps, p)
	}
}
