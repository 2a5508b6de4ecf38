package runtimeapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"hapair/pkg/tlsconf"
)

// `show ssl crt-list [-n] [FILE]` and `del ssl crt-list FILE CERT[:LINE]`
// of haproxy 2.6: the crt-list files and `crt` directories of the bind
// lines, their entries, and an entry's removal from every bind that
// loads the list.

func (c *Commands) crtLists() map[string]*tlsconf.CrtList {
	out := map[string]*tlsconf.CrtList{}
	if c.Source != nil && c.Source.Config != nil {
		for _, l := range c.Source.Config.CrtLists {
			out[l.Path] = l
		}
	}
	return out
}

func (c *Commands) showCrtList(args []string) string {
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	lists := c.crtLists()
	numbered := arg(args, 3) == "-n"
	name := arg(args, 3)
	if numbered {
		name = arg(args, 4)
		if name == "" {
			return "'show ssl crt-list -n' expects a filename or a directory\n"
		}
	}
	if name == "" {
		names := make([]string, 0, len(lists))
		for n := range lists {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			b.WriteString(n + "\n")
		}
		return b.String()
	}
	l := lists[strings.TrimRight(name, "/")]
	if l == nil {
		return "didn't find the specified filename\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", l.Path)
	for _, e := range l.Entries() {
		b.WriteString(e.Cert)
		if numbered {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(e.Opts.String())
		for _, f := range e.Filters {
			b.WriteString(" " + f)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c *Commands) delCrtList(args []string) string {
	listPath, certPath := arg(args, 3), arg(args, 4)
	if listPath == "" || certPath == "" {
		return "'del ssl crtlist' expects a filename and a certificate name\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	fail := func(msg string) string { return "Can't delete the entry: " + msg + "\n" }
	line := 0
	if i := strings.IndexByte(certPath, ':'); i >= 0 {
		n, err := strconv.ParseInt(certPath[i+1:], 10, 64)
		if err != nil {
			return fail(fmt.Sprintf("wrong line number after colons in '%s'!", certPath))
		}
		line, certPath = int(int32(n)), certPath[:i]
	}
	listPath = strings.TrimRight(listPath, "/")
	l := c.crtLists()[listPath]
	if l == nil {
		return fail(fmt.Sprintf("crt-list '%s' does not exist!", listPath))
	}
	parts, _, ok := c.lookupCert(certPath)
	if !ok {
		return fail(fmt.Sprintf("certificate '%s' does not exist!", certPath))
	}
	if len(parts.Chain) == 0 {
		return fail(fmt.Sprintf("certificate '%s' is empty!", certPath))
	}
	var found []*tlsconf.CrtListEntry
	for _, e := range l.Entries() {
		if e.Cert == certPath {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		return fail(fmt.Sprintf("certificate '%s' can't be found in crt-list '%s'!", certPath, listPath))
	}
	var lines []string
	var entry *tlsconf.CrtListEntry
	for _, e := range found {
		lines = append(lines, strconv.Itoa(e.Line))
		if entry == nil && (line == 0 || e.Line == line) {
			entry = e
		}
	}
	switch {
	case entry == nil:
		return fail(fmt.Sprintf("found a certificate '%s' but the line number is incorrect, please specify a correct line number preceded by colons (%s)!", certPath, strings.Join(lines, ", ")))
	case line == 0 && len(found) > 1:
		return fail(fmt.Sprintf("found the certificate '%s' in several entries, please specify a line number preceded by colons (%s)!", certPath, strings.Join(lines, ", ")))
	}
	if binds := l.IsDefault(entry); len(binds) > 0 {
		msg := fmt.Sprintf("certificate '%s' cannot be deleted, it is used as default certificate by the following frontends:\n", certPath)
		for _, b := range binds {
			msg += "\t- " + b + "\n"
		}
		return fail(msg)
	}
	l.Remove(entry)
	// The file stays in memory, unused when nothing else loads it.
	if _, used, _ := c.lookupCert(certPath); !used {
		if c.ssl.added == nil {
			c.ssl.added = map[string]*tlsconf.Parts{}
		}
		c.ssl.added[certPath] = &parts
	}
	return fmt.Sprintf("Entry '%s' deleted in crtlist '%s'!\n", certPath, listPath)
}

// addCrtList is `add ssl crt-list LIST CERT` or `add ssl crt-list LIST <<`
// with one line "CERT [FILTER...]": an entry for a certificate file in
// memory, loaded by every bind line of the list, with the options
// tlsconf.ParseCrtListLine implements.
func (c *Commands) addCrtList(args []string, payload *string) string {
	listPath := arg(args, 3)
	if listPath == "" || (payload == nil && arg(args, 4) == "") {
		return "'add ssl crtlist' expects a filename and a certificate name\n"
	}
	c.ssl.mu.Lock()
	defer c.ssl.mu.Unlock()
	fail := func(msg string) string { return "Can't edit the crt-list: " + msg + "\n" }
	listPath = strings.TrimRight(listPath, "/")
	l := c.crtLists()[listPath]
	if l == nil {
		return fail(fmt.Sprintf("crt-list '%s' does not exist!", listPath))
	}
	var certPath string
	var filters []string
	var opts *tlsconf.EntryOptions
	if payload != nil {
		if *payload == "" || strings.Contains(*payload, "\n") {
			// haproxy finds a newline in an empty payload too.
			return fail("only one line of payload is supported!")
		}
		ln, err := tlsconf.ParseCrtListLine(*payload)
		if err != nil {
			return fail(err.Error())
		}
		if ln.Path == "" {
			return fail("'add ssl crtlist' should contain the certificate name in the payload")
		}
		certPath, filters, opts = ln.Path, ln.Filters, ln.Opts
	} else {
		certPath = args[4]
	}
	if l.Dir {
		i := strings.LastIndexByte(certPath, '/')
		if i < 0 || certPath[:i] != l.Path {
			return fail(fmt.Sprintf("'%s' is a directory, certificate path '%s' must contain the directory path", l.Path, certPath))
		}
	}
	if !strings.HasPrefix(certPath, "/") && c.Source.Config.Global.CrtBase != "" {
		certPath = c.Source.Config.Global.CrtBase + "/" + certPath
	}
	parts, _, ok := c.lookupCert(certPath)
	if !ok {
		return fail(fmt.Sprintf("certificate '%s' does not exist!", certPath))
	}
	crt, err := parts.Cert(certPath)
	if len(parts.Chain) == 0 || err != nil {
		return fail(fmt.Sprintf("certificate '%s' is empty!", certPath))
	}
	if l.Dir {
		for _, e := range l.Entries() {
			if e.Cert == certPath {
				return fail("file already exists in this directory!")
			}
		}
		if len(filters) > 0 || opts != nil {
			return fail("this is a directory, SSL configuration and filters are not allowed")
		}
	}
	// No disk access at run time: the CA and CRL files of the line must
	// be loaded already (at start-up, or by new/set/commit ssl ca-file).
	cas := c.caFiles()
	n, err := l.AddWithOptions(crt, filters, opts, func(path string, kind tlsconf.CAKind) (*tlsconf.CAFile, error) {
		if f := cas.Get(path); f != nil && f.Load() != nil {
			return f, nil
		}
		kw := "ca-file"
		switch {
		case kind == tlsconf.KindCRL:
			kw = "crl-file"
		case opts != nil && opts.CAVerifyFile != "" && strings.HasSuffix(path, opts.CAVerifyFile) && !strings.HasSuffix(path, opts.CAFile):
			kw = "ca-verify-file"
		}
		return nil, fmt.Errorf("'%s' : unable to load %s", kw, path)
	})
	if err != nil {
		return fail(err.Error())
	}
	delete(c.ssl.added, certPath) // used now
	return fmt.Sprintf("Inserting certificate '%s' in crt-list '%s'%s\nSuccess!\n", certPath, l.Path, strings.Repeat(".", n))
}
