package keepalivedcfg

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileSystem is what the parser needs to read the main file's includes.
// Tests pass an in-memory one (FromFS(fstest.MapFS{...})); ParseFile uses
// the real one.
type FileSystem interface {
	ReadFile(name string) ([]byte, error)
	// Glob returns the names matching a shell pattern (no braces), sorted.
	Glob(pattern string) ([]string, error)
	Stat(name string) (fs.FileInfo, error)
}

// OSFileSystem reads the machine's files.
type OSFileSystem struct{}

func (OSFileSystem) ReadFile(name string) ([]byte, error)  { return os.ReadFile(name) }
func (OSFileSystem) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }
func (OSFileSystem) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// FromFS adapts an fs.FS (such as fstest.MapFS) whose root stands for "/":
// absolute names lose their leading slash, relative ones are used as is.
func FromFS(fsys fs.FS) FileSystem { return ioFS{fsys} }

type ioFS struct{ fsys fs.FS }

func fsName(name string) string {
	name = filepath.ToSlash(filepath.Clean(name))
	if name == "/" {
		return "."
	}
	return strings.TrimPrefix(name, "/")
}

func (f ioFS) ReadFile(name string) ([]byte, error)  { return fs.ReadFile(f.fsys, fsName(name)) }
func (f ioFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(f.fsys, fsName(name)) }
func (f ioFS) Glob(pattern string) ([]string, error) {
	abs := strings.HasPrefix(pattern, "/")
	m, err := fs.Glob(f.fsys, fsName(pattern))
	if err != nil {
		return nil, err
	}
	if abs {
		for i := range m {
			m[i] = "/" + m[i]
		}
	}
	sort.Strings(m)
	return m, nil
}

// expandBraces expands {a,b} alternatives as glob(3) with GLOB_BRACE does,
// which keepalived uses for include patterns.
func expandBraces(pattern string) []string {
	depth, start := 0, -1
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				start = i
			}
			depth++
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth != 0 {
				continue
			}
			var alts []string
			d, from := 0, start+1
			for j := start + 1; j < i; j++ {
				switch pattern[j] {
				case '{':
					d++
				case '}':
					d--
				case ',':
					if d == 0 {
						alts = append(alts, pattern[from:j])
						from = j + 1
					}
				}
			}
			alts = append(alts, pattern[from:i])
			var out []string
			for _, a := range alts {
				out = append(out, expandBraces(pattern[:start]+a+pattern[i+1:])...)
			}
			return out
		}
	}
	return []string{pattern}
}
