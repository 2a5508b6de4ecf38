package keepalivedcfg

import (
	"fmt"
	"strings"
)

// Class says what gkeepalived does with a keepalived.conf keyword. Every
// keyword keepalived 2.2.7 knows is in Keywords with one class, so none can
// be parsed and then silently dropped.
type Class int

const (
	// Works: implemented as in keepalived 2.2.7.
	Works Class = iota
	// Cosmetic: tuning or reporting only (process names, buffer sizes,
	// scheduling); read with a warning naming file:line.
	Cosmetic
	// Refused: would change what is on the wire, which addresses move, who
	// is trusted or how health is judged, and is not implemented: an error
	// naming file:line and the feature; `-t` exits non-zero and the daemon
	// does not start.
	Refused
)

func (c Class) String() string {
	switch c {
	case Works:
		return "works"
	case Cosmetic:
		return "cosmetic"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Block names where a keyword may appear.
const (
	BlockRoot      = ""
	BlockGlobal    = "global_defs"
	BlockScript    = "vrrp_script"
	BlockInstance  = "vrrp_instance"
	BlockAuth      = "authentication"
	BlockSyncGroup = "vrrp_sync_group"
	BlockProcess   = "vrrp_track_process"
	BlockTrackFile = "track_file"
)

// KeywordInfo is one entry of the keyword table.
type KeywordInfo struct {
	Block   string // where it appears (BlockRoot, BlockGlobal, ...)
	Name    string
	Class   Class
	Feature string // for Cosmetic and Refused: the feature gkeepalived lacks
	// TakesBlock: the keyword is followed by a { } block, skipped when the
	// keyword is not implemented.
	TakesBlock bool
	// Extension: gkeepalived's own keyword, which keepalived 2.2.7 does
	// not have (the bgp block, bgp.go).
	Extension bool
}

// Features gkeepalived does not implement, as reported and as listed in the
// README's "Not implemented yet".
const (
	featLVS       = "LVS (virtual_server, IPVS)"
	featVMAC      = "ipvlan, use_vmac_addr and VMAC GARP intervals"
	featTrack     = "BFD tracking (track_bfd, bfd_instance, track_group)"
	featSNMP      = "SNMP and D-Bus"
	featFirewall  = "firewall rules: vrrp_iptables/nftables keywords, and accept mode off (no_accept, or vrrp_strict/strict_mode without accept)"
	featNetns     = "network namespaces and VRFs"
	featScripts   = "startup and shutdown scripts"
	featIfaces    = "default_interface, dynamic_interfaces, interface delays"
	featRxChecks  = "unicast_fault_no_peer, old_unicast_checksum"
	featGARPExtra = "garp_group, garp_extra_if"
	featTiming    = "down_timer_adverts, vrrp_startup_delay"
	featAddrFlags = "address options home, -nodad, mngtmpaddr, noprefixroute, autojoin"
	featIGMP      = "disable_local_igmp, promote_secondaries"
	featTuning    = "process tuning (names, priorities, buffers)"
	featInclude   = "include checking: include_check, includer/includem/includew/includeb/includea"
	featBGPBFD    = "BFD in the bgp block (bfd, bfd_interval, bfd_multiplier)"
)

// Keywords is the keyword table: every keyword keepalived 2.2.7 reads
// (keepalived/core/global_parser.c, keepalived/vrrp/vrrp_parser.c,
// keepalived/check/check_parser.c, keepalived/bfd/bfd_parser.c,
// keepalived/trackers/track_file.c), with what gkeepalived does with it.
var Keywords = buildKeywords()

func buildKeywords() []KeywordInfo {
	var t []KeywordInfo
	add := func(block string, c Class, feature string, blk bool, names ...string) {
		for _, n := range names {
			t = append(t, KeywordInfo{Block: block, Name: n, Class: c, Feature: feature, TakesBlock: blk})
		}
	}
	works := func(block string, names ...string) { add(block, Works, "", false, names...) }

	// Top level.
	works(BlockRoot, "global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "vrrp_track_process", "track_file", "vrrp_track_file")
	add(BlockRoot, Refused, featLVS, true, "virtual_server", "virtual_server_group", "SSL")
	works(BlockRoot, "static_ipaddress", "static_routes", "static_rules")
	add(BlockRoot, Refused, featTrack, true, "bfd_instance", "track_group")
	add(BlockRoot, Refused, featGARPExtra, true, "garp_group")
	add(BlockRoot, Refused, featIfaces, true, "interface_up_down_delays")
	add(BlockRoot, Cosmetic, "link polling (gkeepalived uses netlink)", true, "linkbeat_interfaces")
	add(BlockRoot, Cosmetic, "link polling (gkeepalived uses netlink)", false, "linkbeat_use_polling")
	add(BlockRoot, Refused, featNetns, false, "net_namespace")
	add(BlockRoot, Refused, featLVS, false, "net_namespace_ipvs")
	add(BlockRoot, Cosmetic, featTuning, false, "namespace_with_ipsets", "use_pid_dir", "instance", "child_wait_time")

	// global_defs.
	works(BlockGlobal, "router_id", "notification_email_from", "notification_email", "smtp_server",
		"smtp_helo_name", "smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp",
		"enable_script_security", "script_user", "vrrp_version", "vrrp_strict",
		"vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
		"vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_delay",
		"vrrp_garp_lower_prio_repeat", "vrrp_garp_interval", "vrrp_gna_interval", "vrrp_lower_prio_no_advert",
		"vrrp_higher_prio_send_advert", "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr", "vrrp_min_garp",
		"max_auto_priority", "min_auto_priority_delay", "vrrp_no_swap")
	add(BlockGlobal, Cosmetic, featTuning, false, "process_names", "process_name", "vrrp_process_name",
		"checker_process_name", "lvs_process_name", "bfd_process_name",
		"vrrp_priority", "vrrp_rt_priority", "vrrp_cpu_affinity",
		"vrrp_rlimit_rttime", "vrrp_rlimit_rtime", "checker_priority", "checker_no_swap",
		"checker_rt_priority", "checker_cpu_affinity", "checker_rlimit_rttime", "checker_rlimit_rtime",
		"bfd_priority", "bfd_no_swap", "bfd_rt_priority", "bfd_cpu_affinity", "bfd_rlimit_rttime",
		"bfd_rlimit_rtime", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
		"vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
		"process_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
		"lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy",
		"vrrp_rx_bufs_multiplier", "log_unknown_vrids", "umask", "random_seed", "reload_check_config",
		"reload_time_file", "reload_repeat", "reload_file", "config_save_dir",
		"tmp_config_directory", "data_use_instance", "fifo_write_vrrp_states_on_reload",
		"vmac_addr_prefix")
	works(BlockGlobal, "vmac_prefix")
	add(BlockGlobal, Cosmetic, "the checker process (LVS is refused)", false, "smtp_alert_checker",
		"checker_log_all_failures", "no_email_faults", "rs_init_notifies", "no_checker_emails")
	add(BlockGlobal, Refused, featInclude, false, "include_check")
	add(BlockGlobal, Refused, featScripts, false, "startup_script", "startup_script_timeout",
		"shutdown_script", "shutdown_script_timeout")
	add(BlockGlobal, Refused, featIfaces, false, "dynamic_interfaces", "default_interface")
	add(BlockGlobal, Refused, featIGMP, false, "disable_local_igmp")
	add(BlockGlobal, Refused, featLVS, false, "lvs_timeouts", "lvs_flush", "lvs_flush_on_stop",
		"lvs_flush_onstop", "lvs_sync_daemon", "nftables_ipvs", "nftables_ipvs_priority",
		"nftables_ipvs_start_fwmark", "lvs_notify_fifo", "lvs_notify_fifo_script")
	add(BlockGlobal, Refused, featTiming, false, "vrrp_down_timer_adverts", "vrrp_startup_delay")
	add(BlockGlobal, Refused, featGARPExtra, false, "vrrp_garp_extra_if")
	add(BlockGlobal, Refused, featVMAC, false, "vrrp_vmac_garp_intvl")
	add(BlockGlobal, Refused, featFirewall, false, "vrrp_iptables", "vrrp_ipsets", "nftables",
		"nftables_priority", "nftables_ifindex", "nftables_counters")
	works(BlockGlobal, "notify_fifo", "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script")
	works(BlockGlobal, "vrrp_notify_priority_changes")
	add(BlockGlobal, Refused, featSNMP, false, "snmp_socket", "enable_traps", "enable_snmp_vrrp",
		"enable_snmp_keepalived", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3",
		"enable_snmp_checker", "enable_dbus", "dbus_service_name")

	// vrrp_script.
	works(BlockScript, "script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail")

	// vrrp_track_process.
	works(BlockProcess, "process", "param_match", "weight", "quorum", "quorum_max", "delay",
		"terminate_delay", "fork_delay", "full_command")

	// track_file (and its deprecated twin vrrp_track_file).
	works(BlockTrackFile, "file", "weight", "init_file")

	// vrrp_instance.
	works(BlockInstance, "state", "interface", "dont_track_primary", "track_interface", "track_script",
		"mcast_src_ip", "unicast_src_ip", "unicast_peer", "mcast_dst_ip", "virtual_router_id",
		"unicast_ttl", "version", "priority", "advert_int", "virtual_ipaddress",
		"virtual_ipaddress_excluded", "strict_mode", "preempt", "nopreempt", "preempt_delay",
		"notify_backup", "notify_master", "notify_fault", "notify_stop", "notify", "smtp_alert",
		"garp_master_delay", "garp_master_refresh", "garp_master_repeat", "garp_master_refresh_repeat",
		"garp_lower_prio_delay", "garp_lower_prio_repeat", "lower_prio_no_advert",
		"higher_prio_send_advert", "authentication", "check_unicast_src", "accept", "no_accept", "track_process", "track_file", "skip_check_adv_addr", "notify_priority_changes", "notify_deleted", "notify_master_rx_lower_pri", "native_ipv6")
	add(BlockInstance, Cosmetic, featTuning, false, "debug", "kernel_rx_buf_size", "linkbeat_use_polling")
	// accept and no_accept work: an instance whose accept mode ends up off
	// is refused (validate.go), since keepalived then drops traffic to its
	// VIPs with nftables rules.
	works(BlockInstance, "use_vmac", "vmac_xmit_base")
	add(BlockInstance, Refused, featVMAC, false, "use_vmac_addr", "use_ipvlan", "vmac_garp_intvl")
	add(BlockInstance, Refused, featRxChecks, false, "unicast_fault_no_peer", "old_unicast_checksum")
	add(BlockInstance, Refused, featNetns, false, "vrf")
	add(BlockInstance, Refused, featTrack, true, "track_bfd")
	add(BlockInstance, Refused, "track_src_ip (FAULT when the source address goes)", false, "track_src_ip")
	add(BlockInstance, Refused, featIGMP, false, "promote_secondaries")
	works(BlockInstance, "virtual_routes", "virtual_rules")
	add(BlockInstance, Refused, featLVS, false, "lvs_sync_daemon_interface")
	add(BlockInstance, Refused, featTiming, false, "down_timer_adverts")
	add(BlockInstance, Refused, featGARPExtra, false, "garp_extra_if")

	// authentication { } inside vrrp_instance.
	works(BlockAuth, "auth_type", "auth_pass")

	// vrrp_sync_group.
	works(BlockSyncGroup, "group", "notify_backup", "notify_master", "notify_fault", "notify_stop", "notify", "smtp_alert")
	works(BlockSyncGroup, "track_interface", "track_script", "track_file", "track_process", "global_tracking", "sync_group_tracking_weight")
	add(BlockSyncGroup, Refused, featTrack, true, "track_bfd")
	works(BlockSyncGroup, "notify_priority_changes")

	// gkeepalived's extension: the bgp block (bgp.go).
	ext := func(block string, names ...string) {
		for _, n := range names {
			t = append(t, KeywordInfo{Block: block, Name: n, Class: Works, Extension: true})
		}
	}
	ext(BlockRoot, bgpKeyword)
	ext(BlockBGP, "router_id", "local_as", "next_hop", "announce", "track_script", "track_process", bgpNeighborKeyword)
	ext(BlockBGPNeighbor, "remote_as", "hold_time", "keepalive", "connect_retry")
	for _, n := range []string{"bfd", "bfd_interval", "bfd_multiplier"} {
		t = append(t, KeywordInfo{Block: BlockBGPNeighbor, Name: n, Class: Refused, Feature: featBGPBFD, Extension: true})
	}
	return t
}

// LookupKeyword returns the table entry for a keyword in a block.
func LookupKeyword(block, name string) (KeywordInfo, bool) {
	for _, k := range Keywords {
		if k.Block == block && k.Name == name {
			return k, true
		}
	}
	return KeywordInfo{}, false
}

// NotImplemented lists the features of refused keywords, each once, in
// table order: the keepalived part of the README's "Not implemented yet".
func NotImplemented() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range Keywords {
		if k.Class == Refused && !seen[k.Feature] {
			seen[k.Feature] = true
			out = append(out, k.Feature)
		}
	}
	// Refused too, though an option of a virtual_ipaddress line rather
	// than a keyword.
	return append(out, featAddrFlags)
}

// message is the diagnostic for a keyword that is not Works.
func (k KeywordInfo) message() string {
	switch {
	case k.Class == Refused && k.Feature == featLVS:
		return fmt.Sprintf("'%s' needs LVS (IPVS), which gkeepalived does not have: keep Debian's keepalived on LVS hosts - refusing this configuration", k.Name)
	case k.Class == Refused:
		return fmt.Sprintf("'%s' is not implemented by gkeepalived (%s) - refusing this configuration", k.Name, k.Feature)
	}
	return fmt.Sprintf("'%s' is not supported by gkeepalived - ignored (%s)", k.Name, k.Feature)
}

// tableKeyword makes the parser entry of a keyword that is not Works: it
// reports, then skips the keyword's block if it has one.
func tableKeyword(k KeywordInfo) keyword {
	kw := keyword{name: k.Name, info: &k}
	if k.TakesBlock {
		kw.skip = true
		kw.sub = []keyword{}
	}
	return kw
}

// reportKeyword records the diagnostic for a Cosmetic or Refused keyword.
func (p *parser) reportKeyword(l line, k *KeywordInfo) {
	switch k.Class {
	case Refused:
		p.reportAt(l.pos, Fatal, classUnsupported, "%s", k.message())
		p.diags[len(p.diags)-1].extra = true
	case Cosmetic:
		p.ignoredf(l, "%s", k.message())
	}
}

// refusedf reports a refused option that is not a keyword of its own
// (an address flag): like a Refused keyword.
func (p *parser) refusedf(l line, format string, args ...any) {
	p.reportAt(l.pos, Fatal, classUnsupported, "%s - refusing this configuration", fmt.Sprintf(format, args...))
	p.diags[len(p.diags)-1].extra = true
}

// installTable adds the Cosmetic and Refused keywords to the parser's
// per-block tables and checks that each Works keyword has a handler and
// that no handler is missing from the table (a programming error).
func installTable() {
	tables := map[string]*[]keyword{
		BlockRoot: &rootKeywords, BlockGlobal: &globalKeywords, BlockScript: &scriptKeywords,
		BlockInstance: &instanceKeywords, BlockSyncGroup: &syncGroupKeywords, BlockProcess: &processKeywords, BlockTrackFile: &trackFileKeywords,
		BlockBGP: &bgpKeywords, BlockBGPNeighbor: &bgpNeighborKeywords,
	}
	auth := findKeyword(instanceKeywords, "authentication")
	tables[BlockAuth] = &auth.sub
	var problems []string
	install := func(root bool) {
		for _, k := range Keywords {
			if (k.Block == BlockRoot) != root {
				continue
			}
			problems = append(problems, installKeyword(tables[k.Block], k)...)
		}
	}
	// The root table takes the block tables' slices: fill those first.
	install(false)
	// The bgp block's neighbor entry took its table's slice at init.
	findKeyword(bgpKeywords, bgpNeighborKeyword).sub = bgpNeighborKeywords
	initRoot()
	install(true)
	for block, tbl := range tables {
		for _, kw := range *tbl {
			if _, ok := LookupKeyword(block, kw.name); !ok {
				problems = append(problems, fmt.Sprintf("%s %s has a handler but is not in Keywords", block, kw.name))
			}
		}
	}
	if len(problems) > 0 {
		panic("keepalivedcfg: keyword table: " + strings.Join(problems, "; "))
	}
}

func installKeyword(tbl *[]keyword, k KeywordInfo) []string {
	have := findKeyword(*tbl, k.Name)
	switch {
	case k.Class == Works && have == nil:
		return []string{fmt.Sprintf("%s %s is marked works but has no handler", k.Block, k.Name)}
	case k.Class != Works && have != nil:
		return []string{fmt.Sprintf("%s %s is marked %s but has a handler", k.Block, k.Name, k.Class)}
	case k.Class != Works:
		*tbl = append(*tbl, tableKeyword(k))
	}
	return nil
}
