package proxy

import "bytes"

// withServerName applies `http-send-name-header NAME` to an HTTP/1 request
// head as haproxy 2.6's H1 multiplexer writes it (mux_h1.c,
// h1_process_output): the fields called NAME (any case) are left out and
// "NAME: server" comes last, after the connection field. HTTP/2 servers
// get the field too (h2Request), as from haproxy 2.6.12.
func withServerName(head []byte, name, server string) []byte {
	out := make([]byte, 0, len(head)+len(name)+len(server)+4)
	line := bytes.IndexByte(head, '\n') + 1
	out = append(out, head[:line]...)
	rest := head[line:]
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, '\n') + 1
		if end == 0 {
			end = len(rest)
		}
		l := rest[:end]
		rest = rest[end:]
		if len(bytes.TrimRight(l, "\r\n")) == 0 {
			break // the blank line ending the head
		}
		if colon := bytes.IndexByte(l, ':'); colon == len(name) && bytes.EqualFold(l[:colon], []byte(name)) {
			continue
		}
		out = append(out, l...)
	}
	out = append(out, name...)
	out = append(out, ": "...)
	out = append(out, server...)
	return append(out, "\r\n\r\n"...)
}
