package track

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// FileSpec is one track_file: the file holds a number.
type FileSpec struct {
	Name string
	Path string
}

// FileWatcher reads tracked files when they are written, moved in, moved
// away or deleted, through inotify on their directories, as keepalived's
// track_file.c does. A file that is missing or holds no number reads 0.
type FileWatcher struct {
	mu     sync.Mutex
	files  []*watchedFile
	values map[string]int64
	fd     int
	f      *os.File
	change func(name string, v int64)
	log    zerolog.Logger
}

type watchedFile struct {
	FileSpec
	dir, base string
	wd        int
}

// StartFileWatcher resolves the files' directories, watches them and
// reads the files. A file whose directory does not exist is dropped with
// keepalived's message.
func StartFileWatcher(specs []FileSpec, change func(name string, v int64), log zerolog.Logger) (*FileWatcher, error) {
	w := &FileWatcher{values: map[string]int64{}, fd: -1, change: change, log: log}
	for _, s := range specs {
		path, err := resolveTrackFile(s.Path)
		if err != nil {
			log.Info().Msgf("%s", fmt.Sprintf(err.Error(), s.Name))
			continue
		}
		w.files = append(w.files, &watchedFile{FileSpec: FileSpec{Name: s.Name, Path: path}, dir: filepath.Dir(path), base: filepath.Base(path), wd: -1})
	}
	if len(w.files) == 0 {
		return w, nil
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		log.Info().Msg("Unable to monitor track files")
		return w, fmt.Errorf("inotify: %w", err)
	}
	w.fd = fd
	for _, f := range w.files {
		wd, err := unix.InotifyAddWatch(fd, f.dir, unix.IN_CLOSE_WRITE|unix.IN_DELETE|unix.IN_MOVE)
		if err != nil {
			log.Info().Msgf("track file %s: watching %s: %v", f.Name, f.dir, err)
			continue
		}
		f.wd = wd
		w.values[f.Name] = readTrackFile(f.Path)
	}
	w.f = os.NewFile(uintptr(fd), "inotify")
	return w, nil
}

// resolveTrackFile is init_track_files' path resolution: the real path of
// the file, or of its directory when the file does not exist yet. The
// error is a format for the file's name.
func resolveTrackFile(path string) (string, error) {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return filepath.Abs(p)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", errors.New("track file %s is not accessible - ignoring")
	}
	dir := filepath.Dir(path)
	d, err := filepath.EvalSymlinks(dir)
	if err == nil {
		if st, err2 := os.Stat(d); err2 != nil || !st.IsDir() {
			err = errors.New("not a directory")
		}
	}
	if err != nil {
		return "", errors.New("Track file directory for %s does not exist - removing")
	}
	d, _ = filepath.Abs(d)
	return filepath.Join(d, filepath.Base(path)), nil
}

// readTrackFile is process_track_file: strtol(buf, NULL, 0) of the first
// 127 bytes; 0 when the file cannot be read or holds no number.
func readTrackFile(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, _ := f.Read(buf)
	return strtolBase0(string(buf[:n]))
}

// strtolBase0 is C's strtol(s, NULL, 0): leading space, a sign, 0x for
// hex, 0 for octal, decimal otherwise; the digits that parse, saturated.
func strtolBase0(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isDigitBase(s[2], 16):
		base, s = 16, s[2:]
	case len(s) > 0 && s[0] == '0':
		base = 8
	}
	var v uint64
	over := false
	for i := 0; i < len(s) && isDigitBase(s[i], base); i++ {
		d := digitVal(s[i])
		if v > (1<<63)/uint64(base) {
			over = true
			break
		}
		v = v*uint64(base) + uint64(d)
		if v > 1<<63 {
			over = true
			break
		}
	}
	switch {
	case over && neg:
		return -1 << 63
	case over:
		return 1<<63 - 1
	case neg:
		return -int64(v)
	case v > 1<<63-1:
		return 1<<63 - 1
	}
	return int64(v)
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

func isDigitBase(c byte, base int) bool { return digitVal(c) < base }

// Value is a tracked file's last number.
func (w *FileWatcher) Value(name string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.values[name]
}

// Watched says whether the file is watched (its directory exists).
func (w *FileWatcher) Watched(name string) bool {
	for _, f := range w.files {
		if f.Name == name {
			return f.wd >= 0
		}
	}
	return false
}

// Run reads inotify events until ctx ends.
func (w *FileWatcher) Run(ctx context.Context) {
	if w.f == nil {
		<-ctx.Done()
		return
	}
	go func() {
		<-ctx.Done()
		w.f.Close()
	}()
	rc, err := w.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for ctx.Err() == nil {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), buf)
			return rerr != unix.EAGAIN
		}); err != nil {
			return
		}
		if rerr != nil {
			if rerr == unix.EINTR {
				continue
			}
			w.log.Info().Msgf("inotify read() returned error %d - %v", errno(rerr), rerr)
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			name := strings.TrimRight(string(nameBytes), "\x00")
			if ev.Mask&unix.IN_ISDIR != 0 || ev.Mask&(unix.IN_DELETE|unix.IN_CLOSE_WRITE|unix.IN_MOVE) == 0 {
				continue
			}
			for _, f := range w.files {
				if f.wd != int(ev.Wd) || f.base != name {
					continue
				}
				var v int64
				if ev.Mask&(unix.IN_MOVED_FROM|unix.IN_DELETE) == 0 {
					v = readTrackFile(f.Path)
				}
				w.set(f.Name, v)
			}
		}
	}
}

func (w *FileWatcher) set(name string, v int64) {
	w.mu.Lock()
	old := w.values[name]
	w.values[name] = v
	w.mu.Unlock()
	if old != v && w.change != nil {
		w.change(name, v)
	}
}

// InitTrackFile is track_file's init_file, at start: write value to the
// file if it does not exist, or (overwrite, not on reload) if it is a
// regular file. The error says why it could not.
func InitTrackFile(path string, value int, overwrite, reload bool) error {
	st, err := os.Stat(path)
	if err == nil {
		if !overwrite {
			return nil
		}
		if !st.Mode().IsRegular() {
			return errors.New("it is not a regular file")
		}
		if reload {
			return nil
		}
	}
	return os.WriteFile(path, []byte(strconv.Itoa(value)+"\n"), 0o644)
}
