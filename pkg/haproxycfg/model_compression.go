package haproxycfg

// Compression is a proxy's `compression` settings (configuration manual
// section 4.2, "compression"), as haproxy 2.6 keeps them.
type Compression struct {
	// Algos are the `compression algo` names ("gzip", "deflate",
	// "raw-deflate", "identity") in haproxy's list order: each one read
	// goes first, after those inherited from defaults are kept behind,
	// and a client's "*" takes the first.
	Algos []string
	// Types are the `compression type` prefixes of the Content-Type to
	// compress (case-insensitive); none compresses every type.
	Types []string
	// Offload is `compression offload`: the server never sees the
	// client's Accept-Encoding.
	Offload bool
}
