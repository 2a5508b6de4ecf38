package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Class is a message's class, its first byte (doc/peers-v2.0.txt
// section IV).
type Class uint8

// The message classes.
const (
	ClassControl    Class = 0
	ClassError      Class = 1
	ClassStickTable Class = 10
	ClassReserved   Class = 255
)

// The control message types.
const (
	ControlResyncRequest  uint8 = 0 // send me everything you know
	ControlResyncFinished uint8 = 1 // that was everything, and I was up to date
	ControlResyncPartial  uint8 = 2 // that was everything, but I was not up to date
	ControlResyncConfirm  uint8 = 3 // ack of finished or partial
	ControlHeartbeat      uint8 = 4 // I am alive (every 3 s without traffic)
)

// The error message types.
const (
	ErrorProtocol  uint8 = 0 // protocol error; the sender closes
	ErrorSizeLimit uint8 = 1 // a message was too large; the sender closes
)

// The stick-table message types; all have a body (type ≥ 128).
const (
	TableUpdate         uint8 = 0x80 // an entry, with its update id
	TableIncUpdate      uint8 = 0x81 // an entry, its id the previous one's plus one
	TableDefine         uint8 = 0x82 // the table the next updates are for
	TableSwitch         uint8 = 0x83 // switch to a table already defined
	TableAck            uint8 = 0x84 // updates received up to an id
	TableUpdateTimed    uint8 = 0x85 // TableUpdate with the entry's remaining expiry
	TableIncUpdateTimed uint8 = 0x86 // TableIncUpdate with the remaining expiry
)

// hasBody reports whether a message of this type carries a length and
// a body: haproxy looks at the type's top bit, whatever the class.
func hasBody(typ uint8) bool { return typ&0x80 != 0 }

// MaxBody bounds a message body (haproxy reads bodies into its 16 kB
// trash buffer and answers larger ones with ErrorSizeLimit).
const MaxBody = 16384

// Message errors.
var (
	// ErrTooBig is a body larger than the limit ReadMessage was given.
	ErrTooBig = errors.New("wire: message too big")
	// ErrLength is a body length whose varint takes more than 5 bytes.
	ErrLength = errors.New("wire: bad message length")
)

// Message is one message after the handshake: a class, a type, and for
// types ≥ 128 a body.
type Message struct {
	Class Class
	Type  uint8
	Body  []byte
}

// AppendBinary appends the message's encoding to b.
func (m Message) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(m.Class), m.Type)
	if !hasBody(m.Type) {
		if len(m.Body) > 0 {
			return nil, fmt.Errorf("wire: type %#x takes no body", m.Type)
		}
		return b, nil
	}
	b = AppendUint(b, uint64(len(m.Body)))
	return append(b, m.Body...), nil
}

// MarshalBinary encodes the message.
func (m Message) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes exactly one message.
func (m *Message) UnmarshalBinary(b []byte) error {
	got, n, err := ParseMessage(b, len(b))
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("wire: %d bytes after the message", len(b)-n)
	}
	*m = got
	return nil
}

// ParseMessage decodes the message at the start of b, whose body may be
// at most max bytes, and returns the bytes it took. The Body aliases b.
func ParseMessage(b []byte, max int) (Message, int, error) {
	if len(b) < 2 {
		return Message{}, 0, io.ErrUnexpectedEOF
	}
	m := Message{Class: Class(b[0]), Type: b[1]}
	if !hasBody(m.Type) {
		return m, 2, nil
	}
	head := b[2:]
	if len(head) > 5 {
		head = head[:5]
	}
	n, k, err := Uint(head)
	if err != nil {
		if len(head) == 5 || errors.Is(err, ErrVarint) {
			return Message{}, 0, ErrLength
		}
		return Message{}, 0, err
	}
	if n > uint64(max) {
		return Message{}, 0, fmt.Errorf("%w: %d bytes", ErrTooBig, n)
	}
	start := 2 + k
	if uint64(len(b)-start) < n {
		return Message{}, 0, io.ErrUnexpectedEOF
	}
	m.Body = b[start : start+int(n)]
	return m, start + int(n), nil
}

// ReadMessage reads one message from r, its body at most max bytes. A
// connection closed in the middle of a message is io.ErrUnexpectedEOF;
// between messages, io.EOF.
func ReadMessage(r *bufio.Reader, max int) (Message, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return Message{}, err
	}
	m := Message{Class: Class(head[0]), Type: head[1]}
	if !hasBody(m.Type) {
		return m, nil
	}
	var lb []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return Message{}, unexpected(err)
		}
		lb = append(lb, c)
		if len(lb) == 1 && c < twoBytesMin || len(lb) > 1 && c < stopBit {
			break
		}
		if len(lb) == 5 {
			return Message{}, ErrLength
		}
	}
	n, _, err := Uint(lb)
	if err != nil {
		return Message{}, ErrLength
	}
	if n > uint64(max) {
		return Message{}, fmt.Errorf("%w: %d bytes", ErrTooBig, n)
	}
	m.Body = make([]byte, n)
	if _, err := io.ReadFull(r, m.Body); err != nil {
		return Message{}, unexpected(err)
	}
	return m, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
