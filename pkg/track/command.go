package track

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/rs/zerolog"
)

// Errors from Prepare (wrapped with the script and the cause). keepalived
// disables such a script: it is removed from every instance tracking it.
var (
	// ErrNotFound means the program is not in PATH, or cannot be accessed.
	ErrNotFound = errors.New("track: script not found")
	// ErrUser means the script user or group does not exist.
	ErrUser = errors.New("track: script user")
	// ErrNotExecutable means the file is not executable by the script's
	// user (it also matches ErrNotFound).
	ErrNotExecutable = errors.New("track: script not executable")
	// ErrInsecure means enable_script_security is set and the script runs
	// as root while a non-root user could change it or a directory above
	// it (keepalived: "Unsafe permissions found for script ... - disabling").
	ErrInsecure = errors.New("track: unsafe permissions")
)

// DefaultScriptUser is the account keepalived runs scripts as when none is
// configured, if it exists (lib/notify.c get_default_script_user).
const DefaultScriptUser = "keepalived_script"

// Command is a script command line resolved for execution.
type Command struct {
	// Args are the words of the command line; Args[0] is the program,
	// made absolute by a PATH search as keepalived does.
	Args []string
	// Shell means run through `/bin/sh -c` with each word single-quoted,
	// as keepalived's system() path: for a file-test command ("</path")
	// and for files that are neither binaries nor have a #! line.
	Shell bool
	// Credential is the user to run as; nil runs as ourselves.
	Credential *syscall.Credential
	// Insecure: run as root although a non-root user could change it
	// (allowed only without enable_script_security).
	Insecure bool
}

// String is the command line as a log shows it.
func (c Command) String() string { return strings.Join(c.Args, " ") }

// ShellLine is the line given to /bin/sh -c on the system() path: every
// word in single quotes, except a first word that is a redirection
// (lib/notify.c cmd_str_r).
func (c Command) ShellLine() string {
	var b strings.Builder
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && (strings.HasPrefix(a, "<") || strings.HasPrefix(a, ">")) {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + a + "'")
	}
	return b.String()
}

// Options tune Prepare; the zero value matches keepalived run as root with
// neither script_user nor enable_script_security.
type Options struct {
	// User and Group: the script's own `user` setting, else global_defs
	// script_user; empty means DefaultScriptUser if it exists, else
	// ourselves.
	User, Group string
	// ScriptSecurity is enable_script_security: a missing default user is
	// then an error instead of running as root.
	ScriptSecurity bool
	// Path is searched for bare program names; empty means $PATH, else
	// "/bin:/usr/bin" (glibc's _CS_PATH), as keepalived.
	Path string
	// Default caches the default user's lookup across Prepare calls; nil
	// looks it up (and logs) every time.
	Default *DefaultUser
	// Quiet: log nothing, because the configuration load already checked
	// the script and logged keepalived's lines about it.
	Quiet bool
}

// SecurityViolation is the warning keepalived logs once after loading a
// config that runs scripts without enable_script_security (vrrp.c).
const SecurityViolation = "SECURITY VIOLATION - scripts are being executed but script_security not enabled."

// Prepare splits and resolves a script command line as keepalived does
// when it loads its config (lib/notify.c notify_script_init,
// check_script_secure), logging keepalived's messages.
func Prepare(line string, o Options, log zerolog.Logger) (Command, error) {
	args, err := Split(line)
	if err != nil {
		return Command{}, err
	}
	return PrepareArgs(args, o, log)
}

// PrepareArgs is Prepare for a command line already split into words, as
// the config model holds it (keepalivedcfg Script.Args, Notify.Args).
func PrepareArgs(args []string, o Options, log zerolog.Logger) (Command, error) {
	if len(args) == 0 {
		return Command{}, fmt.Errorf("%w: empty command", ErrSyntax)
	}
	cmd := Command{Args: append([]string(nil), args...)}
	if o.Quiet {
		log = zerolog.Nop()
	}

	cred, err := credential(o, log)
	if err != nil {
		return Command{}, err
	}
	cmd.Credential = cred

	// "</file" tests a file for readability: only a shell can do it.
	if a := args[0]; strings.HasPrefix(a, "<") && strings.HasPrefix(strings.TrimLeft(a[1:], " \t"), "/") {
		cmd.Shell = true
		return cmd, nil
	}
	if !strings.Contains(args[0], "/") {
		full, err := lookPath(args[0], o.Path, cred)
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				log.Info().Msgf("Permissions failure for script %s in path - disabling", args[0])
			} else {
				log.Info().Msgf("Cannot find script %s in path - disabling", args[0])
			}
			return Command{}, fmt.Errorf("%w: %s: %v", ErrNotFound, args[0], err)
		}
		log.Info().Msgf("WARNING - script `%s` resolved by path search to `%s`. Please specify full path.", args[0], full)
		cmd.Args[0] = full
	}
	real, err := filepath.EvalSymlinks(cmd.Args[0])
	if err != nil {
		log.Info().Msgf("Script %s cannot be accessed - %s", cmd.Args[0], errText(err))
		return Command{}, fmt.Errorf("%w: %s: %v", ErrNotFound, cmd.Args[0], err)
	}
	real, _ = filepath.Abs(real)
	resolved := real
	// Keep the name the user gave when the link's target is named
	// otherwise: some programs behave according to their name.
	if filepath.Base(real) != filepath.Base(cmd.Args[0]) {
		alt := filepath.Join(filepath.Dir(real), filepath.Base(cmd.Args[0]))
		if sameFile(alt, real) {
			real = alt
		}
	}
	cmd.Args[0] = real
	fi, err := os.Stat(real)
	if err != nil {
		log.Info().Msgf("Unable to access script `%s` - disabling", real)
		return Command{}, fmt.Errorf("%w: %s: %v", ErrNotFound, real, err)
	}
	if !executable(fi, cred) {
		uid, gid := ids(cred)
		log.Info().Msgf("WARNING - script '%s' is not executable for uid:gid %d:%d - disabling.", real, uid, gid)
		return Command{}, fmt.Errorf("%w: %w: %s", ErrNotFound, ErrNotExecutable, real)
	}
	if needsProtection(fi, cred) {
		// keepalived checks the path it runs and, when it kept the name
		// the user gave, the file the links resolve to.
		paths := []string{real}
		if resolved != real {
			paths = append(paths, resolved)
		}
		for _, p := range paths {
			switch checkPath(p) {
			case pathWrongType:
				log.Info().Msgf("Wrong file type found in script path '%s'.", p)
				return Command{}, fmt.Errorf("%w: wrong file type in %s", ErrInsecure, p)
			case pathUnsafe:
				suffix := ""
				if o.ScriptSecurity {
					suffix = " - disabling"
				}
				log.Info().Msgf("Unsafe permissions found for script '%s'%s.", p, suffix)
				if o.ScriptSecurity {
					return Command{}, fmt.Errorf("%w: %s", ErrInsecure, p)
				}
				cmd.Insecure = true
			}
			if cmd.Insecure {
				break
			}
		}
	}
	cmd.Shell = !binaryOrShebang(real)
	return cmd, nil
}

// needsProtection is keepalived's need_script_protection: the script runs
// as root (user or group), or is set-uid/set-gid root.
func needsProtection(fi os.FileInfo, cred *syscall.Credential) bool {
	uid, gid := ids(cred)
	if uid == 0 || gid == 0 {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	m := uint32(fi.Mode())
	return (st.Uid == 0 && fi.Mode()&os.ModeSetuid != 0 && m&0o100 != 0) ||
		(st.Gid == 0 && fi.Mode()&os.ModeSetgid != 0 && m&0o010 != 0)
}

type pathCheck int

const (
	pathSafe      pathCheck = iota
	pathUnsafe              // writable by a non-root user
	pathWrongType           // a part is missing, or not a directory / file / link
)

// checkPath is keepalived's check_security (lib/notify.c): the path and
// every directory above it, not following links, must belong to root and
// not be writable by a group other than root's or by others (a directory
// with the sticky bit, as /tmp, may be).
func checkPath(path string) pathCheck {
	parts := []string{"/"}
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			parts = append(parts, path[:i])
		}
	}
	parts = append(parts, path)
	for i, p := range parts {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return pathWrongType
		}
		last := i == len(parts)-1
		typ := st.Mode & syscall.S_IFMT
		isDir, isReg := typ == syscall.S_IFDIR, typ == syscall.S_IFREG
		if (!last && !isDir) || (last && !isReg && typ != syscall.S_IFLNK) {
			return pathWrongType
		}
		writable := (st.Gid != 0 && st.Mode&0o020 != 0) || st.Mode&0o002 != 0
		if st.Uid != 0 || (((isDir && st.Mode&syscall.S_ISVTX == 0) || isReg) && writable) {
			return pathUnsafe
		}
	}
	return pathSafe
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// binaryOrShebang reports whether the kernel can exec the file itself:
// an ELF binary or a script with a #! line.
func binaryOrShebang(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true // let exec report it
	}
	defer f.Close()
	var b [4]byte
	n, _ := io.ReadFull(f, b[:])
	return (n >= 2 && b[0] == '#' && b[1] == '!') || (n == 4 && string(b[:]) == "\x7fELF")
}

func ids(cred *syscall.Credential) (uint32, uint32) {
	if cred == nil {
		return uint32(os.Getuid()), uint32(os.Getgid())
	}
	return cred.Uid, cred.Gid
}

// executable mirrors keepalived's is_executable for the script's uid:gid.
func executable(fi os.FileInfo, cred *syscall.Credential) bool {
	if !fi.Mode().IsRegular() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.Mode()&0o111 != 0
	}
	uid, gid := ids(cred)
	m := uint32(fi.Mode().Perm())
	switch {
	case uid == 0:
		return m&0o111 != 0
	case st.Uid == uid:
		return m&0o100 != 0
	case st.Gid == gid:
		return m&0o010 != 0
	}
	return m&0o001 != 0
}

func lookPath(name, path string, cred *syscall.Credential) (string, error) {
	if path == "" {
		path = os.Getenv("PATH")
	}
	if path == "" {
		path = "/bin:/usr/bin"
	}
	denied := false
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if executable(fi, cred) {
			return p, nil
		}
		denied = true
	}
	if denied {
		return "", os.ErrPermission
	}
	return "", os.ErrNotExist
}

// DefaultUser resolves keepalived's default script user once per config
// load, logging its lookup once as keepalived does; share one between the
// Prepare calls of a config through Options.Default.
type DefaultUser struct {
	once sync.Once
	cred *syscall.Credential
	err  error
}

func (d *DefaultUser) get(o Options, log zerolog.Logger) (*syscall.Credential, error) {
	d.once.Do(func() {
		u, err := user.Lookup(DefaultScriptUser)
		if err != nil {
			log.Info().Msgf("Script user '%s' does not exist", DefaultScriptUser)
			if o.ScriptSecurity {
				d.err = fmt.Errorf("%w: unable to set default user %s for script", ErrUser, DefaultScriptUser)
				return
			}
			// Root, with the supplementary groups cleared as keepalived.
			gid := uint32(os.Getgid())
			d.cred = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: gid, Groups: []uint32{gid}}
			return
		}
		d.cred, d.err = toCred(u, nil)
	})
	return d.cred, d.err
}

// credential picks the user a script runs as (lib/notify.c set_uid_gid,
// get_default_script_user). It returns nil when not root: we cannot
// switch user, keepalived run unprivileged cannot either.
func credential(o Options, log zerolog.Logger) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		if o.User != "" {
			return nil, fmt.Errorf("%w: cannot run scripts as %s: not root", ErrUser, o.User)
		}
		return nil, nil
	}
	if o.User == "" {
		d := o.Default
		if d == nil {
			d = &DefaultUser{}
		}
		return d.get(o, log)
	}
	u, err := user.Lookup(o.User)
	if err != nil {
		log.Info().Msgf("Script user '%s' does not exist", o.User)
		return nil, fmt.Errorf("%w: script user '%s' does not exist", ErrUser, o.User)
	}
	var g *user.Group
	if o.Group != "" {
		if g, err = user.LookupGroup(o.Group); err != nil {
			log.Info().Msgf("Script group '%s' does not exist", o.Group)
			return nil, fmt.Errorf("%w: script group '%s' does not exist", ErrUser, o.Group)
		}
	}
	return toCred(u, g)
}

func toCred(u *user.User, g *user.Group) (*syscall.Credential, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: uid %q of %s", ErrUser, u.Uid, u.Username)
	}
	gidS := u.Gid
	if g != nil {
		gidS = g.Gid
	}
	gid, err := strconv.ParseUint(gidS, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: gid %q", ErrUser, gidS)
	}
	// keepalived sets the group list to the one gid (setgroups(1, &gid)).
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}, nil
}
