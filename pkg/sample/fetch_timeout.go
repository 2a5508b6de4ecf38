package sample

import "time"

// The timeout fetches (configuration manual 7.3.2: be_server_timeout,
// be_tunnel_timeout, cur_server_timeout, cur_tunnel_timeout).

// TimeoutInfo is what the engine tells of a proxy's configured server and
// tunnel timeouts; ok is false when no proxy has that name.
type TimeoutInfo interface {
	ProxyTimeouts(proxy string) (server, tunnel time.Duration, ok bool)
}

func init() {
	be := func(name string, tunnel bool) {
		RegisterFetch(FetchDef{Name: name, Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			ti, ok := t.Env.(TimeoutInfo)
			if !ok {
				return Value{}, false
			}
			// Before a backend is chosen the stream's backend is its
			// frontend, as in haproxy.
			px := t.Backend
			if px == "" {
				px = t.Frontend
			}
			srv, tun, ok := ti.ProxyTimeouts(px)
			if !ok {
				return Value{}, false
			}
			d := srv
			if tunnel {
				d = tun
			}
			return Value{Type: TypeInt, Int: d.Milliseconds()}, true
		}})
	}
	be("be_server_timeout", false)
	be("be_tunnel_timeout", true)
	RegisterFetch(FetchDef{Name: "cur_server_timeout", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeInt, Int: t.ServerTimeout}, true
	}})
	RegisterFetch(FetchDef{Name: "cur_tunnel_timeout", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeInt, Int: t.TunnelTimeout}, true
	}})
}
