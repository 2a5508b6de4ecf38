package haproxycfg

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// keywordsDoc is KEYWORDS.md: the table for operators, context by
// context, refused keywords grouped by feature.
func keywordsDoc() string {
	var b strings.Builder
	b.WriteString("# gproxy: haproxy 2.6 keywords, one by one\n\n")
	b.WriteString("Generated from pkg/haproxycfg/keywords.go by `go test ./pkg/haproxycfg -run TestKeywordsDoc -update`; do not edit.\n\n")
	b.WriteString("- **works**: implemented as in haproxy 2.6.\n")
	b.WriteString("- **cosmetic**: tuning or information only; a `[WARNING]` naming file:line says it is ignored.\n")
	b.WriteString("- **refused**: not implemented yet and not cosmetic; an `[ALERT]` naming file:line makes `-c` fail and refuses the start.\n")
	b.WriteString("- **removed**: haproxy 2.6 refuses it too.\n")
	byCtx := map[Context][]Keyword{}
	for _, k := range keywordTable {
		byCtx[k.Context] = append(byCtx[k.Context], k)
	}
	list := func(ks []Keyword) string {
		var n []string
		for _, k := range ks {
			n = append(n, k.Name)
		}
		sort.Strings(n)
		return "`" + strings.Join(n, "`, `") + "`"
	}
	for ctx := Context(0); ctx < numContexts; ctx++ {
		b.WriteString("\n## " + ctx.String() + "\n\n")
		by := map[Class][]Keyword{}
		groups := map[Group][]Keyword{}
		for _, k := range byCtx[ctx] {
			by[k.Class] = append(by[k.Class], k)
			if k.Class == Refused {
				groups[k.Group] = append(groups[k.Group], k)
			}
		}
		for _, c := range []Class{Works, Cosmetic, Removed} {
			if len(by[c]) > 0 {
				b.WriteString("- " + c.String() + ": " + list(by[c]) + "\n")
			}
		}
		for g := Group(0); g < numGroups; g++ {
			if len(groups[g]) > 0 {
				b.WriteString("- refused (" + g.String() + "): " + list(groups[g]) + "\n")
			}
		}
	}
	return b.String()
}

// TestKeywordsDoc: KEYWORDS.md, which the README links to, is the table.
func TestKeywordsDoc(t *testing.T) {
	want := keywordsDoc()
	if *update {
		if err := os.WriteFile("KEYWORDS.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("KEYWORDS.md")
	if err != nil || string(got) != want {
		t.Errorf("KEYWORDS.md is not the keyword table (%v): regenerate with go test -run TestKeywordsDoc -update", err)
	}
}

// TestReadmeNamesRefusedFeatures: the README's gproxy "not implemented"
// item names every feature whose keywords the table refuses, and links
// to KEYWORDS.md.
func TestReadmeNamesRefusedFeatures(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The item: from "- gproxy refuses" to the next item.
	text := string(b)
	i := strings.Index(text, "\n- gproxy refuses")
	if i < 0 {
		t.Fatal(`README.md has no item "- gproxy refuses ..."`)
	}
	item := text[i+1:]
	if j := strings.Index(item, "\n- "); j >= 0 {
		item = item[:j]
	}
	item = strings.Join(strings.Fields(item), " ")
	for _, g := range RefusedGroups() {
		if !strings.Contains(item, g) {
			t.Errorf("the README's gproxy item does not name the refused feature %q:\n%s", g, item)
		}
	}
	if !strings.Contains(item, "pkg/haproxycfg/KEYWORDS.md") {
		t.Errorf("the README's gproxy item does not link to pkg/haproxycfg/KEYWORDS.md")
	}
}
