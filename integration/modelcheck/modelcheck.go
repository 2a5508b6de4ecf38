// Package modelcheck finds settings that are parsed and then dropped: fields
// of a configuration model (or of a parsed command line) that no runtime
// code ever reads. A config keyword that fills such a field is accepted and
// then silently not done, which is failing open; the test beside this file
// keeps the list empty.
//
// It type-checks the runtime packages from source against the compiler's
// export data (`go list -export`), so it needs the go tool and a module,
// but no network and no privileges.
package modelcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Model names the structs whose fields must all be read.
type Model struct {
	// Pkg is the import path of the package declaring the structs.
	Pkg string
	// Files are the base names of the files whose struct types form the
	// model (e.g. "model.go").
	Files []string
	// OwnReader says which files of the declaring package count as
	// readers (the model's own methods, through which the runtime reaches
	// fields; or, for a command line, the code that acts on it). The
	// parser's files must not: they fill the fields.
	OwnReader func(file string) bool
	// Types restricts the model to these type names; empty means every
	// struct type declared in Files.
	Types []string
}

// Field is one struct field, "haproxycfg.Bind.V6Only".
type Field struct {
	Pkg, Type, Name string
}

func (f Field) String() string {
	return fmt.Sprintf("%s.%s.%s", f.Pkg[strings.LastIndex(f.Pkg, "/")+1:], f.Type, f.Name)
}

// listed is what `go list -export -json` says of a package.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Standard   bool
}

// Unread returns the fields of the models that no code in the runtime
// packages (patterns as `go list` takes them, non-test files only) reads,
// counting the model files' own methods as readers. dir is the module's
// root.
func Unread(dir string, models []Model, runtime []string) ([]Field, error) {
	pkgs, err := goList(dir, runtime)
	if err != nil {
		return nil, err
	}
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("modelcheck: no export data for %s", path)
		}
		return os.Open(f)
	})

	// The model fields, from the declaring package's export data.
	want := map[*types.Var]Field{}
	modelPkgs := map[string]Model{}
	for _, m := range models {
		modelPkgs[m.Pkg] = m
		names, err := structNames(pkgs, m)
		if err != nil {
			return nil, err
		}
		tp, err := imp.Import(m.Pkg)
		if err != nil {
			return nil, fmt.Errorf("modelcheck: importing %s: %w", m.Pkg, err)
		}
		for _, n := range names {
			obj := tp.Scope().Lookup(n)
			if obj == nil {
				return nil, fmt.Errorf("modelcheck: %s.%s not found", m.Pkg, n)
			}
			st, ok := obj.Type().Underlying().(*types.Struct)
			if !ok {
				continue
			}
			for i := 0; i < st.NumFields(); i++ {
				if f := st.Field(i); f.Exported() {
					want[f] = Field{Pkg: m.Pkg, Type: n, Name: f.Name()}
				}
			}
		}
	}
	read := map[Field]bool{}

	// Every runtime package type-checked from source: a selection of a
	// model field anywhere is a read. Fields are matched by package, type
	// and name since export data and source give different objects.
	for _, p := range pkgs {
		if p.Standard || !matchesAny(p.ImportPath, runtime, pkgs) {
			continue
		}
		m, isModel := modelPkgs[p.ImportPath]
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		if len(files) == 0 {
			continue
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			return nil, fmt.Errorf("modelcheck: type-checking %s: %w", p.ImportPath, err)
		}
		for expr, sel := range info.Selections {
			if isModel {
				// In the model's own package only the reader files count:
				// the parser fills fields, it does not read them for the
				// runtime.
				name := filepath.Base(fset.Position(expr.Pos()).Filename)
				if m.OwnReader == nil || !m.OwnReader(name) {
					continue
				}
			}
			if sel.Kind() != types.FieldVal {
				continue
			}
			v, ok := sel.Obj().(*types.Var)
			if !ok || v.Pkg() == nil {
				continue
			}
			recv := sel.Recv()
			for {
				if ptr, ok := recv.(*types.Pointer); ok {
					recv = ptr.Elem()
					continue
				}
				break
			}
			// For promoted fields the receiver is the outer type; the
			// field's own struct is found through the selection's path.
			typeName := ownerName(sel)
			if typeName == "" {
				if named, ok := recv.(*types.Named); ok {
					typeName = named.Obj().Name()
				}
			}
			read[Field{Pkg: v.Pkg().Path(), Type: typeName, Name: v.Name()}] = true
		}
	}
	var out []Field
	for _, f := range want {
		if !read[f] {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// ownerName is the name of the struct type that declares the selected
// field, walking embedded fields along the selection's index path.
func ownerName(sel *types.Selection) string {
	t := sel.Recv()
	idx := sel.Index()
	for k, i := range idx {
		for {
			if ptr, ok := t.(*types.Pointer); ok {
				t = ptr.Elem()
				continue
			}
			break
		}
		named, _ := t.(*types.Named)
		st, ok := t.Underlying().(*types.Struct)
		if !ok || i >= st.NumFields() {
			return ""
		}
		if k == len(idx)-1 {
			if named == nil {
				return ""
			}
			return named.Obj().Name()
		}
		t = st.Field(i).Type()
	}
	return ""
}

// structNames lists the struct types a model declares in its files.
func structNames(pkgs []listed, m Model) ([]string, error) {
	if len(m.Types) > 0 {
		return m.Types, nil
	}
	var dir string
	for _, p := range pkgs {
		if p.ImportPath == m.Pkg {
			dir = p.Dir
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("modelcheck: package %s not listed", m.Pkg)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range m.Files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				if _, ok := ts.Type.(*ast.StructType); ok && ts.Name.IsExported() {
					names = append(names, ts.Name.Name)
				}
			}
		}
	}
	return names, nil
}

func goList(dir string, patterns []string) ([]listed, error) {
	args := append([]string{"list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export,Standard"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("modelcheck: go list: %w: %s", err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("modelcheck: go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// matchesAny reports whether path is one of the patterns (exact, or under
// a "/..." pattern).
func matchesAny(path string, patterns []string, _ []listed) bool {
	for _, pat := range patterns {
		if base, ok := strings.CutSuffix(pat, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
			continue
		}
		if path == pat {
			return true
		}
	}
	return false
}
