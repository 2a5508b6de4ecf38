package sticktable

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DataType is one kind of data a table may store, numbered in haproxy
// 2.6's order (STKTABLE_DT_*), which is also the order `show table`
// prints them in.
type DataType int

// The data types gproxy stores. The array forms (gpt, gpc, gpc_rate) and
// server_key are haproxy's too; see Known.
const (
	ServerID DataType = iota
	GPT0
	GPC0
	GPC0Rate
	ConnCnt
	ConnRate
	ConnCur
	SessCnt
	SessRate
	HTTPReqCnt
	HTTPReqRate
	HTTPErrCnt
	HTTPErrRate
	BytesInCnt
	BytesInRate
	BytesOutCnt
	BytesOutRate
	GPC1
	GPC1Rate
	ServerKey
	HTTPFailCnt
	HTTPFailRate
	NumTypes
)

// stdKind is how a data type is held (haproxy's std_type).
type stdKind int

const (
	kindSint stdKind = iota // signed 32-bit
	kindUint                // unsigned 32-bit
	kindULL                 // unsigned 64-bit
	kindFreq                // frequency counter over a period
	kindDict                // a string (server_key)
)

var dataTypes = [NumTypes]struct {
	name string
	kind stdKind
}{
	ServerID: {"server_id", kindSint}, GPT0: {"gpt0", kindUint}, GPC0: {"gpc0", kindUint},
	GPC0Rate: {"gpc0_rate", kindFreq}, ConnCnt: {"conn_cnt", kindUint}, ConnRate: {"conn_rate", kindFreq},
	ConnCur: {"conn_cur", kindUint}, SessCnt: {"sess_cnt", kindUint}, SessRate: {"sess_rate", kindFreq},
	HTTPReqCnt: {"http_req_cnt", kindUint}, HTTPReqRate: {"http_req_rate", kindFreq},
	HTTPErrCnt: {"http_err_cnt", kindUint}, HTTPErrRate: {"http_err_rate", kindFreq},
	BytesInCnt: {"bytes_in_cnt", kindULL}, BytesInRate: {"bytes_in_rate", kindFreq},
	BytesOutCnt: {"bytes_out_cnt", kindULL}, BytesOutRate: {"bytes_out_rate", kindFreq},
	GPC1: {"gpc1", kindUint}, GPC1Rate: {"gpc1_rate", kindFreq}, ServerKey: {"server_key", kindDict},
	HTTPFailCnt: {"http_fail_cnt", kindUint}, HTTPFailRate: {"http_fail_rate", kindFreq},
}

func (d DataType) String() string {
	if d >= 0 && d < NumTypes {
		return dataTypes[d].name
	}
	return "DataType(" + strconv.Itoa(int(d)) + ")"
}

// IsRate reports whether d is a frequency counter (takes a period).
func (d DataType) IsRate() bool { return d >= 0 && d < NumTypes && dataTypes[d].kind == kindFreq }

// LookupDataType finds a data type by its haproxy name.
func LookupDataType(name string) (DataType, bool) {
	for i, t := range dataTypes {
		if t.name == name {
			return DataType(i), true
		}
	}
	return 0, false
}

// ErrUnsupported is wrapped by the errors about haproxy data types
// gproxy does not store (the gpt/gpc/gpc_rate arrays).
var ErrUnsupported = errors.New("sticktable: not implemented by gproxy")

// Store is one `store` item: a data type and, for rates, the period.
type Store struct {
	Type   DataType
	Period time.Duration
}

// ParseStore reads one item of a `store` list ("conn_cnt",
// "http_req_rate(10s)"), worded as haproxy's stick-table parser words its
// errors.
func ParseStore(s string) (Store, error) {
	name, arg, hasArg := strings.Cut(s, "(")
	if hasArg {
		if !strings.HasSuffix(arg, ")") {
			return Store{}, fmt.Errorf("missing closing parenthesis after store option '%s'", name)
		}
		arg = strings.TrimSuffix(arg, ")")
	}
	t, ok := LookupDataType(name)
	if !ok {
		switch name {
		case "gpt", "gpc", "gpc_rate":
			return Store{}, fmt.Errorf("store option '%s': %w", name, ErrUnsupported)
		}
		return Store{}, fmt.Errorf("unknown store option '%s'", name)
	}
	st := Store{Type: t}
	if !t.IsRate() {
		if hasArg {
			return Store{}, fmt.Errorf("store option '%s' takes no argument", name)
		}
		return st, nil
	}
	if !hasArg {
		return Store{}, fmt.Errorf("missing argument to store option '%s'", name)
	}
	d, err := parseDelay(arg)
	if err != nil {
		return Store{}, fmt.Errorf("%s for store option '%s'", err, name)
	}
	st.Period = d
	return st, nil
}

// parseDelay reads a haproxy delay, milliseconds by default (us, ms, s,
// m, h, d suffixes).
func parseDelay(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid delay '%s'", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid delay '%s'", s)
	}
	unit := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := unit[s[i:]]
	if !ok {
		return 0, fmt.Errorf("invalid char '%c' in delay '%s'", s[i], s)
	}
	if per := int64(u / time.Millisecond); per > 0 && n > 2147483647/per || n > 2147483647*1000 {
		return 0, fmt.Errorf("timer overflow in delay '%s'", s)
	}
	return time.Duration(n) * u, nil
}
