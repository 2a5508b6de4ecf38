package runtimeapi

import (
	"strings"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
)

// The process-wide variables on the socket (management guide, "get var"
// and "set var"), answered as haproxy 2.6 does.

// getVar is `get var <name>`: the variable's type and its value as a
// string, unprintable bytes as '.'; the line has no empty line after it.
func (c *Commands) getVar(args []string) string {
	name := arg(args, 2)
	if name == "" {
		return "Missing process-wide variable identifier.\n"
	}
	v, ok := c.Source.Engine.ProcVars()[name]
	if !ok {
		return "Variable not found.\n"
	}
	t := v.Type.String()
	if v.Type == sample.TypeAddr {
		t = "ipv6"
		if v.Addr.Is4() {
			t = "ipv4"
		}
	}
	s := v.String()
	if v.Type == sample.TypeBin {
		// haproxy reads the binary sample as a C string.
		s, _, _ = strings.Cut(s, "\x00")
	}
	b := []byte(s)
	for i, ch := range b {
		if ch < 0x20 || ch > 0x7e {
			b[i] = '.'
		}
	}
	return name + ": type=" + t + " value=<" + string(b) + ">"
}

// setVar is `set var <name> [fmt|expr] {<fmt>|<expr>}` (experimental
// mode): the value is computed with no client, as haproxy does.
func (c *Commands) setVar(args []string) string {
	name, kind, text := arg(args, 2), arg(args, 3), arg(args, 4)
	if name == "" {
		return "Missing process-wide variable identifier.\n"
	}
	if kind == "" {
		return "Missing either 'expr', 'fmt' or expression.\n"
	}
	format := false
	if text != "" {
		switch kind {
		case "fmt":
			format = true
		case "expr":
		default:
			return "'set var': arg type must be either 'expr' or 'fmt' but got '" + kind + "'."
		}
	} else {
		text = kind
	}
	eng := c.Source.Engine
	v, set, err := haproxycfg.CLISetVar(name, text, format, eng.ProcVars())
	if err != nil {
		return err.Error()
	}
	if set {
		eng.SetProcVar(name, v)
	}
	return ""
}

// experimentalMode is the session command `experimental-mode [on|off]`
// (admin level): it shows the mode, or turns it on ("on") or off (any
// other word); the answer ends with the session's empty line.
func experimentalMode(args []string, on *bool, level Level) string {
	if level < LevelAdmin {
		return "Permission denied\n\n"
	}
	if arg(args, 1) == "" {
		state := "OFF"
		if *on {
			state = "ON"
		}
		return "experimental-mode is " + state + "\n\n"
	}
	*on = arg(args, 1) == "on"
	return "\n"
}
