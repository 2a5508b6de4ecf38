package track_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hapair/pkg/track"
)

// TestFileWatcher: a tracked file is read at start and again, through
// inotify, when it is written, replaced by a rename, moved away or
// deleted (then it reads 0), as keepalived's track_file does; a file
// whose directory does not exist is dropped.
func TestFileWatcher(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weight")
	if err := os.WriteFile(path, []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int64
	_, log := newLogger()
	w, err := track.StartFileWatcher([]track.FileSpec{{Name: "tf", Path: path}, {Name: "gone", Path: "/nonexistent-gk-dir/x"}},
		func(name string, v int64) { mu.Lock(); got = append(got, v); mu.Unlock() }, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if v := w.Value("tf"); v != 7 {
		t.Fatalf("value at start %d, want 7", v)
	}
	if w.Watched("gone") {
		t.Error("a file in a missing directory is watched")
	}
	waitValue := func(step string, want int64) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if w.Value("tf") == want {
				return
			}
		}
		t.Fatalf("%s: value %d, want %d", step, w.Value("tf"), want)
	}
	os.WriteFile(path, []byte("-12"), 0o644)
	waitValue("written", -12)
	tmp := filepath.Join(dir, "new")
	os.WriteFile(tmp, []byte("0x10 junk"), 0o644)
	os.Rename(tmp, path)
	waitValue("renamed in", 16)
	os.Rename(path, filepath.Join(dir, "old"))
	waitValue("moved away", 0)
	os.WriteFile(path, []byte("010"), 0o644) // octal, as strtol base 0
	waitValue("written again", 8)
	os.Remove(path)
	waitValue("deleted", 0)
	os.WriteFile(path, []byte("not a number"), 0o644)
	os.WriteFile(path, []byte("3"), 0o644)
	waitValue("written after junk", 3)
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 6 {
		t.Errorf("changes reported %v, want at least 6", got)
	}
}

// TestInitTrackFile: init_file writes the value when the file is missing;
// an existing file is overwritten only with overwrite and not on reload.
func TestInitTrackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	read := func() string { b, _ := os.ReadFile(path); return string(b) }
	if err := track.InitTrackFile(path, 5, false, false); err != nil || read() != "5\n" {
		t.Fatalf("create: %v %q", err, read())
	}
	track.InitTrackFile(path, 6, false, false)
	track.InitTrackFile(path, 7, true, true)
	if read() != "5\n" {
		t.Fatalf("existing file changed without overwrite or on reload: %q", read())
	}
	track.InitTrackFile(path, 8, true, false)
	if read() != "8\n" {
		t.Fatalf("overwrite: %q", read())
	}
	if err := track.InitTrackFile(filepath.Dir(path), 1, true, false); err == nil {
		t.Fatal("overwriting a directory: no error")
	}
}
