//go:build !linux

package track

import (
	"context"
	"errors"

	"github.com/rs/zerolog"
)

// FileSpec is one track_file.
type FileSpec struct{ Name, Path string }

// FileWatcher needs inotify (Linux).
type FileWatcher struct{}

func StartFileWatcher(specs []FileSpec, change func(string, int64), log zerolog.Logger) (*FileWatcher, error) {
	return &FileWatcher{}, errors.New("track_file needs Linux inotify")
}
func (w *FileWatcher) Value(name string) int64    { return 0 }
func (w *FileWatcher) Watched(name string) bool   { return false }
func (w *FileWatcher) Run(ctx context.Context)    { <-ctx.Done() }
func InitTrackFile(string, int, bool, bool) error { return errors.New("track_file needs Linux") }
