// Package wire encodes and decodes haproxy 2.6's peers protocol, the
// protocol haproxy's `peers` sections replicate stick tables with
// (haproxy's doc/peers-v2.0.txt, whose version 2.1 haproxy 2.6 speaks):
//
//   - Varints (varint.go): haproxy's encoded integers, section I of the
//     protocol document.
//   - Handshake (handshake.go): the three-line hello a connecting peer
//     sends ("HAProxyS 2.1", the name of the peer it calls, its own name,
//     pid and relative pid) and the status line the called peer answers
//     (200, 300, 501..504).
//   - Messages (message.go): the two-byte class and type header, with a
//     varint length and a body for the stick-table class (types ≥ 128).
//   - Stick-table messages (table.go): table definition, switch, update
//     (full, incremental, with or without the remaining expiry), and ack.
//
// Everything read from a peer is untrusted: decoding never panics, short
// input is io.ErrUnexpectedEOF, and the other errors are the Err*
// sentinels below, wrapped with %w.
package wire
