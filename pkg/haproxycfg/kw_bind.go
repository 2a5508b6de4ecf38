package haproxycfg

import "fmt"

// bindOptions are haproxy 2.6's bind options (configuration manual section
// 5.1) with the number of values each takes. None changes gproxy's
// behaviour: each is accepted with a warning, so the rest of the line can
// be skipped correctly.
var bindOptions = map[string]int{
	"accept-proxy": 0, "allow-0rtt": 0, "defer-accept": 0, "force-sslv3": 0,
	"force-tlsv10": 0, "force-tlsv11": 0, "force-tlsv12": 0, "force-tlsv13": 0,
	"generate-certificates": 0, "no-ca-names": 0, "no-sslv3": 0, "no-tls-tickets": 0,
	"no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0,
	"prefer-client-ciphers": 0, "ssl": 0, "strict-sni": 0, "tfo": 0,
	"transparent": 0, "v4v6": 0, "v6only": 0, "accept-netscaler-cip": 1, "alpn": 1, "backlog": 1, "ca-file": 1,
	"ca-ignore-err": 1, "ca-sign-file": 1, "ca-sign-pass": 1, "ca-verify-file": 1,
	"ciphers": 1, "ciphersuites": 1, "crl-file": 1, "crt": 1,
	"crt-ignore-err": 1, "crt-list": 1, "curves": 1, "ecdhe": 1, "expose-fd": 1,
	"gid": 1, "group": 1, "id": 1, "interface": 1, "level": 1, "severity-output": 1,
	"maxconn": 1, "mode": 1, "mss": 1, "name": 1, "namespace": 1, "nice": 1,
	"npn": 1, "process": 1, "proto": 1, "ssl-max-ver": 1,
	"ssl-min-ver": 1, "tcp-ut": 1, "thread": 1, "tls-ticket-keys": 1, "uid": 1,
	"user": 1, "verify": 1, "shards": 1,
}

// bindKeyword is `bind ADDR[,ADDR...] [options]` (section 4.2, "bind").
func (p *parser) bindKeyword(args []string) {
	if len(args) < 2 || args[1] == "" {
		p.alert("bind", "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
		return
	}
	tmpl := Bind{}
	for i := 2; i < len(args); {
		opt := args[i]
		switch opt {
		case "v4v6":
			tmpl.V4V6 = true
			i++
			continue
		case "v6only":
			tmpl.V6Only = true
			i++
			continue
		case "transparent":
			tmpl.Transparent = true
			i++
			continue
		}
		n, ok := bindOptions[opt]
		if !ok {
			if hint := didYouMean(opt, suggestBind); hint != "" {
				p.alert("bind", "'bind %s' in section '%s': unknown keyword '%s'%s", args[1], p.sectionName, opt, hint)
			} else {
				p.alert("bind", "'bind %s' in section '%s': unknown keyword '%s'.", args[1], p.sectionName, opt)
			}
			return
		}
		if i+n >= len(args) && n > 0 {
			p.alert("bind", "'bind %s' in section '%s': '%s' : missing value.", args[1], p.sectionName, opt)
			return
		}
		if n > 0 {
			p.ignored("bind", fmt.Sprintf("bind option '%s %s'", opt, args[i+1]))
		} else {
			p.ignored("bind", fmt.Sprintf("bind option '%s'", opt))
		}
		i += 1 + n
	}
	p.bindAddr("bind", args[1], tmpl)
}
