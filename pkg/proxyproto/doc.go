// Package proxyproto encodes and decodes the PROXY protocol header a load
// balancer puts in front of a proxied TCP stream to carry the client's
// addresses: version 1 (a text line) and version 2 (binary, with TLVs), as
// in haproxy's doc/proxy-protocol.txt ("The PROXY protocol, Versions 1 & 2").
//
// A Header is a plain struct; MarshalBinary writes it and UnmarshalBinary
// reads exactly one header. Parse reads one header at the start of a
// buffer and says how long it was, which is what a receiver peeking at a
// socket needs. Input too short to tell returns io.ErrUnexpectedEOF; the
// other failures wrap one of the exported Err* sentinels, which follow the
// connection error codes haproxy 2.6 logs (CO_ER_PRX_*).
//
// The input is untrusted: every length is checked before use and the
// package never panics on any input (fuzz_test.go).
package proxyproto
