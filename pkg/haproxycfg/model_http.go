package haproxycfg

import "net/netip"

// HTTPConnMode is a proxy's HTTP connection mode (configuration manual,
// section 4, "option http-keep-alive", "option http-server-close",
// "option httpclose"). When a frontend and its backend differ, the more
// closing one applies.
type HTTPConnMode int

const (
	// HTTPKeepAlive keeps both the client and the server connections open
	// between requests: haproxy 2.6's default.
	HTTPKeepAlive HTTPConnMode = iota
	// HTTPServerClose closes the server connection after each response
	// (the request tells the server "connection: close"); the client's
	// stays open.
	HTTPServerClose
	// HTTPClose closes both after each response.
	HTTPClose
)

func (m HTTPConnMode) String() string {
	switch m {
	case HTTPServerClose:
		return "http-server-close"
	case HTTPClose:
		return "httpclose"
	}
	return "http-keep-alive"
}

// ForwardFor is `option forwardfor [except NETWORK] [header NAME]
// [if-none]`: the client's address is appended to each request in a
// header field, X-Forwarded-For by default.
type ForwardFor struct {
	Except netip.Prefix // zero: none; clients in it get no field
	Header string       // "" means X-Forwarded-For
	IfNone bool         // only when the request has no such field
	Pos    Pos
}

// OriginalTo is `option originalto [except NETWORK] [header NAME]`: the
// address the client connected to is added to each request in a header
// field, X-Original-To by default.
type OriginalTo struct {
	Except netip.Prefix // zero: none; destinations in it get no field
	Header string       // "" means X-Original-To
	Pos    Pos
}

// HTTPOptions are the HTTP options of a proxy that change what reaches
// the server or the client.
type HTTPOptions struct {
	ConnMode   HTTPConnMode
	ForwardFor *ForwardFor // nil without `option forwardfor`
	OriginalTo *OriginalTo // nil without `option originalto`
}
