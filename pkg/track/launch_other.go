//go:build !linux

package track

import "os/exec"

// LauncherThread is 0: scripts start from any thread.
func LauncherThread() int { return 0 }

// StartCmd starts cmd.
func StartCmd(cmd *exec.Cmd) error { return cmd.Start() }
