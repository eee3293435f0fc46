package fullserver

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the server if the test or benchmark process
// dies without stopping it, so that no server outlives its run.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
