//go:build !linux

package track

import (
	"context"

	"github.com/rs/zerolog"
)

// ProcessWatcher needs Linux's process connector; elsewhere nothing is
// counted.
type ProcessWatcher struct{ *Processes }

func StartProcessWatcher(specs []ProcessSpec, change func(name string, up bool), log zerolog.Logger) *ProcessWatcher {
	return &ProcessWatcher{NewProcesses(specs, func(int) (ProcInfo, bool) { return ProcInfo{}, false }, nil, change, log)}
}

func (w *ProcessWatcher) Run(ctx context.Context) { <-ctx.Done() }
