//go:build !linux

package fullserver

import "os/exec"

// setParentDeathSignal is Linux only; elsewhere Stop must run.
func setParentDeathSignal(*exec.Cmd) {}
