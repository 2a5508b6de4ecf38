package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestVarint(t *testing.T) {
	// The boundaries of doc/peers-v2.0.txt section I, and haproxy's
	// PEER_ENC_*BYTES_MIN beyond.
	for _, c := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0}},
		{239, []byte{239}},
		{240, []byte{0xf0, 0x00}},
		{241, []byte{0xf1, 0x00}},
		{255, []byte{0xff, 0x00}},
		{256, []byte{0xf0, 0x01}},
		{2287, []byte{0xff, 0x7f}},
		{2288, []byte{0xf0, 0x80, 0x00}},
		{264431, []byte{0xff, 0xff, 0x7f}},
		{264432, []byte{0xf0, 0x80, 0x80, 0x00}},
		{33818863, []byte{0xff, 0xff, 0xff, 0x7f}},
		{33818864, []byte{0xf0, 0x80, 0x80, 0x80, 0x00}},
		{4328786159, []byte{0xff, 0xff, 0xff, 0xff, 0x7f}},
		{4328786160, []byte{0xf0, 0x80, 0x80, 0x80, 0x80, 0x00}},
	} {
		got := AppendUint(nil, c.v)
		if !bytes.Equal(got, c.want) {
			t.Errorf("AppendUint(%d) = % x, want % x", c.v, got, c.want)
		}
		v, n, err := Uint(append(got, 0x55))
		if err != nil || v != c.v || n != len(c.want) {
			t.Errorf("Uint(% x) = %d, %d, %v", got, v, n, err)
		}
		if UintLen(c.v) != len(c.want) {
			t.Errorf("UintLen(%d) = %d", c.v, UintLen(c.v))
		}
	}
	for _, v := range []uint64{1<<64 - 1, 1 << 63, 1<<32 - 1} {
		b := AppendUint(nil, v)
		if got, _, err := Uint(b); err != nil || got != v {
			t.Errorf("round trip %d: %d %v", v, got, err)
		}
	}
	for _, c := range []struct {
		in  []byte
		err error
	}{
		{nil, io.ErrUnexpectedEOF},
		{[]byte{0xf0}, io.ErrUnexpectedEOF},
		{[]byte{0xf0, 0x80}, io.ErrUnexpectedEOF},
		{bytes.Repeat([]byte{0xff}, 11), ErrVarint},
	} {
		if _, _, err := Uint(c.in); !errors.Is(err, c.err) {
			t.Errorf("Uint(% x) = %v, want %v", c.in, err, c.err)
		}
	}
}

func TestHello(t *testing.T) {
	h := Hello{Major: 2, Minor: 1, Remote: "b", Local: "a", PID: 1234, RelPID: 1}
	b, err := h.MarshalBinary()
	if err != nil || string(b) != "HAProxyS 2.1\nb\na 1234 1\n" {
		t.Fatalf("MarshalBinary = %q, %v", b, err)
	}
	var got Hello
	if err := got.UnmarshalBinary(b); err != nil || got != h {
		t.Fatalf("UnmarshalBinary = %+v, %v", got, err)
	}
	for _, c := range []struct {
		in     string
		status Status
		want   Hello
	}{
		{"HAProxyS 2.0\r\nb\r\na 1 1\r\n", 0, Hello{Major: 2, Remote: "b", Local: "a", PID: 1, RelPID: 1}},
		{"HAProxyS 2.1\nb\na\n", StatusErrProto, Hello{}},
		{"HAProxyX 2.1\nb\na 1 1\n", StatusErrProto, Hello{}},
		{"HAProxyS 2.2\nb\na 1 1\n", StatusErrVersion, Hello{}},
		{"HAProxyS 3.0\nb\na 1 1\n", StatusErrVersion, Hello{}},
		{"HAProxyS 2.1x\nb\na 1 1\n", StatusErrVersion, Hello{}},
		{"HAProxyS 2\nb\na 1 1\n", StatusErrVersion, Hello{}},
	} {
		got, st, err := ReadHello(bufio.NewReader(strings.NewReader(c.in)))
		if st != c.status || (c.status == 0) != (err == nil) {
			t.Errorf("%q: status %d, %v; want %d", c.in, st, err, c.status)
			continue
		}
		if c.status == 0 && got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
	if _, st, err := ReadHello(bufio.NewReader(strings.NewReader("HAProxyS 2.1\nb"))); st != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated hello: %d, %v", st, err)
	}
	if _, _, err := ReadHello(bufio.NewReader(strings.NewReader(strings.Repeat("x", MaxLine+10) + "\n"))); !errors.Is(err, ErrLine) {
		t.Errorf("long line: %v", err)
	}
	if s, err := ReadStatus(bufio.NewReader(strings.NewReader("503\n"))); s != StatusErrHost || err != nil || s.String() != "NAME" {
		t.Errorf("ReadStatus = %v %v", s, err)
	}
	if got := string(AppendStatus(nil, StatusSuccess)); got != "200\n" {
		t.Errorf("AppendStatus = %q", got)
	}
}

func TestMessage(t *testing.T) {
	for _, c := range []struct {
		m    Message
		wire []byte
	}{
		{Message{ClassControl, ControlHeartbeat, nil}, []byte{0, 4}},
		{Message{ClassControl, ControlResyncRequest, nil}, []byte{0, 0}},
		{Message{ClassError, ErrorProtocol, nil}, []byte{1, 0}},
		{Message{ClassStickTable, TableSwitch, []byte{1}}, []byte{10, 0x83, 1, 1}},
		{Message{ClassStickTable, TableUpdate, bytes.Repeat([]byte{7}, 300)}, append([]byte{10, 0x80, 0xfc, 0x03}, bytes.Repeat([]byte{7}, 300)...)},
	} {
		b, err := c.m.MarshalBinary()
		if err != nil || !bytes.Equal(b, c.wire) {
			t.Errorf("%+v: % x, %v", c.m, b, err)
		}
		got, err := ReadMessage(bufio.NewReader(bytes.NewReader(c.wire)), MaxBody)
		if err != nil || got.Class != c.m.Class || got.Type != c.m.Type || !bytes.Equal(got.Body, c.m.Body) {
			t.Errorf("ReadMessage(% x) = %+v, %v", c.wire, got, err)
		}
		var um Message
		if err := um.UnmarshalBinary(c.wire); err != nil || !bytes.Equal(um.Body, c.m.Body) {
			t.Errorf("UnmarshalBinary(% x) = %+v, %v", c.wire, um, err)
		}
	}
	for _, c := range []struct {
		in  []byte
		err error
	}{
		{[]byte{10}, io.ErrUnexpectedEOF},
		{[]byte{10, 0x80}, io.ErrUnexpectedEOF},
		{[]byte{10, 0x80, 3, 1}, io.ErrUnexpectedEOF},
		{[]byte{10, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrLength},
		{[]byte{10, 0x80, 0xf0, 0x80, 0x80, 0x00}, ErrTooBig},
	} {
		if _, err := ReadMessage(bufio.NewReader(bytes.NewReader(c.in)), MaxBody); !errors.Is(err, c.err) {
			t.Errorf("ReadMessage(% x) = %v, want %v", c.in, err, c.err)
		}
		if _, _, err := ParseMessage(c.in, MaxBody); !errors.Is(err, c.err) {
			t.Errorf("ParseMessage(% x) = %v, want %v", c.in, err, c.err)
		}
	}
	if _, err := ReadMessage(bufio.NewReader(bytes.NewReader(nil)), MaxBody); err != io.EOF {
		t.Errorf("ReadMessage at the end = %v, want io.EOF", err)
	}
}

// defIPTable is the definition haproxy 2.6 sends for `stick-table type ip
// size 1m expire 10m peers mypeers store conn_cnt,http_req_rate(10s)` in
// backend "be" (captured from Debian's haproxy 2.6.12).
var defIPTable = []byte{
	0x01,           // table id 1
	0x02, 'b', 'e', // name
	0x04,       // ipv4
	0x04,       // key size
	0xf0, 0x32, // data: bits 4 (conn_cnt) and 10 (http_req_rate) = 0x410
	0xf0, 0xed, 0xa3, 0x01, // expire 600000 ms
	0x0a, 0xf0, 0xe2, 0x03, // http_req_rate(10000 ms)
}

func TestDefinition(t *testing.T) {
	want := Definition{ID: 1, Name: "be", KeyType: KeyIPv4, KeyLen: 4, Data: 1<<4 | 1<<10,
		HasExpire: true, Expire: 600000, Params: map[int]Param{10: {Period: 10000}}}
	b, err := want.MarshalBinary()
	if err != nil || !bytes.Equal(b, defIPTable) {
		t.Fatalf("MarshalBinary = % x, %v\nwant % x", b, err, defIPTable)
	}
	var got Definition
	if err := got.UnmarshalBinary(defIPTable); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("UnmarshalBinary = %+v, %v", got, err)
	}
	// A 1.x peer's definition stops after the data types.
	old := Definition{ID: 3, Name: "t", KeyType: KeyStr, KeyLen: 33, Data: 1}
	b, _ = old.MarshalBinary()
	got = Definition{}
	if err := got.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(got, old) {
		t.Errorf("old definition: %+v, %v", got, err)
	}
	arr := Definition{ID: 1, Name: "t", KeyType: KeyIPv4, KeyLen: 4, Data: 1<<23 | 1<<24, HasExpire: true,
		Params: map[int]Param{23: {NbElem: 3}, 24: {NbElem: 2, Period: 1000}}}
	b, err = arr.MarshalBinary()
	got = Definition{}
	if err != nil || got.UnmarshalBinary(b) != nil || !reflect.DeepEqual(got, arr) {
		t.Errorf("arrays: %+v, %v", got, err)
	}
	for _, c := range []struct {
		in  []byte
		err error
	}{
		{[]byte{1, 0, 4}, ErrName},
		{[]byte{1, 2, 'b', 'e'}, ErrName},
		{[]byte{1, 2, 'b', 'e', 4, 4, 0xf0, 0x32, 0}, ErrParams},
		{[]byte{1, 2, 'b', 'e', 4, 4, 0xf0, 0x32, 0, 9, 1}, ErrParams},
		{[]byte{1, 2, 'b', 'e', 4, 4, 0xf0, 0xf0, 0xf0, 0xf0, 0x10, 0}, ErrDataType},
		{[]byte{1, 2, 'b', 'e', 4, 4, 0xf0, 0xf1, 0xfe, 0x0e}, ErrParams}, // gpt without its size
	} {
		var d Definition
		if err := d.UnmarshalBinary(c.in); !errors.Is(err, c.err) {
			t.Errorf("UnmarshalBinary(% x) = %v, want %v", c.in, err, c.err)
		}
	}
}

func TestUpdate(t *testing.T) {
	l := Layout{KeyType: KeyIPv4, KeyLen: 4, Data: 1<<4 | 1<<10}
	u := Update{HasID: true, ID: 7, Timed: true, Expire: 599000, Key: []byte{127, 0, 0, 1},
		Values: []Value{{Type: 4, Int: 3}, {Type: 10, Freq: Freq{Elapsed: 250, Curr: 3, Prev: 0}}}}
	b, err := u.AppendBinary(nil, l)
	want := []byte{0, 0, 0, 7, 0, 0x09, 0x23, 0xd8, 127, 0, 0, 1, 3, 0xfa, 0x00, 3, 0}
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("AppendBinary = % x, %v\nwant % x", b, err, want)
	}
	got, err := ParseUpdate(u.Type(), b, l)
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("ParseUpdate = %+v, %v", got, err)
	}
	// An update as haproxy 2.6.12 sent it after two requests: id 4,
	// conn_cnt 2, http_req_rate started 207 ms before, 2 events.
	real := []byte{0, 0, 0, 4, 0x7f, 0, 0, 1, 2, 0xcf, 2, 0}
	got, err = ParseUpdate(TableUpdate, real, l)
	wantReal := Update{HasID: true, ID: 4, Key: []byte{127, 0, 0, 1},
		Values: []Value{{Type: 4, Int: 2}, {Type: 10, Freq: Freq{Elapsed: 207, Curr: 2}}}}
	if err != nil || !reflect.DeepEqual(got, wantReal) {
		t.Errorf("haproxy's update: %+v, %v", got, err)
	}
	// Strings, server_key and an incremental update.
	ls := Layout{KeyType: KeyStr, KeyLen: 5, Data: 1<<0 | 1<<19}
	us := Update{Key: []byte("abcd"), Values: []Value{{Type: 0, Int: 2}, {Type: 19, Dict: Dict{ID: 1, Value: "s2", HasValue: true}}}}
	b, _ = us.AppendBinary(nil, ls)
	if got, err := ParseUpdate(TableIncUpdate, b, ls); err != nil || !reflect.DeepEqual(got, us) {
		t.Errorf("string update: %+v, %v", got, err)
	}
	// A longer key is cut to the table's size, as haproxy stores it.
	long := Update{Key: []byte("abcdefgh"), Values: []Value{{Type: 0, Int: 2}, {Type: 19, Dict: Dict{ID: 2}}}}
	b, _ = long.AppendBinary(nil, ls)
	if got, err := ParseUpdate(TableIncUpdate, b, ls); err != nil || string(got.Key) != "abcd" || got.Values[1].Dict.ID != 2 {
		t.Errorf("long key: %+v, %v", got, err)
	}
	for _, c := range []struct {
		typ uint8
		in  []byte
		l   Layout
		err error
	}{
		{TableUpdate, []byte{0, 0, 0}, l, io.ErrUnexpectedEOF},
		{TableUpdate, []byte{0, 0, 0, 1, 127, 0}, l, io.ErrUnexpectedEOF},
		{TableUpdate, []byte{0, 0, 0, 1, 127, 0, 0, 1, 3}, l, io.ErrUnexpectedEOF},
		{TableIncUpdate, []byte{2, 'a'}, ls, io.ErrUnexpectedEOF},
		{TableIncUpdate, []byte{1, 'a', 2, 1, 0}, ls, ErrDict},
		{TableIncUpdate, []byte{1, 'a', 2, 3, 1, 5, 'x'}, ls, ErrDict},
		{TableSwitch, nil, l, nil},
	} {
		_, err := ParseUpdate(c.typ, c.in, c.l)
		if c.err == nil && err == nil || c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("ParseUpdate(%#x, % x) = %v, want %v", c.typ, c.in, err, c.err)
		}
	}
}

func TestAckSwitch(t *testing.T) {
	a := Ack{TableID: 300, Update: 0x01020304}
	b, _ := a.MarshalBinary()
	if !bytes.Equal(b, []byte{0xfc, 0x03, 1, 2, 3, 4}) {
		t.Errorf("ack = % x", b)
	}
	var ga Ack
	if err := ga.UnmarshalBinary(b); err != nil || ga != a {
		t.Errorf("ack: %+v %v", ga, err)
	}
	if err := ga.UnmarshalBinary(b[:4]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short ack: %v", err)
	}
	var s Switch
	if err := s.UnmarshalBinary([]byte{5}); err != nil || s.ID != 5 {
		t.Errorf("switch: %+v %v", s, err)
	}
	if err := s.UnmarshalBinary(nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("empty switch: %v", err)
	}
}
