package tlsconf

import (
	"sync"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// A crt-list's entries added, replaced and removed while handshakes pick
// certificates: each pick sees a whole set, the default stays the first
// certificate loaded, and the names follow the entries.
func TestCrtListStoreUpdates(t *testing.T) {
	ca := tlstest.NewCA(t, "CA")
	load := func(name string, dns ...string) *Cert {
		l := ca.Issue(t, tlstest.RSA, name, dns...)
		c, err := ParsePEM(l.Bundle(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return &Cert{Path: "/" + name + ".pem", TLS: c}
	}
	def, a := load("def", "def.test"), load("a", "a.test")
	st := NewStore([]*Cert{def, a}, false)
	l := NewCrtList("/list/", false)
	l.SetEntries([]*CrtListEntry{{Cert: def.Path, Line: 1}, {Cert: a.Path, Line: 2}}, 2)
	l.AddBind(ListBind{Store: st, Pos: "cfg:1"}, []*Cert{def, a})
	if l.Path != "/list" {
		t.Errorf("path %q", l.Path)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c, err := st.Pick("nothing.test", Client{RSA: true}); err != nil || c.Path != def.Path {
					t.Errorf("default: %v %v", c, err)
					return
				}
			}
		}()
	}
	b := load("b", "b.test")
	if n := l.Add(b, []string{"b.test", "*.wild.test", "!no.wild.test"}); n != 1 {
		t.Errorf("added to %d binds", n)
	}
	if got := l.Entries()[2]; got.Line != 3 || got.Cert != b.Path {
		t.Errorf("added entry %+v", got)
	}
	for name, want := range map[string]string{"b.test": b.Path, "x.wild.test": b.Path, "no.wild.test": def.Path, "a.test": a.Path} {
		if c, _ := st.Pick(name, Client{RSA: true}); c.Path != want {
			t.Errorf("%s: %s, want %s", name, c.Path, want)
		}
	}
	a2 := load("a2", "a2.test")
	a2.Path = a.Path
	if n := st.Replace(a2); n != 1 {
		t.Errorf("replaced %d", n)
	}
	if c, _ := st.Pick("a2.test", Client{RSA: true}); c.TLS.Leaf != a2.TLS.Leaf {
		t.Errorf("a2.test after replace: %v", c.TLS.Leaf.Subject)
	}
	if got := l.IsDefault(l.Entries()[0]); len(got) != 1 || got[0] != "cfg:1" {
		t.Errorf("default entry binds %v", got)
	}
	l.Remove(l.Entries()[1]) // the replaced a: its identity was kept
	if c, _ := st.Pick("a2.test", Client{RSA: true}); c.Path != def.Path {
		t.Errorf("a2.test after removal: %s", c.Path)
	}
	close(stop)
	wg.Wait()
}
