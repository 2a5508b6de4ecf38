package proxy

import (
	"strconv"
	"strings"
)

// Sizes haproxy 2.6 counts for a message in its internal HTX form, which
// is what %B and the bytes-out counters report in mode http: a fixed part
// for the start line plus its three strings, each header's name and value
// without separators, one byte for the end of headers, then the body data.
// Measured: a chunked 200 logs one byte more than its data; a 503 of haproxy with three headers and a 107-byte body logs
// 217, a server's 200 logs 125 for 126 bytes on the wire.
const (
	htxStartLine = 20
	htxEOH       = 1
	htxEOT       = 1 // end of trailers, after a chunked body
)

// errorPage is one of the replies the proxy writes itself, with haproxy
// 2.6's default status, headers and body.
type errorPage struct {
	code    int
	reason  string
	headers []header
	body    string
	raw     bool // written by the HTTP/1 layer: header names as is, always closing
	// htxExtra: bytes haproxy counts in %B for fields its HTTP/1 layer
	// does not write (a return's content-length on a 204 or 304).
	htxExtra int
}

func newPage(code int, reason, text string, raw bool) errorPage {
	body := "<html><body><h1>" + strconv.Itoa(code) + " " + reason + "</h1>\n" + text + "\n</body></html>\n"
	return errorPage{code: code, reason: reason, body: body, raw: raw, headers: []header{
		{"Content-length", strconv.Itoa(len(body))},
		{"Cache-Control", "no-cache"},
		{"Content-Type", "text/html"},
	}}
}

var (
	page400 = newPage(400, "Bad request", "Your browser sent an invalid request.", true).String(false)
	// haproxy's HTTP/1 layer writes this one without "Connection: close"
	// (and closes).
	page422 = strings.Replace(newPage(422, "Unprocessable Content", "The server cannot process the contained instructions.", true).String(false), "Connection: close\r\n", "", 1)
	page408 = newPage(408, "Request Time-out", "Your browser didn't send a complete request in time.", true).String(false)
	// The stream's 400 (`option abortonclose`): lower-case fields, an
	// errorfile's if there is one.
	page400Abort = newPage(400, "Bad request", "Your browser sent an invalid request.", false)
	page502      = newPage(502, "Bad Gateway", "The server returned an invalid or incomplete response.", false)
	page503      = newPage(503, "Service Unavailable", "No server is available to handle this request.", false)
	page504      = newPage(504, "Gateway Time-out", "The server didn't respond in time.", false)
	// Ours: haproxy relays CONNECT tunnels, we refuse them.
	page501 = newPage(501, "Not Implemented", "The proxy does not relay CONNECT tunnels.", false)
)

// String is the page on the wire. Replies of the HTTP/1 layer keep
// haproxy's header spelling and always close; the others go through the
// normal response path, so their names are lower case and "connection:
// close" comes only when the connection ends.
func (p errorPage) String(keep bool) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 ")
	b.WriteString(strconv.Itoa(p.code))
	b.WriteByte(' ')
	b.WriteString(p.reason)
	b.WriteString("\r\n")
	for i, h := range p.headers {
		if p.raw && i == 2 {
			b.WriteString("Connection: close\r\n")
		}
		if p.raw {
			b.WriteString(h.name)
		} else {
			b.WriteString(strings.ToLower(h.name))
		}
		b.WriteString(": ")
		b.WriteString(h.value)
		b.WriteString("\r\n")
	}
	if !p.raw && !keep {
		b.WriteString("connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(p.body)
	return b.String()
}

// htxSize is what haproxy logs as %B for the page.
func (p errorPage) htxSize() int64 {
	n := htxStartLine + len("HTTP/1.1") + 3 + len(p.reason) + htxEOH + len(p.body) + p.htxExtra
	for _, h := range p.headers {
		n += len(h.name) + len(h.value)
	}
	return int64(n)
}

func (c *h1Conn) writePage(p errorPage, keep bool) error {
	c.startResponse()
	bw := c.writer()
	page := p.String(keep)
	if c.req != nil && c.req.method == "HEAD" {
		// The head only, its Content-Length announcing the page.
		page = page[:len(page)-len(p.body)]
	}
	_, err := bw.WriteString(page)
	if err == nil {
		err = bw.Flush()
	}
	return err
}
