package proxy

// Hana is what live traffic told of a server, for `observe` (haproxy's
// HANA_STATUS_* of its health_adjust).
type Hana int

// The events `observe` sees. Layer 4 watches connections (an error or a
// success); layer 7 connection errors and HTTP responses.
const (
	HanaL4OK            Hana = iota // "L4 successful connection"
	HanaL4Err                       // "L4 unsuccessful connection"
	HanaHTTPOK                      // "Correct http response"
	HanaHTTPStatus                  // "Wrong http response": a 5xx but 501 and 505
	HanaHTTPHeaders                 // "Invalid http response (headers)"
	HanaHTTPResponse                // "Invalid http response"
	HanaHTTPReadError               // "Read error (http)"
	HanaHTTPReadTimeout             // "Read timeout (http)"
	HanaHTTPBrokenPipe              // "Close from server (http)"
)

var hanaDesc = [...]string{"L4 successful connection", "L4 unsuccessful connection", "Correct http response",
	"Wrong http response", "Invalid http response (headers)", "Invalid http response", "Read error (http)",
	"Read timeout (http)", "Close from server (http)"}

// String is haproxy's description of the event, as its "Detected N
// consecutive errors, last one was: ..." says it.
func (h Hana) String() string {
	if h < 0 || int(h) >= len(hanaDesc) {
		return "Unknown"
	}
	return hanaDesc[h]
}

// observer receives what traffic tells of a server; set by the health
// monitor for a checked server with `observe`.
type observer = func(Hana)

// SetObserver makes f receive the traffic events of s; nil stops them.
func (s *Server) SetObserver(f func(Hana)) {
	if f == nil {
		s.obs.Store(nil)
		return
	}
	s.obs.Store(&f)
}

// observe passes one event to the server's observer, if any.
func (s *Server) observe(h Hana) {
	if s == nil {
		return
	}
	if f := s.obs.Load(); f != nil {
		(*f)(h)
	}
}

// httpHana is the event of a response status (haproxy's
// http_process_res_common: 501 and 505 answer the client's request, not a
// server fault).
func httpHana(status int) Hana {
	if status >= 100 && (status < 500 || status == 501 || status == 505) {
		return HanaHTTPOK
	}
	return HanaHTTPStatus
}
