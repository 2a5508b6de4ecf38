package runtimeapi

import (
	"fmt"
	"strconv"
	"strings"

	"hapair/pkg/sample"
)

// The map and ACL commands (management guide section 9.3: "show map",
// "get map", "add map", "del map", "set map", "clear map", "prepare
// map", "commit map" and their "acl" twins), acting on the pattern
// references the configuration's ACLs and map converters match through
// (pkg/sample's PatRefs). Words and answers are haproxy 2.6's (map.c).

// mapKind is "map" or "acl" (args[1]).
type mapKind struct{ isMap bool }

func kindOf(args []string) mapKind { return mapKind{isMap: arg(args, 1) == "map"} }

func (k mapKind) unknown() string {
	if k.isMap {
		return "Unknown map identifier. Please use #<id> or <file>.\n"
	}
	return "Unknown ACL identifier. Please use #<id> or <file>.\n"
}

// flagged reports whether ref is used by this kind (PAT_REF_MAP/ACL).
func (k mapKind) flagged(ref *sample.PatRef) bool {
	if k.isMap {
		return ref.IsMap
	}
	return ref.IsACL
}

func (c *Commands) patRefs() *sample.PatRefs {
	if c.Source == nil || c.Source.Config == nil {
		return nil
	}
	return c.Source.Config.PatRefs
}

// str2uic is haproxy's: the leading decimal digits, 0 when none.
func str2uic(s string) uint32 {
	var n uint32
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + uint32(s[i]-'0')
	}
	return n
}

// eltID reads "#0x..." as the element ids `show map` prints; ok is false
// when the word is not of that form, bad when it is but malformed.
func eltID(w string) (id uint64, ok, bad bool) {
	if !strings.HasPrefix(w, "#0x") {
		return 0, false, false
	}
	n, err := strconv.ParseUint(w[3:], 16, 64)
	if err != nil || w[3:] == "" {
		return 0, true, true
	}
	return n, true, false
}

func (c *Commands) showMap(args []string) string {
	k := kindOf(args)
	refs := c.patRefs()
	if arg(args, 2) == "" {
		var b strings.Builder
		b.WriteString("# id (file) description\n")
		for _, ref := range refs.List() {
			if k.flagged(ref) {
				b.WriteString(ref.Description())
			}
		}
		return b.String()
	}
	var gen uint32
	cur := true
	if strings.HasPrefix(args[2], "@") {
		gen, cur = str2uic(args[2][1:]), false
		args = args[1:]
	}
	ref := refs.Lookup(arg(args, 2))
	if ref == nil || !k.flagged(ref) {
		return k.unknown()
	}
	return ref.Dump(gen, cur)
}

func (c *Commands) getMap(args []string) string {
	k := kindOf(args)
	if arg(args, 2) == "" || arg(args, 3) == "" {
		if k.isMap {
			return "Missing map identifier and/or key.\n"
		}
		return "Missing ACL identifier and/or key.\n"
	}
	ref := c.patRefs().Lookup(args[2])
	if ref == nil {
		return k.unknown()
	}
	var b strings.Builder
	for _, r := range ref.Get(args[3]) {
		fmt.Fprintf(&b, "type=%s", r.Method)
		if r.ICase {
			b.WriteString(", case=insensitive")
		} else {
			b.WriteString(", case=sensitive")
		}
		word := "match"
		if k.isMap {
			word = "found"
		}
		if !r.Found {
			fmt.Fprintf(&b, ", %s=no\n", word)
			continue
		}
		fmt.Fprintf(&b, ", %s=yes", word)
		if r.Tree {
			b.WriteString(", idx=tree")
		} else {
			b.WriteString(", idx=list")
		}
		if k.isMap {
			fmt.Fprintf(&b, ", key=\"%s\"", r.Key)
			if r.HasVal {
				fmt.Fprintf(&b, ", value=\"%s\", type=\"%s\"", r.Value, r.ValType)
			} else {
				b.WriteString(", value=none")
			}
		} else {
			fmt.Fprintf(&b, ", pattern=\"%s\"", r.Key)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c *Commands) prepareMap(args []string) string {
	k := kindOf(args)
	ref := c.patRefs().Lookup(arg(args, 2))
	if ref == nil || !k.flagged(ref) {
		return k.unknown()
	}
	return fmt.Sprintf("New version created: %d\n", ref.NewGen())
}

func (c *Commands) setMap(args []string) string {
	if arg(args, 2) == "" || arg(args, 3) == "" || arg(args, 4) == "" {
		return "'set map' expects three parameters: map identifier, key and value.\n"
	}
	ref := c.patRefs().Lookup(args[2])
	if ref == nil {
		return mapKind{true}.unknown()
	}
	var err error
	if id, ok, bad := eltID(args[3]); ok {
		if bad {
			return "Malformed identifier. Please use #<id> or <file>.\n"
		}
		err = ref.SetByID(id, args[4])
	} else {
		err = ref.Set(args[3], args[4])
	}
	if err != nil {
		return err.Error() + ".\n"
	}
	return ""
}

func (c *Commands) addMap(args []string, payload *string) string {
	k := kindOf(args)
	var gen uint32
	cur := true
	if strings.HasPrefix(arg(args, 2), "@") {
		gen, cur = str2uic(args[2][1:]), false
		args = args[1:]
	}
	if k.isMap {
		if (payload == nil && (arg(args, 2) == "" || arg(args, 3) == "" || arg(args, 4) == "")) || (payload != nil && arg(args, 2) == "") {
			return "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
		}
	} else if arg(args, 2) == "" || arg(args, 3) == "" {
		return "'add acl' expects two parameters: ACL identifier and pattern.\n"
	}
	ref := c.patRefs().Lookup(args[2])
	if ref == nil {
		return k.unknown()
	}
	if !cur {
		if _, next := ref.Gens(); int32(gen-next) > 0 {
			if k.isMap {
				return "Version number in the future, please use 'prepare map' before.\n"
			}
			return "Version number in the future, please use 'prepare acl' before.\n"
		}
	}
	if !k.isMap && ref.HasSamples() {
		return "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n"
	}
	add := func(key, value string) string {
		if err := ref.Add(gen, cur, key, value, k.isMap); err != nil {
			return err.Error() + ".\n"
		}
		return ""
	}
	if payload == nil {
		return add(args[3], arg(args, 4))
	}
	// As haproxy's loop: the key runs to the first blank or tab (across
	// line ends: "k1\nk2 v" is the key "k1\nk2"), the value from the next
	// non-blank to the end of the line.
	var entries []sample.Entry
	missing := ""
	p := *payload
	for p != "" {
		l := strings.IndexAny(p, " \t")
		if l < 0 {
			l = len(p)
		}
		key := p[:l]
		p = p[l:]
		if p == "" && k.isMap {
			missing = key
			break
		}
		if p != "" {
			p = p[1:]
		}
		p = strings.TrimLeft(p, " \t")
		l = strings.IndexByte(p, '\n')
		if l < 0 {
			l = len(p)
		}
		value := p[:l]
		p = p[l:]
		if p != "" {
			p = p[1:]
		}
		entries = append(entries, sample.Entry{Pattern: key, Sample: value})
	}
	if err := ref.AddBatch(gen, cur, entries, k.isMap); err != nil {
		return err.Error() + ".\n"
	}
	if missing != "" {
		return fmt.Sprintf("Missing value for key '%s'.\n", missing)
	}
	return ""
}

func (c *Commands) delMap(args []string) string {
	k := kindOf(args)
	if arg(args, 2) == "" || arg(args, 3) == "" {
		if k.isMap {
			return "This command expects two parameters: map identifier and key.\n"
		}
		return "This command expects two parameters: ACL identifier and key.\n"
	}
	ref := c.patRefs().Lookup(args[2])
	if ref == nil || !k.flagged(ref) {
		return mapKind{true}.unknown()
	}
	var found bool
	if id, ok, bad := eltID(args[3]); ok {
		if bad {
			return "Malformed identifier. Please use #<id> or <file>.\n"
		}
		found = ref.DeleteByID(id)
	} else {
		found = ref.Delete(args[3])
	}
	if !found {
		return "Key not found.\n"
	}
	return ""
}

func (c *Commands) clearMap(args []string) string {
	k := kindOf(args)
	var gen uint32
	cur := true
	if strings.HasPrefix(arg(args, 2), "@") {
		gen, cur = str2uic(args[2][1:]), false
		args = args[1:]
	}
	if arg(args, 2) == "" {
		if k.isMap {
			return "Missing map identifier.\n"
		}
		return "Missing ACL identifier.\n"
	}
	ref := c.patRefs().Lookup(args[2])
	if ref == nil || !k.flagged(ref) {
		return k.unknown()
	}
	if cur {
		gen, _ = ref.Gens()
	}
	ref.Purge(gen, gen)
	return ""
}

func (c *Commands) commitMap(args []string) string {
	k := kindOf(args)
	if !strings.HasPrefix(arg(args, 2), "@") {
		return "Missing version number.\n"
	}
	gen := str2uic(args[2][1:])
	if arg(args, 3) == "" {
		if k.isMap {
			return "Missing map identifier.\n"
		}
		return "Missing ACL identifier.\n"
	}
	ref := c.patRefs().Lookup(args[3])
	if ref == nil || !k.flagged(ref) {
		return k.unknown()
	}
	if !ref.Commit(gen) {
		return "Version number out of range.\n"
	}
	return ""
}
