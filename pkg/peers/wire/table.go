package wire

import (
	"errors"
	"fmt"
	"io"
)

// KeyType is a table's key type as the protocol numbers it (haproxy's
// PEER_KT_*; doc/peers-v2.0.txt section IV.3.c).
type KeyType uint64

// The key types.
const (
	KeySInt KeyType = 2 // a 32-bit integer, sent in network order
	KeyIPv4 KeyType = 4
	KeyIPv6 KeyType = 5
	KeyStr  KeyType = 6 // a string, sent with its length
	KeyBin  KeyType = 7 // KeyLen bytes
)

// StdType is how a data type's value is held and sent.
type StdType uint8

// The standard types (haproxy's STD_T_*).
const (
	StdSInt StdType = iota // signed 32-bit, one varint
	StdUInt                // unsigned 32-bit, one varint
	StdULL                 // unsigned 64-bit, one varint
	StdFreq                // frequency counter: elapsed ms, current, previous
	StdDict                // a dictionary string (server_key)
)

// DataType describes one stick-table data type, numbered as haproxy 2.6
// numbers them (STKTABLE_DT_*): bit N of a definition's Data is type N.
type DataType struct {
	Name  string
	Std   StdType
	Array bool // gpt, gpc, gpc_rate: NbElem values of Std
}

// DataTypes are haproxy 2.6's data types, in their protocol order.
var DataTypes = [...]DataType{
	{"server_id", StdSInt, false}, {"gpt0", StdUInt, false}, {"gpc0", StdUInt, false},
	{"gpc0_rate", StdFreq, false}, {"conn_cnt", StdUInt, false}, {"conn_rate", StdFreq, false},
	{"conn_cur", StdUInt, false}, {"sess_cnt", StdUInt, false}, {"sess_rate", StdFreq, false},
	{"http_req_cnt", StdUInt, false}, {"http_req_rate", StdFreq, false},
	{"http_err_cnt", StdUInt, false}, {"http_err_rate", StdFreq, false},
	{"bytes_in_cnt", StdULL, false}, {"bytes_in_rate", StdFreq, false},
	{"bytes_out_cnt", StdULL, false}, {"bytes_out_rate", StdFreq, false},
	{"gpc1", StdUInt, false}, {"gpc1_rate", StdFreq, false}, {"server_key", StdDict, false},
	{"http_fail_cnt", StdUInt, false}, {"http_fail_rate", StdFreq, false},
	{"gpt", StdUInt, true}, {"gpc", StdUInt, true}, {"gpc_rate", StdFreq, true},
}

// NumDataTypes is how many data types haproxy 2.6 knows.
const NumDataTypes = len(DataTypes)

// MaxArray is the largest array a table may store (haproxy's
// STKTABLE_MAX_DT_ARRAY_SIZE).
const MaxArray = 100

// Table message errors.
var (
	// ErrDataType is a definition naming a data type haproxy 2.6 does not
	// know, whose values could not be skipped.
	ErrDataType = errors.New("wire: unknown data type")
	// ErrParams is a definition whose data type parameters do not match
	// its data types (haproxy ignores such a table).
	ErrParams = errors.New("wire: bad data type parameters")
	// ErrName is a definition without a table name, or with nothing
	// after it.
	ErrName = errors.New("wire: bad table name")
	// ErrDict is a server_key value with a bad dictionary reference.
	ErrDict = errors.New("wire: bad dictionary entry")
)

// Param is the parameters of one data type in a definition: the period
// of a frequency counter, the size of an array.
type Param struct {
	NbElem uint64 // arrays
	Period uint64 // frequency counters, ms
}

// Definition is a table definition (doc/peers-v2.0.txt section IV.3.c,
// with haproxy 2.x's additions): the sender's id for the table, its
// name, key type and length, the data types its updates carry, and, when
// HasExpire, the table's expiry and the data types' parameters.
type Definition struct {
	ID        uint64
	Name      string
	KeyType   KeyType
	KeyLen    uint64
	Data      uint64 // bit N: DataTypes[N] is in each update
	HasExpire bool
	Expire    uint64        // ms
	Params    map[int]Param // by data type, for the frequency counters and arrays
}

// needsParam reports whether a data type carries parameters.
func needsParam(d int) bool { return DataTypes[d].Array || DataTypes[d].Std == StdFreq }

// MarshalBinary encodes the definition's body.
func (d Definition) MarshalBinary() ([]byte, error) {
	if d.Name == "" {
		return nil, ErrName
	}
	if d.Data>>NumDataTypes != 0 {
		return nil, ErrDataType
	}
	b := AppendUint(nil, d.ID)
	b = AppendUint(b, uint64(len(d.Name)))
	b = append(b, d.Name...)
	b = AppendUint(b, uint64(d.KeyType))
	b = AppendUint(b, d.KeyLen)
	b = AppendUint(b, d.Data)
	if !d.HasExpire {
		for t := 0; t < NumDataTypes; t++ {
			if d.Data&(1<<t) != 0 && DataTypes[t].Array {
				return nil, fmt.Errorf("%w: arrays need parameters", ErrParams)
			}
		}
		return b, nil
	}
	b = AppendUint(b, d.Expire)
	for t := 0; t < NumDataTypes; t++ {
		if d.Data&(1<<t) == 0 || !needsParam(t) {
			continue
		}
		p := d.Params[t]
		b = AppendUint(b, uint64(t))
		if DataTypes[t].Array {
			if p.NbElem == 0 || p.NbElem > MaxArray {
				return nil, fmt.Errorf("%w: %s of %d elements", ErrParams, DataTypes[t].Name, p.NbElem)
			}
			b = AppendUint(b, p.NbElem)
		}
		if DataTypes[t].Std == StdFreq {
			b = AppendUint(b, p.Period)
		}
	}
	return b, nil
}

// UnmarshalBinary decodes a definition's body, as haproxy's
// peer_treat_definemsg reads it.
func (d *Definition) UnmarshalBinary(b []byte) error {
	r := &reader{b: b}
	var out Definition
	out.ID = r.uint()
	n := r.uint()
	if r.err != nil {
		return wrap("definition", r.err)
	}
	if n == 0 || n >= uint64(len(r.b)) {
		return ErrName
	}
	out.Name = string(r.bytes(n))
	out.KeyType = KeyType(r.uint())
	out.KeyLen = r.uint()
	out.Data = r.uint()
	if r.err != nil {
		return wrap("definition", r.err)
	}
	if out.Data>>NumDataTypes != 0 {
		return ErrDataType
	}
	if len(r.b) == 0 {
		for t := 0; t < NumDataTypes; t++ {
			if out.Data&(1<<t) != 0 && DataTypes[t].Array {
				return fmt.Errorf("%w: arrays need parameters", ErrParams)
			}
		}
		*d = out
		return nil
	}
	out.HasExpire = true
	out.Expire = r.uint()
	for t := 0; t < NumDataTypes; t++ {
		if out.Data&(1<<t) == 0 || !needsParam(t) {
			continue
		}
		typ := r.uint()
		if r.err != nil {
			return fmt.Errorf("%w: missing for %s", ErrParams, DataTypes[t].Name)
		}
		if typ != uint64(t) {
			return fmt.Errorf("%w: %d where %s was expected", ErrParams, typ, DataTypes[t].Name)
		}
		var p Param
		if DataTypes[t].Array {
			p.NbElem = r.uint()
			if r.err == nil && (p.NbElem == 0 || p.NbElem > MaxArray) {
				return fmt.Errorf("%w: %s of %d elements", ErrParams, DataTypes[t].Name, p.NbElem)
			}
		}
		if DataTypes[t].Std == StdFreq {
			p.Period = r.uint()
		}
		if r.err != nil {
			return fmt.Errorf("%w: missing for %s", ErrParams, DataTypes[t].Name)
		}
		if out.Params == nil {
			out.Params = map[int]Param{}
		}
		out.Params[t] = p
	}
	*d = out
	return nil
}

// Switch is a table switch: the next updates are for the table the
// sender defined with this id.
type Switch struct{ ID uint64 }

// MarshalBinary encodes the switch's body.
func (s Switch) MarshalBinary() ([]byte, error) { return AppendUint(nil, s.ID), nil }

// UnmarshalBinary decodes a switch's body.
func (s *Switch) UnmarshalBinary(b []byte) error {
	r := &reader{b: b}
	id := r.uint()
	if r.err != nil {
		return wrap("switch", r.err)
	}
	s.ID = id
	return nil
}

// Ack acknowledges the updates of a table received up to Update; TableID
// is the id the updates' sender gave the table.
type Ack struct {
	TableID uint64
	Update  uint32
}

// MarshalBinary encodes the ack's body.
func (a Ack) MarshalBinary() ([]byte, error) {
	return appendU32(AppendUint(nil, a.TableID), a.Update), nil
}

// UnmarshalBinary decodes an ack's body.
func (a *Ack) UnmarshalBinary(b []byte) error {
	r := &reader{b: b}
	id := r.uint()
	u := r.u32()
	if r.err != nil {
		return wrap("ack", r.err)
	}
	a.TableID, a.Update = id, u
	return nil
}

// Freq is a frequency counter on the wire: the ms since its current
// period started, and the events of the current and previous periods.
type Freq struct {
	Elapsed    uint64
	Curr, Prev uint64
}

// Dict is a server_key value: an entry of the sender's dictionary cache
// (ID from 1), with its Value when the sender sends it (HasValue), or
// nothing (ID 0).
type Dict struct {
	ID       uint64
	Value    string
	HasValue bool
}

// Value is one data type's value in an update.
type Value struct {
	Type  int    // index into DataTypes
	Int   uint64 // StdSInt, StdUInt, StdULL
	Freq  Freq   // StdFreq
	Dict  Dict   // StdDict
	Ints  []uint64
	Freqs []Freq // arrays
}

// Layout is what decoding an update needs from the table definition it
// follows, and from the receiving table: the key type and length, the
// data types present and the arrays' sizes.
type Layout struct {
	KeyType KeyType
	KeyLen  uint64 // the receiving table's key size (strings: with the NUL)
	Data    uint64
	NbElem  map[int]uint64
}

// Update is an entry update. With HasID it carries its update id (the
// incremental forms mean the previous id plus one); Timed ones carry the
// entry's remaining expiry in ms.
type Update struct {
	HasID  bool
	ID     uint32
	Timed  bool
	Expire uint32
	Key    []byte // strings: without NUL; integers: 4 bytes, network order
	Values []Value
}

// Type is the message type the update is sent as.
func (u Update) Type() uint8 {
	switch {
	case u.HasID && u.Timed:
		return TableUpdateTimed
	case u.HasID:
		return TableUpdate
	case u.Timed:
		return TableIncUpdateTimed
	}
	return TableIncUpdate
}

// AppendBinary appends the update's body, its key as l says.
func (u Update) AppendBinary(b []byte, l Layout) ([]byte, error) {
	if u.HasID {
		b = appendU32(b, u.ID)
	}
	if u.Timed {
		b = appendU32(b, u.Expire)
	}
	switch l.KeyType {
	case KeyStr:
		b = AppendUint(b, uint64(len(u.Key)))
		b = append(b, u.Key...)
	case KeySInt:
		if len(u.Key) != 4 {
			return nil, fmt.Errorf("wire: integer key of %d bytes", len(u.Key))
		}
		b = append(b, u.Key...)
	default:
		if uint64(len(u.Key)) != l.KeyLen {
			return nil, fmt.Errorf("wire: key of %d bytes, want %d", len(u.Key), l.KeyLen)
		}
		b = append(b, u.Key...)
	}
	for _, v := range u.Values {
		if v.Type < 0 || v.Type >= NumDataTypes {
			return nil, ErrDataType
		}
		dt := DataTypes[v.Type]
		switch {
		case dt.Array && dt.Std == StdFreq:
			for _, f := range v.Freqs {
				b = appendFreq(b, f)
			}
		case dt.Array:
			for _, n := range v.Ints {
				b = AppendUint(b, n)
			}
		case dt.Std == StdFreq:
			b = appendFreq(b, v.Freq)
		case dt.Std == StdDict:
			b = appendDict(b, v.Dict)
		default:
			b = AppendUint(b, v.Int)
		}
	}
	return b, nil
}

func appendFreq(b []byte, f Freq) []byte {
	return AppendUint(AppendUint(AppendUint(b, f.Elapsed), f.Curr), f.Prev)
}

func appendDict(b []byte, d Dict) []byte {
	if d.ID == 0 {
		return AppendUint(b, 0)
	}
	inner := AppendUint(nil, d.ID)
	if d.HasValue {
		inner = AppendUint(inner, uint64(len(d.Value)))
		inner = append(inner, d.Value...)
	}
	return append(AppendUint(b, uint64(len(inner))), inner...)
}

// ParseUpdate decodes an update's body of message type typ, as haproxy's
// peer_treat_updatemsg reads it. A string key longer than the table's
// keeps its first KeyLen-1 bytes, as haproxy stores it.
func ParseUpdate(typ uint8, b []byte, l Layout) (Update, error) {
	var u Update
	switch typ {
	case TableUpdate:
		u.HasID = true
	case TableUpdateTimed:
		u.HasID, u.Timed = true, true
	case TableIncUpdateTimed:
		u.Timed = true
	case TableIncUpdate:
	default:
		return u, fmt.Errorf("wire: type %#x is not an update", typ)
	}
	r := &reader{b: b}
	if u.HasID {
		u.ID = r.u32()
	}
	if u.Timed {
		u.Expire = r.u32()
	}
	switch l.KeyType {
	case KeyStr:
		n := r.uint()
		k := r.bytes(n)
		if l.KeyLen > 0 && uint64(len(k)) > l.KeyLen-1 {
			k = k[:l.KeyLen-1]
		}
		u.Key = k
	case KeySInt:
		u.Key = r.bytes(4)
	default:
		u.Key = r.bytes(l.KeyLen)
	}
	if r.err != nil {
		return Update{}, wrap("update key", r.err)
	}
	for t := 0; t < NumDataTypes; t++ {
		if l.Data&(1<<t) == 0 {
			continue
		}
		dt := DataTypes[t]
		v := Value{Type: t}
		switch {
		case dt.Array:
			n := l.NbElem[t]
			for i := uint64(0); i < n && r.err == nil; i++ {
				if dt.Std == StdFreq {
					v.Freqs = append(v.Freqs, Freq{r.uint(), r.uint(), r.uint()})
				} else {
					v.Ints = append(v.Ints, r.uint())
				}
			}
		case dt.Std == StdFreq:
			v.Freq = Freq{r.uint(), r.uint(), r.uint()}
		case dt.Std == StdDict:
			d, err := parseDict(r)
			if err != nil {
				return Update{}, err
			}
			v.Dict = d
		default:
			v.Int = r.uint()
		}
		if r.err != nil {
			return Update{}, wrap("update "+dt.Name, r.err)
		}
		u.Values = append(u.Values, v)
	}
	if l.Data>>NumDataTypes != 0 {
		return Update{}, ErrDataType
	}
	return u, nil
}

func parseDict(r *reader) (Dict, error) {
	n := r.uint()
	if r.err != nil || n == 0 {
		return Dict{}, wrap("update server_key", r.err)
	}
	inner := &reader{b: r.bytes(n)}
	if r.err != nil {
		return Dict{}, wrap("update server_key", r.err)
	}
	d := Dict{ID: inner.uint()}
	if inner.err != nil || d.ID == 0 {
		return Dict{}, ErrDict
	}
	if len(inner.b) == 0 {
		return d, nil
	}
	vl := inner.uint()
	v := inner.bytes(vl)
	if inner.err != nil {
		if inner.err == io.ErrUnexpectedEOF {
			return Dict{}, ErrDict
		}
		return Dict{}, inner.err
	}
	d.Value, d.HasValue = string(v), true
	return d, nil
}
