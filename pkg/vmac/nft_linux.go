package vmac

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// keepalived 2.2.7 (built with nftables, as Debian's) with use_vmac and no
// firewall configured says "use_vmac or no_accept/strict specified, but no
// firewall configured - using nftables" and, per family with a VMAC, adds
// the table `keepalived` (vrrp_nftables.c nft_setup_igmp,
// setup_rule_move_igmp, setup_rule_drop_router_solicit). Seen with
// `nft list ruleset` on Debian's keepalived:
//
//	table ip keepalived {
//		map vmac_map { type iface_index : iface_index; elements = { "vrrp.51" : "eth0" } }
//		chain out {
//			type filter hook output priority filter - 1; policy accept;
//			ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map drop
//		}
//	}
//	table ip6 keepalived {
//		map vmac_map { ... }
//		set vmac_set { type iface_index; elements = { "vrrp.51" } }
//		chain out {
//			type filter hook output priority filter - 1; policy accept;
//			icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map drop
//			icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop
//		}
//	}
//
// The VMAC's IGMP/MLD reports then leave from the base interface with its
// own MAC: a backup's reports never carry the VRRP MAC, which would make
// a learning switch send the VIP's traffic to the backup. The table is
// deleted when keepalived exits.

// nftTable is the state of one family's table.
type nftTable struct {
	table    *nftables.Table
	vmacMap  *nftables.Set
	vmacSet  *nftables.Set // IPv6 only
	elements int
}

// nftMetaOIFKind is NFT_META_OIFKIND (linux/netfilter/nf_tables.h).
const nftMetaOIFKind = expr.MetaKey(27)

// macvlanKind is the interface kind compared, as keepalived: 16 bytes.
var macvlanKind = func() []byte {
	b := make([]byte, 16)
	copy(b, "macvlan")
	return b
}()

func ifindexBytes(i int) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(i))
	return b
}

func (m *Manager) nftConn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(int(m.ns)))
	if err != nil {
		return nil, fmt.Errorf("vmac: nftables: %w", err)
	}
	return c, nil
}

// nftAddVMAC adds the VMAC (index vmac, base interface index base) to the
// family's table, making the table first.
func (m *Manager) nftAddVMAC(v6 bool, vmac, base int) error {
	c, err := m.nftConn()
	if err != nil {
		return err
	}
	t := m.nft[v6]
	if t == nil {
		// A table left by a VRRP process that crashed is made again, not
		// added to (its rules would be doubled).
		fam := nftables.TableFamilyIPv4
		if v6 {
			fam = nftables.TableFamilyIPv6
		}
		if ts, err := c.ListTablesOfFamily(fam); err == nil {
			for _, old := range ts {
				if old.Name == "keepalived" {
					c.DelTable(old)
					if err := c.Flush(); err != nil {
						return fmt.Errorf("vmac: nftables: removing a stale table keepalived: %w", err)
					}
				}
			}
		}
		t = m.nftSetup(c, v6)
	}
	if err := c.SetAddElements(t.vmacMap, []nftables.SetElement{{Key: ifindexBytes(vmac), Val: ifindexBytes(base)}}); err != nil {
		return fmt.Errorf("vmac: nftables: %w", err)
	}
	if t.vmacSet != nil {
		if err := c.SetAddElements(t.vmacSet, []nftables.SetElement{{Key: ifindexBytes(vmac)}}); err != nil {
			return fmt.Errorf("vmac: nftables: %w", err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("vmac: nftables table keepalived: %w", err)
	}
	m.nft[v6] = t
	t.elements++
	return nil
}

// nftSetup queues the family's table, map, set, chain and rules.
func (m *Manager) nftSetup(c *nftables.Conn, v6 bool) *nftTable {
	fam := nftables.TableFamilyIPv4
	if v6 {
		fam = nftables.TableFamilyIPv6
	}
	t := &nftTable{table: c.AddTable(&nftables.Table{Family: fam, Name: "keepalived"})}
	t.vmacMap = &nftables.Set{Table: t.table, Name: "vmac_map", IsMap: true, KeyType: nftables.TypeIFIndex, DataType: nftables.TypeIFIndex,
		KeyByteOrder: binaryutil.NativeEndian}
	_ = c.AddSet(t.vmacMap, nil)
	if v6 {
		t.vmacSet = &nftables.Set{Table: t.table, Name: "vmac_set", KeyType: nftables.TypeIFIndex, KeyByteOrder: binaryutil.NativeEndian}
		_ = c.AddSet(t.vmacSet, nil)
	}
	prio := nftables.ChainPriority(-1)
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "out", Table: t.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: &prio, Policy: &policy})
	oifkind := []expr.Any{
		&expr.Meta{Key: nftMetaOIFKind, Register: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 2, Data: macvlanKind},
	}
	dup := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIF, Register: 2},
		&expr.Lookup{SourceRegister: 2, DestRegister: 2, IsDestRegSet: true, SetName: t.vmacMap.Name, SetID: t.vmacMap.ID},
		&expr.Dup{RegAddr: 1, RegDev: 2, IsRegDevSet: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
	var report []expr.Any
	if !v6 {
		report = []expr.Any{
			// ip protocol igmp, then ip daddr into register 1
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 9, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_IGMP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		}
	} else {
		report = append(icmp6Type(143), // mld2-listener-report
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16})
	}
	report = append(append(report, oifkind...), dup...)
	c.AddRule(&nftables.Rule{Table: t.table, Chain: ch, Exprs: report})
	if v6 {
		rs := append(append(icmp6Type(133), oifkind...), // nd-router-solicit
			&expr.Meta{Key: expr.MetaKeyOIF, Register: 2},
			&expr.Lookup{SourceRegister: 2, SetName: t.vmacSet.Name, SetID: t.vmacSet.ID},
			&expr.Verdict{Kind: expr.VerdictDrop})
		c.AddRule(&nftables.Rule{Table: t.table, Chain: ch, Exprs: rs})
	}
	return t
}

// icmp6Type matches an ICMPv6 message of type typ (meta l4proto icmpv6,
// then the transport header's first byte).
func icmp6Type(typ byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{typ}},
	}
}

// nftRemoveVMAC takes the VMAC out of its family's table (the table stays
// until Close, as keepalived's stays until it exits).
func (m *Manager) nftRemoveVMAC(v6 bool, vmac, base int) error {
	t := m.nft[v6]
	if t == nil {
		return nil
	}
	c, err := m.nftConn()
	if err != nil {
		return err
	}
	_ = c.SetDeleteElements(t.vmacMap, []nftables.SetElement{{Key: ifindexBytes(vmac), Val: ifindexBytes(base)}})
	if t.vmacSet != nil {
		_ = c.SetDeleteElements(t.vmacSet, []nftables.SetElement{{Key: ifindexBytes(vmac)}})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("vmac: nftables table keepalived: %w", err)
	}
	t.elements--
	return nil
}

// nftClose deletes the tables made here.
func (m *Manager) nftClose() {
	if len(m.nft) == 0 {
		return
	}
	c, err := m.nftConn()
	if err != nil {
		return
	}
	for _, t := range m.nft {
		c.DelTable(t.table)
	}
	_ = c.Flush()
	m.nft = map[bool]*nftTable{}
}
