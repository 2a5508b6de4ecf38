package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Protocol is the name a hello starts with.
const Protocol = "HAProxyS"

// The protocol version haproxy 2.6 announces (2.1: updates carry their
// remaining expiry) and the one it falls back to with an older peer.
const (
	Major          = 2
	Minor          = 1
	DowngradeMinor = 0
)

// MaxLine bounds a handshake line (haproxy reads them into its 16 kB
// trash buffer).
const MaxLine = 16384

// Handshake errors.
var (
	// ErrLine is a handshake line longer than MaxLine or cut by the end
	// of the connection.
	ErrLine = errors.New("wire: bad handshake line")
	// ErrHello is a hello that is not three well-formed lines; Status
	// says what to answer.
	ErrHello = errors.New("wire: bad hello")
)

// Status is the code a called peer answers a hello with (the status
// message of doc/peers-v2.0.txt section I.2).
type Status int

// The status codes.
const (
	StatusSuccess    Status = 200 // handshake succeeded
	StatusTryAgain   Status = 300 // try again later (a local peer already connected)
	StatusErrProto   Status = 501 // protocol error
	StatusErrVersion Status = 502 // bad version
	StatusErrHost    Status = 503 // the called name is not the local peer's
	StatusErrPeer    Status = 504 // the caller is not a known peer
)

// String is the code as haproxy's `show peers` abbreviates it.
func (s Status) String() string {
	switch s {
	case 100:
		return "CONN"
	case 110:
		return "HSHK"
	case StatusSuccess:
		return "ESTA"
	case StatusTryAgain:
		return "RETR"
	case StatusErrProto:
		return "PROT"
	case StatusErrVersion:
		return "VERS"
	case StatusErrHost:
		return "NAME"
	case StatusErrPeer:
		return "UNKN"
	}
	return "NONE"
}

// AppendStatus appends the status line.
func AppendStatus(b []byte, s Status) []byte {
	return append(strconv.AppendInt(b, int64(s), 10), '\n')
}

// Hello is the message a connecting peer opens with: the protocol
// version, the name of the peer it believes it calls, and its own name,
// pid and relative pid (always 1 since haproxy 2.5).
type Hello struct {
	Major, Minor int
	Remote       string // the called peer's name, as the caller knows it
	Local        string // the caller's own name (-L, or the host name)
	PID          int
	RelPID       int
}

// MarshalBinary is the three lines.
func (h Hello) MarshalBinary() ([]byte, error) {
	if strings.ContainsAny(h.Remote, "\r\n") || strings.ContainsAny(h.Local, " \r\n") || h.Local == "" {
		return nil, fmt.Errorf("%w: names must be one word", ErrHello)
	}
	return []byte(fmt.Sprintf("%s %d.%d\n%s\n%s %d %d\n", Protocol, h.Major, h.Minor, h.Remote, h.Local, h.PID, h.RelPID)), nil
}

// UnmarshalBinary reads the three lines of a hello (and nothing after).
func (h *Hello) UnmarshalBinary(b []byte) error {
	r := bufio.NewReader(bytes.NewReader(b))
	got, _, err := ReadHello(r)
	if err != nil {
		return err
	}
	if r.Buffered() > 0 {
		return fmt.Errorf("%w: trailing data", ErrHello)
	}
	*h = got
	return nil
}

// ReadLine reads one handshake line, without its "\n" or "\r\n".
func ReadLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > MaxLine {
			return "", ErrLine
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("%w: %w", ErrLine, err)
		}
		break
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// ReadHello reads a hello as haproxy's peer_getline_* do. On a malformed
// hello the error wraps ErrHello and the Status is the code to answer
// (501 for the protocol name or the third line, 502 for the version); it
// is 0 when the connection failed.
func ReadHello(r *bufio.Reader) (Hello, Status, error) {
	var h Hello
	line, err := ReadLine(r)
	if err != nil {
		return h, 0, err
	}
	rest, ok := strings.CutPrefix(line, Protocol+" ")
	if !ok {
		return h, StatusErrProto, fmt.Errorf("%w: not %s: %q", ErrHello, Protocol, line)
	}
	maj, min, ok := parseVersion(rest)
	if !ok || maj != Major || min > Minor {
		return h, StatusErrVersion, fmt.Errorf("%w: version %q", ErrHello, rest)
	}
	h.Major, h.Minor = maj, min
	if h.Remote, err = ReadLine(r); err != nil {
		return h, 0, err
	}
	line, err = ReadLine(r)
	if err != nil {
		return h, 0, err
	}
	name, ids, ok := strings.Cut(line, " ")
	if !ok {
		return h, StatusErrProto, fmt.Errorf("%w: no pid after the peer name: %q", ErrHello, line)
	}
	h.Local = name
	pid, rel, _ := strings.Cut(ids, " ")
	h.PID, h.RelPID = atoi(pid), atoi(rel)
	return h, 0, nil
}

// parseVersion reads "MAJ.MIN", both decimal, nothing else.
func parseVersion(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok || !isDigits(a) || !isDigits(b) || len(a) > 9 || len(b) > 9 {
		return 0, 0, false
	}
	return atoi(a), atoi(b), true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi reads the leading decimal digits of s, as C's atoi (0 when none).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// ReadStatus reads the status line a called peer answers.
func ReadStatus(r *bufio.Reader) (Status, error) {
	line, err := ReadLine(r)
	if err != nil {
		return 0, err
	}
	return Status(atoi(line)), nil
}
