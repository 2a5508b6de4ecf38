package haproxycfg

// compressionAlgos are the algorithms haproxy 2.6 builds with zlib.
var compressionAlgos = map[string]bool{"identity": true, "deflate": true, "raw-deflate": true, "gzip": true}

// compression is `compression algo A...`, `compression type T...` and
// `compression offload`, worded as haproxy's parse_compression_options.
func (p *parser) compression(args []string) {
	px := p.cur.px
	if px.Compression == nil {
		px.Compression = &Compression{}
	}
	c := px.Compression
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch sub {
	case "algo":
		if len(args) < 3 {
			p.alert(args[0], "parsing [%s:%d] : '%s' expects <algorithm>.", p.file, p.line, args[0])
			return
		}
		for _, a := range args[2:] {
			if !compressionAlgos[a] {
				p.alert(args[0], "'%s' : '%s' is not a supported algorithm.", args[0], a)
				return
			}
			c.Algos = append([]string{a}, c.Algos...)
		}
	case "type":
		if len(args) < 3 {
			p.alert(args[0], "'%s' expects <type>.", args[0])
			return
		}
		for _, t := range args[2:] {
			c.Types = append([]string{t}, c.Types...)
		}
	case "offload":
		if p.cur.isDefault {
			// haproxy warns and does not pass it on to the proxies.
			p.warn(args[0], "'%s' : '%s' ignored in 'defaults' section.", args[0], sub)
			return
		}
		c.Offload = true
	default:
		p.alert(args[0], "'%s' expects 'algo', 'type' or 'offload'", args[0])
	}
}
