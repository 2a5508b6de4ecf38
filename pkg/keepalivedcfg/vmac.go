package keepalivedcfg

import (
	"fmt"
	"strings"
)

// use_vmac [NAME] and vmac_xmit_base (vrrp_parser.c vrrp_vmac_handler,
// vrrp.c vrrp_complete_instance): the instance's VIPs live on a macvlan
// in private mode whose MAC is the VRRP MAC 00:00:5e:00:01:VRID
// (00:00:5e:00:02:VRID for an IPv6 instance).

// VMAC is an instance's use_vmac setting.
type VMAC struct {
	// Name is the macvlan's name: the one given, else PREFIX.VRID
	// (vmac_prefix, default "vrrp").
	Name string
	// XmitBase: adverts leave from the base interface (its own MAC)
	// rather than from the VMAC (vmac_xmit_base, forced on by unicast).
	XmitBase bool
	// named: the name was given in the configuration.
	named bool
	Pos   Pos `json:"-"`
}

var vmacKeywords = []keyword{
	{name: "use_vmac", handler: (*parser).useVMAC},
	{name: "vmac_xmit_base", handler: func(p *parser, l line) {
		// keepalived sets the flag whether or not use_vmac is given.
		p.instState.vmacXmitBase = true
	}},
	{name: "virtual_routes", handler: func(p *parser, l line) { p.routesBlock(l, &p.inst.VirtualRoutes) }},
	{name: "virtual_rules", handler: func(p *parser, l line) { p.rulesBlock(l, &p.inst.VirtualRules) }},
}

var rootStaticKeywords = []keyword{
	{name: "static_ipaddress", handler: func(p *parser, l line) { p.valueBlock(l, p.staticAddress) }},
	{name: "static_routes", handler: func(p *parser, l line) { p.routesBlock(l, &p.cfg.StaticRoutes) }},
	{name: "static_rules", handler: func(p *parser, l line) { p.rulesBlock(l, &p.cfg.StaticRules) }},
}

var globalVMACKeywords = []keyword{
	{name: "vmac_prefix", handler: func(p *parser, l line) {
		if len(l.words) < 2 {
			p.arg(l, 1)
			return
		}
		if p.gs.vmacPrefix != "" {
			p.errorf(l, "VMAC prefix already specified - ignoring %s", l.words[1])
			return
		}
		p.gs.vmacPrefix = l.words[1]
	}},
}

// The handlers join the block tables before installTable checks them
// (package variables are initialised before init functions run).
var _ = func() bool {
	instanceKeywords = append(instanceKeywords, vmacKeywords...)
	globalKeywords = append(globalKeywords, globalVMACKeywords...)
	extraRootKeywords = append(extraRootKeywords, rootStaticKeywords...)
	return true
}()

// devNameValid is the kernel's rule for interface names.
func devNameValid(s string) bool {
	if s == "" || len(s) >= 16 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n\r\v\f")
}

func (p *parser) useVMAC(l line) {
	in := p.inst
	if in.VMAC == nil {
		in.VMAC = &VMAC{Pos: l.pos}
	}
	for i := 1; i < len(l.words) && i <= 2; i++ {
		w := l.words[i]
		if strings.Contains(w, ":") {
			p.refusedf(l, "a MAC address for use_vmac (%s) is not implemented by gkeepalived", w)
			continue
		}
		if in.VMAC.named {
			p.errorf(l, "VMAC interface name already specified")
			continue
		}
		if !devNameValid(w) {
			p.errorf(l, "VMAC interface name '%s' too long or invalid characters - ignoring", w)
			continue
		}
		taken := false
		for _, o := range p.cfg.Instances {
			if o != in && o.VMAC != nil && o.VMAC.named && o.VMAC.Name == w {
				p.errorf(l, "(%s) VRRP instance %s is already using %s - ignoring name", in.Name, o.Name, w)
				taken = true
				break
			}
		}
		if taken {
			continue
		}
		in.VMAC.Name, in.VMAC.named = w, true
	}
}

// vmacEnd is the use_vmac part of keepalived's end-of-instance handler.
func (p *parser) vmacEnd() {
	in, st := p.inst, p.instState
	if in.VMAC == nil {
		return
	}
	if len(in.UnicastPeers) > 0 && !st.vmacXmitBase {
		if in.Interface == "" {
			p.reportAt(p.r.last, Error, classGeneral, "(%s): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac", in.Name)
			in.VMAC = nil
			return
		}
		p.reportAt(p.r.last, Error, classGeneral, "(%s) unicast with use_vmac requires vmac_xmit_base - setting", in.Name)
		st.vmacXmitBase = true
	}
}

// completeVMAC is the use_vmac part of vrrp_complete_instance.
func (p *parser) completeVMAC(in *Instance, strict bool) {
	st := p.states[in]
	if in.VMAC == nil {
		return
	}
	in.VMAC.XmitBase = st.vmacXmitBase
	if strict && in.VMAC.XmitBase {
		p.global(in.Pos, Error, classGeneral, "(%s) xmit_base is incompatible with strict mode - resetting", in.Name)
		in.VMAC.XmitBase = false
	}
	if !in.VMAC.named {
		prefix := p.gs.vmacPrefix
		if prefix == "" {
			prefix = "vrrp"
		}
		// An interface name has at most 15 characters: keepalived cuts
		// the prefix.
		suffix := fmt.Sprintf(".%d", in.VRID)
		if len(prefix)+len(suffix) > 15 {
			prefix = prefix[:15-len(suffix)]
		}
		in.VMAC.Name = prefix + suffix
	}
}
