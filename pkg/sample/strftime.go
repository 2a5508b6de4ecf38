package sample

import (
	"strconv"
	"strings"
	"time"
)

// strftime formats t as C's strftime in the C locale (for the ltime and
// utime converters). A conversion it does not know is copied as written,
// as glibc does.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	pad := func(n, w int, c byte) {
		s := strconv.Itoa(n)
		for i := len(s); i < w; i++ {
			b.WriteByte(c)
		}
		b.WriteString(s)
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'c':
			b.WriteString(strftime("%a %b %e %H:%M:%S %Y", t))
		case 'C':
			pad(t.Year()/100, 2, '0')
		case 'd':
			pad(t.Day(), 2, '0')
		case 'D':
			b.WriteString(strftime("%m/%d/%y", t))
		case 'e':
			pad(t.Day(), 2, ' ')
		case 'F':
			b.WriteString(strftime("%Y-%m-%d", t))
		case 'H':
			pad(t.Hour(), 2, '0')
		case 'I':
			pad((t.Hour()+11)%12+1, 2, '0')
		case 'j':
			pad(t.YearDay(), 3, '0')
		case 'k':
			pad(t.Hour(), 2, ' ')
		case 'l':
			pad((t.Hour()+11)%12+1, 2, ' ')
		case 'm':
			pad(int(t.Month()), 2, '0')
		case 'M':
			pad(t.Minute(), 2, '0')
		case 'n':
			b.WriteByte('\n')
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'r':
			b.WriteString(strftime("%I:%M:%S %p", t))
		case 'R':
			b.WriteString(strftime("%H:%M", t))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'S':
			pad(t.Second(), 2, '0')
		case 't':
			b.WriteByte('\t')
		case 'T':
			b.WriteString(strftime("%H:%M:%S", t))
		case 'u':
			pad((int(t.Weekday())+6)%7+1, 1, '0')
		case 'w':
			pad(int(t.Weekday()), 1, '0')
		case 'x':
			b.WriteString(strftime("%m/%d/%y", t))
		case 'X':
			b.WriteString(strftime("%H:%M:%S", t))
		case 'y':
			pad(t.Year()%100, 2, '0')
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'z':
			_, off := t.Zone()
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			b.WriteByte(sign)
			pad(off/3600, 2, '0')
			pad(off%3600/60, 2, '0')
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

var gmt = time.FixedZone("GMT", 0)

func init() {
	for _, d := range []struct {
		name  string
		local bool
	}{{"ltime", true}, {"utime", false}} {
		local := d.local
		RegisterConverter(ConvDef{Name: d.name, Args: ArgSpec{Types: []ArgType{ArgStr, ArgInt}, Min: 1}, In: TypeInt, Out: TypeStr,
			Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
				tm := time.Unix(v.Int+argInt(a, 1), 0)
				if local {
					tm = tm.Local()
				} else {
					tm = tm.In(gmt) // gmtime's zone is named GMT
				}
				return Value{Type: TypeStr, Str: strftime(a[0].Str, tm)}, true
			}})
	}
}
