// Package vrrp encodes, decodes, authenticates and checks VRRP advertisements
// (RFC 3768 for version 2, RFC 5798 for version 3) byte for byte as
// keepalived 2.2.7 does, and sends and receives them on raw sockets.
//
// The layers, from the wire up:
//
//   - Advertisement (packet.go): the VRRP message itself, with its checksum.
//   - IPv4Datagram (ah.go): the whole IPv4 datagram keepalived builds with
//     IP_HDRINCL: IP header (its own ID counter), the IPsec AH header with
//     keepalived's HMAC-MD5-96 ICV when auth_type is AH, then the message.
//   - SeqCounter (seq.go): keepalived's single AH sequence counter.
//   - Encoder (encoder.go): one instance's sending state (IP ID, AH sequence).
//   - Check (check.go): keepalived's receive checks in keepalived's order,
//     returning a DropError with an enumerated DropReason on failure.
//   - Conn (conn.go, conn_linux.go): the raw-socket boundary; package
//     vrrptest has an in-memory fake linking several Conns like a LAN.
//   - Sender (sender.go): Encoder + Conn + destinations, for a state machine.
//
// keepalived sends every IPv4 advert, whatever the authentication, with
// IP_HDRINCL and its own IP ID counter (vrrp.c open_vrrp_send_socket), so
// over IPv4 a Conn sends whole datagrams built by the Encoder; over IPv6 the
// kernel builds the header and computes the checksum (IPV6_CHECKSUM).
package vrrp
