// Package fhircheck runs the outside FHIR R4 validator of tools/fhircheck
// (Medplum's validateResource, from npm) on exported files, for tests.
package fhircheck

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoNode: node or npm is not installed ("make test" installs them).
var ErrNoNode = errors.New("fhircheck: node and npm are not installed (make test installs them: apt-get install nodejs npm)")

// Check validates the files (FHIR JSON or NDJSON) with tools/fhircheck
// under the repository root, installing its node modules (npm ci) when they
// are missing. It returns the validator's report, and an error when a
// resource fails.
func Check(root string, files ...string) (string, error) {
	dir := filepath.Join(root, "tools", "fhircheck")
	if _, err := exec.LookPath("node"); err != nil {
		return "", ErrNoNode
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@medplum", "core")); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			return "", ErrNoNode
		}
		ci := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		ci.Dir = dir
		if out, err := ci.CombinedOutput(); err != nil {
			return string(out), fmt.Errorf("npm ci in tools/fhircheck: %w", err)
		}
	}
	cmd := exec.Command("node", append([]string{"check.mjs"}, files...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("FHIR validation failed: %w", err)
	}
	return string(out), nil
}
