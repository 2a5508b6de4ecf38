package haproxycfg

import (
	"fmt"
	"strings"

	"hapair/pkg/userlist"
)

// The `userlist` section (configuration manual section 3.4).

// userlistState is a userlist being read: the groups it declares and
// the `group G users ...` memberships, resolved at the end.
type userlistState struct {
	ul      *Userlist
	groups  []string
	members map[string][]string // group -> users named by `group ... users`
	pos     map[string]Pos      // user -> line, for the end checks
	skip    bool                // a duplicated userlist: its lines are ignored
}

func (p *parser) startUserlist(args []string) {
	p.endSection()
	p.section = secUserlist
	p.sectionName = "userlist"
	st := &userlistState{ul: &Userlist{Pos: p.pos()}, members: map[string][]string{}, pos: map[string]Pos{}}
	p.userlist = st
	if len(args) < 2 || args[1] == "" {
		p.diag(Alert, LocParsingTight, "userlist", "'%s' expects <name> as arguments.", args[0])
		st.skip = true
		return
	}
	st.ul.Name = args[1]
	if p.cfg.Userlist(args[1]) != nil {
		p.diag(Warning, LocParsingTight, "userlist", "ignoring duplicated userlist '%s'.", args[1])
		st.skip = true
		return
	}
	p.cfg.Userlists = append(p.cfg.Userlists, st.ul)
	p.userlists = append(p.userlists, st)
}

func (p *parser) userlistKeyword(args []string) {
	st := p.userlist
	if st == nil || st.skip {
		return
	}
	ul := st.ul
	kw := args[0]
	switch kw {
	case "group":
		if len(args) < 2 || args[1] == "" {
			p.diag(Alert, LocParsingTight, kw, "'%s' expects <name> as arguments.", kw)
			return
		}
		for _, g := range st.groups {
			if g == args[1] {
				p.diag(Warning, LocParsingTight, kw, "ignoring duplicated group '%s' in userlist '%s'.", args[1], ul.Name)
				return
			}
		}
		st.groups = append(st.groups, args[1])
		for i := 2; i < len(args); i++ {
			if args[i] == "users" && i+1 < len(args) {
				st.members[args[1]] = append(st.members[args[1]], strings.Split(args[i+1], ",")...)
				i++
				continue
			}
			p.diag(Alert, LocParsingTight, kw, "'%s' only supports 'users' option.", kw)
			return
		}
	case "user":
		if len(args) < 2 || args[1] == "" {
			p.diag(Alert, LocParsingTight, kw, "'%s' expects <name> as arguments.", kw)
			return
		}
		if ul.User(args[1]) != nil {
			p.diag(Warning, LocParsingTight, kw, "ignoring duplicated user '%s' in userlist '%s'.", args[1], ul.Name)
			return
		}
		u := &User{Name: args[1], Pos: p.pos()}
		for i := 2; i < len(args); i += 2 {
			val := argAt(args, i+1)
			switch args[i] {
			case "password":
				u.Password, u.Insecure = val, false
				if !userlist.Supported(val) {
					p.refuseForm(grpSections, LocParsing, kw, "", fmt.Sprintf("a password hash of scheme '%s' (user '%s' in userlist '%s')", userlist.Scheme(val), u.Name, ul.Name))
					return
				}
			case "insecure-password":
				u.Password, u.Insecure = val, true
			case "groups":
				u.Groups = append(u.Groups, strings.Split(val, ",")...)
			default:
				p.diag(Alert, LocParsingTight, kw, "'%s' only supports 'password', 'insecure-password' and 'groups' options.", kw)
				return
			}
		}
		ul.Users = append(ul.Users, u)
	default:
		p.diag(Alert, LocParsingTight, kw, "unknown keyword '%s' in 'users' section", kw)
	}
}

// checkUserlists resolves the groups of each userlist, with haproxy's
// alert for the first group or user that does not exist.
func (p *parser) checkUserlists() {
	for _, st := range p.userlists {
		ul := st.ul
		known := map[string]bool{}
		for _, g := range st.groups {
			known[g] = true
		}
		for _, u := range ul.Users {
			for _, g := range u.Groups {
				if !known[g] {
					p.postDiag(Alert, Pos{}, "user", "userlist '%s': no such group '%s' specified in user '%s'", ul.Name, g, u.Name)
					return // haproxy stops at the first one
				}
			}
		}
		for _, g := range st.groups {
			for _, name := range st.members[g] {
				u := ul.User(name)
				if u == nil {
					p.postDiag(Alert, Pos{}, "group", "userlist '%s': no such user '%s' specified in group '%s'", ul.Name, name, g)
					return
				}
				u.Groups = append(u.Groups, g)
			}
		}
	}
}
