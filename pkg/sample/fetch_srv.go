package sample

// Server and backend counters (configuration manual 7.3.2: srv_conn,
// srv_queue, srv_weight...), read through an optional interface of Env.

// ServerInfo is what the engine tells of a server for the srv_* fetches;
// ok is false when the backend or the server does not exist.
type ServerInfo interface {
	ServerCounters(backend, server string) (c ServerCounters, ok bool)
	// BeSessRate is a backend's sessions over the last second.
	BeSessRate(backend string) (int, bool)
}

// ServerCounters are a server's values as haproxy's fetches read them.
type ServerCounters struct {
	Conn     int // srv_conn: current connections (cur_sess)
	ConnFree int // srv_conn_free: slots left under the dynamic maxconn; -1 without maxconn
	Queue    int // srv_queue: requests queued on it
	SessRate int // srv_sess_rate: sessions over the last second
	Weight   int // srv_weight: effective weight, in the configuration's scale
	IWeight  int // srv_iweight: the configured weight
	UWeight  int // srv_uweight: the weight set by the configuration or at run time
}

func init() {
	srv := func(name string, pick func(ServerCounters) int) {
		RegisterFetch(FetchDef{Name: name, Args: ArgSpec{Types: []ArgType{ArgSrv}, Min: 1}, Out: TypeInt,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				si, ok := t.Env.(ServerInfo)
				if !ok {
					return Value{}, false
				}
				be, sv := splitSrv(t, a[0].Str)
				c, ok := si.ServerCounters(be, sv)
				if !ok {
					return Value{}, false
				}
				return Value{Type: TypeInt, Int: int64(pick(c))}, true
			}})
	}
	srv("srv_conn", func(c ServerCounters) int { return c.Conn })
	srv("srv_conn_free", func(c ServerCounters) int { return c.ConnFree })
	srv("srv_queue", func(c ServerCounters) int { return c.Queue })
	srv("srv_sess_rate", func(c ServerCounters) int { return c.SessRate })
	srv("srv_weight", func(c ServerCounters) int { return c.Weight })
	srv("srv_iweight", func(c ServerCounters) int { return c.IWeight })
	srv("srv_uweight", func(c ServerCounters) int { return c.UWeight })
	RegisterFetch(FetchDef{Name: "unique-id", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.UniqueID == nil {
			return Value{}, false
		}
		return Value{Type: TypeStr, Str: t.UniqueID()}, true
	}})
	RegisterFetch(FetchDef{Name: "be_sess_rate", Args: ArgSpec{Types: []ArgType{ArgBE}, Min: 1}, Out: TypeInt,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			si, ok := t.Env.(ServerInfo)
			if !ok {
				return Value{}, false
			}
			n, ok := si.BeSessRate(beArg(t, a))
			return Value{Type: TypeInt, Int: int64(n)}, ok
		}})
}
