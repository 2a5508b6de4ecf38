package haproxycfg

// Peers is a `peers` section (configuration manual section 3.5): the
// peers that replicate the stick tables naming the section, with haproxy
// 2.6's peers protocol (pkg/peers).
type Peers struct {
	Name     string
	Pos      Pos
	Disabled bool // `disabled`: tables naming the section are not synced
	// Local is this process's peer name (-L, `localpeer`, or the host
	// name); Listen is where it listens: its `peer` address, or the
	// `bind` line's (host:port, or fd@N for an inherited socket).
	Local  string
	Listen string
	Peers  []PeerDef // in file order, the local one included
}

// PeerDef is one `peer NAME ADDR:PORT` or `server NAME [ADDR:PORT]` line.
type PeerDef struct {
	Name  string
	Addr  string // host:port; the local peer's is its listening address
	Local bool
	Pos   Pos
}

// PeersSection returns the peers section named name, or nil.
func (c *Config) PeersSection(name string) *Peers {
	for _, s := range c.Peers {
		if s.Name == name {
			return s
		}
	}
	return nil
}
