package balance

type member struct {
	s Server
	w int
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// HashAddr is haproxy's source hash (backend.c get_server_sh): the
// address folded into 32 bits, IPv4 as a
// big-endian number, IPv6 as the XOR of its four big-endian words. The avalanche
// modifier (the default of `hash-type consistent`) mixes it further.
func HashAddr(key Key) uint32 {
	if key.Client.Is4() {
		b := key.Client.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	var h uint32
	b := key.Client.As16()
	for i := 0; i < 16; i += 4 {
		h ^= uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
	}
	return h
}
