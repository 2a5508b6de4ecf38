package keepalivedcfg

import "net"

// SystemInterfaces looks an interface up on this host, for
// Options.Interfaces when gkeepalived should check interface names as
// keepalived does at start-up ("WARNING - interface eth0 for vrrp_instance
// VI_1 doesn't exist"). It needs no privileges. Parse never calls it unless
// it is passed in.
func SystemInterfaces(name string) (InterfaceInfo, bool) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return InterfaceInfo{}, false
	}
	return InterfaceInfo{Loopback: ifi.Flags&net.FlagLoopback != 0, Multicast: ifi.Flags&net.FlagMulticast != 0}, true
}
