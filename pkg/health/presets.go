package health

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
)

// The protocol checks, built as the rule lists haproxy 2.6 builds for
// them (src/tcpcheck.c, proxy_parse_*_opt): the same bytes on the wire,
// the same step numbers and the same messages.

const (
	redisPing = "*1\r\n$4\r\nPING\r\n"
	redisPong = "+PONG\r\n"
	ldapBind  = "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"
)

// protoSteps is the rule list of a protocol check.
func protoSteps(c *haproxycfg.Check) []Step {
	// the explicit `connect default linger` of smtpchk, pgsql-check and
	// mysql-check has step 1; the implicit connect of the others, step 0.
	connect := func(step int) Step {
		return Step{CheckRule: haproxycfg.CheckRule{Action: haproxycfg.RuleConnect, Step: step, Linger: step == 1, Default: true, MinRecv: -1}}
	}
	send := func(step int, data []byte) Step {
		return Step{CheckRule: haproxycfg.CheckRule{Action: haproxycfg.RuleSend, Step: step, Data: data, MinRecv: -1}}
	}
	expect := func(step int, match, pattern string, minRecv int, errStatus string) Step {
		st := Step{CheckRule: haproxycfg.CheckRule{Action: haproxycfg.RuleExpect, Step: step, Match: match,
			Pattern: pattern, MinRecv: minRecv, ErrStatus: errStatus}}
		if match[0] == 'r' {
			st.re = regexp.MustCompile(pattern)
		}
		return st
	}
	var steps []Step
	switch c.Type {
	case haproxycfg.CheckRedis:
		e := expect(2, "string", redisPong, -1, "L7STS")
		e.onError = func(b []byte) string { return cutCRLF(b) }
		e.onOK = func([]byte) string { return "Redis server is ok" }
		steps = []Step{connect(0), send(1, []byte(redisPing)), e}
	case haproxycfg.CheckSSLHello:
		s := send(1, nil)
		s.build = sslHello
		e := expect(2, "rbinary", "^1[56]", 5, "L6RSP")
		e.OKStatus, e.ToutStatus = "L6OK", "L6TOUT"
		steps = []Step{connect(0), s, e}
	case haproxycfg.CheckSMTP:
		e1 := expect(2, "rstring", "^[0-9]{3}[ \r]", 4, "L7RSP")
		e1.onError = func(b []byte) string { return cutCRLF(b) }
		e2 := expect(3, "rstring", "^2[0-9]{2}[ \r]", 4, "L7STS")
		e2.onError, e2.code = smtpText, smtpCode
		e3 := expect(5, "rstring", "^2[0-9]{2}[- \r]", 4, "L7STS")
		e3.onError, e3.onOK, e3.code = smtpText, smtpText, smtpCode
		steps = []Step{connect(1), e1, e2, send(4, []byte(c.SMTPHello+"\r\n")), e3}
	case haproxycfg.CheckPgSQL:
		e1 := expect(3, "rstring", "^E", 5, "L7RSP")
		e1.Inverse = true
		e1.onError = func(b []byte) string {
			if len(b) <= 6 {
				return ""
			}
			return string(b[6:])
		}
		e2 := expect(4, "rbinary", "^52000000(08|0A|0C)000000(00|02|03|04|05|06)", 9, "L7STS")
		e2.OnOK, e2.OnError = "PostgreSQL server is ok", "PostgreSQL unknown error"
		steps = []Step{connect(1), send(2, pgsqlStartup(c.User)), e1, e2}
	case haproxycfg.CheckMySQL:
		steps = []Step{connect(1)}
		if c.User != "" {
			steps = append(steps, send(2, mysqlAuth(c.User, c.MySQLPre41)))
		}
		e := expect(len(steps)+1, "custom", "", -1, "")
		e.custom = mysqlInitial
		steps = append(steps, e)
		if c.User != "" {
			e := expect(len(steps)+1, "custom", "", -1, "")
			e.custom = mysqlOK
			steps = append(steps, e)
		}
	case haproxycfg.CheckLDAP:
		e1 := expect(2, "rbinary", "^30", 14, "")
		e1.OnError = "Not LDAPv3 protocol"
		e2 := expect(3, "custom", "", -1, "")
		e2.custom = ldapBindResponse
		steps = []Step{connect(0), send(1, []byte(ldapBind)), e1, e2}
	}
	for i := range steps {
		steps[i].head = i
		if i > 0 && steps[i].Action == haproxycfg.RuleExpect && steps[i-1].Action == haproxycfg.RuleExpect {
			steps[i].head = steps[i-1].head
		}
	}
	return steps
}

// cutCRLF is haproxy's res.payload(0,0),cut_crlf: the data up to the
// first CR or LF.
func cutCRLF(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// smtpText is res.payload(4,0),ltrim(' '),cut_crlf: the text of a reply.
func smtpText(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	return cutCRLF(bytes.TrimLeft(b[4:], " "))
}

// smtpCode is res.payload(0,3) as an integer: the reply code.
func smtpCode(b []byte) (int, bool) {
	if len(b) < 3 {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[:3]))
	return n, err == nil
}

// sslHello is the SSLv3 CLIENT HELLO of ssl-hello-chk: the current Unix
// time, "HAPROXYSSLCHK\nHAPROXYSSLCHK\n" as the random bytes, and 39
// cipher suites (0x0001-0x001B, 0x002F-0x003A).
func sslHello(now time.Time) []byte {
	b := []byte{0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00}
	b = binary.BigEndian.AppendUint32(b, uint32(now.Unix()))
	b = append(b, "HAPROXYSSLCHK\nHAPROXYSSLCHK\n"...)
	b = append(b, 0x00, 0x00, 0x4e)
	for c := 0x01; c <= 0x3a; c++ {
		if c > 0x1b && c < 0x2f {
			continue
		}
		b = append(b, 0x00, byte(c))
	}
	return append(b, 0x01, 0x00)
}

// pgsqlStartup is the StartupMessage of pgsql-check: protocol 3.0 and the
// user, nothing else.
func pgsqlStartup(user string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(15+len(user)))
	b = append(b, 0x00, 0x03, 0x00, 0x00)
	b = append(b, "user\x00"...)
	b = append(b, user...)
	return append(b, 0x00, 0x00)
}

// mysqlAuth is the client authentication packet of mysql-check (4.1 or
// pre-4.1 protocol) followed by a COM_QUIT.
func mysqlAuth(user string, pre41 bool) []byte {
	var body []byte
	if pre41 {
		body = append([]byte{0x00, 0x80, 0x00, 0x00, 0x01}, user...)
	} else {
		body = append([]byte{0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21}, make([]byte, 23)...)
		body = append(body, user...)
	}
	body = append(body, 0x00, 0x00)
	n := len(body)
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), 0x01}
	b = append(b, body...)
	return append(b, 0x01, 0x00, 0x00, 0x00, 0x01)
}

func mysqlInitial(r *runner, st *Step, last bool) evalResult {
	return mysqlPacket(r, st, 0, last)
}

func mysqlOK(r *runner, st *Step, last bool) evalResult {
	if len(r.buf) < 3 {
		return mysqlPacket(r, st, len(r.buf)+1, last)
	}
	hs := 4 + int(r.buf[0]) + int(r.buf[1])<<8 + int(r.buf[2])<<16
	return mysqlPacket(r, st, hs, last)
}

// mysqlPacket checks the MySQL packet at off: an error packet fails
// (L7STS with the error number and message), a truncated one waits or
// fails.
func mysqlPacket(r *runner, st *Step, off int, last bool) evalResult {
	b := r.buf
	if len(b) < off+4 {
		if !last {
			return evalWait
		}
		r.fail(st, CodeL7RSP, false, "")
		return evalStop
	}
	plen := int(b[off]) + int(b[off+1])<<8 + int(b[off+2])<<16
	if len(b) < off+plen+4 {
		if !last {
			return evalWait
		}
		r.fail(st, CodeL7RSP, false, "")
		return evalStop
	}
	if b[off+4] == 0xff {
		code := 0
		if len(b) > off+6 {
			code = int(b[off+5]) + int(b[off+6])<<8
		}
		desc := ""
		if len(b) > off+7 {
			desc = string(b[off+7:])
		}
		r.code = code
		r.fail(st, CodeL7STS, false, desc)
		r.res.HTTP = code
		return evalStop
	}
	// On the last step haproxy reports the pass with the server version
	// (the NUL-terminated string of the handshake packet) as the info,
	// then again when all steps have passed, with no info.
	if r.cur == len(r.p.Steps)-1 {
		v := ""
		if len(b) > 5 {
			v = string(b[5:])
			if i := strings.IndexByte(v, 0); i >= 0 {
				v = v[:i]
			}
		}
		res := withInfo(CodeL7OK, 0, v)
		r.interim = &res
	}
	return evalContinue
}

// ldapBindResponse checks the BindResponse of ldap-check (RFC 4511).
func ldapBindResponse(r *runner, st *Step, last bool) evalResult {
	b := r.buf
	short := func() evalResult {
		if !last {
			return evalWait
		}
		r.fail(st, CodeL7RSP, false, "")
		return evalStop
	}
	notLDAP := func() evalResult {
		r.fail(st, CodeL7RSP, false, "Not LDAPv3 protocol")
		return evalStop
	}
	if len(b) < 2 {
		return short()
	}
	p := 1
	nbytes, msglen := 0, 0
	if b[p]&0x80 != 0 {
		nbytes = int(b[p] & 0x7f)
		if len(b) < 1+nbytes {
			return short()
		}
		switch nbytes {
		case 4:
			if len(b) < p+5 {
				return short()
			}
			msglen = int(binary.BigEndian.Uint32(b[p+1:]))
		case 2:
			if len(b) < p+3 {
				return short()
			}
			msglen = int(binary.BigEndian.Uint16(b[p+1:]))
		default:
			return notLDAP()
		}
	} else {
		msglen = int(b[p])
	}
	p += 1 + nbytes
	if len(b) < 2+nbytes+msglen || len(b) < p+4 {
		return short()
	}
	if string(b[p:p+4]) != "\x02\x01\x01\x61" {
		return notLDAP()
	}
	p += 4
	if p >= len(b) {
		return short()
	}
	nb := 0
	if b[p]&0x80 != 0 {
		nb = int(b[p] & 0x7f)
	}
	p += 1 + nb
	if len(b) < p+3 {
		return short()
	}
	if string(b[p:p+2]) != "\x0a\x01" {
		return notLDAP()
	}
	p += 2
	r.code = int(b[p])
	if r.code != 0 {
		r.fail(st, CodeL7STS, false, "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9")
		return evalStop
	}
	// haproxy reports "Success", then the pass of the whole check with
	// no info, as for mysql-check.
	if r.cur == len(r.p.Steps)-1 {
		res := withInfo(CodeL7OK, 0, "Success")
		r.interim = &res
	}
	return evalContinue
}

// ruleSteps compiles a tcp-check or http-check rule list.
func ruleSteps(c *haproxycfg.Check) []Step { return compile(c.Rules) }
