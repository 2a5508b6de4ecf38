package keepalivedcfg

import (
	"fmt"
	"net/netip"
	"time"
)

// This file is the validated model that parsing produces and the VRRP
// runtime consumes. Every default and every correction keepalived 2.2.7
// makes before it starts (keepalived/vrrp/vrrp.c vrrp_complete_instance) is
// already applied: the runtime never sees raw tokens.

// Config is a whole keepalived configuration, possibly from several files.
type Config struct {
	Global     Global
	Scripts    []*Script         // vrrp_script blocks, in file order
	Instances  []*Instance       // vrrp_instance blocks, in file order
	SyncGroups []*SyncGroup      // vrrp_sync_group blocks, in file order
	Processes  []*TrackedProcess `json:",omitempty"` // vrrp_track_process blocks, in file order
	TrackFiles []*TrackedFile    `json:",omitempty"` // track_file blocks, in file order
	BGP        *BGP              `json:",omitempty"` // gkeepalived's bgp block (bgp.go); nil = none
	// static_ipaddress, static_routes, static_rules: present while the
	// daemon runs (routes.go).
	StaticAddresses []VIP    `json:",omitempty"`
	StaticRoutes    []Route  `json:",omitempty"`
	StaticRules     []Rule   `json:",omitempty"`
	Files           []string // the files read, in order
	// ScriptsChecked: the scripts were checked on disk while parsing
	// (Options.CheckScript) and keepalived's lines about them reported.
	ScriptsChecked bool
}

// Script returns the vrrp_script with that name, or nil.
func (c *Config) Script(name string) *Script {
	for _, s := range c.Scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Instance returns the vrrp_instance with that name, or nil.
func (c *Config) Instance(name string) *Instance {
	for _, in := range c.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// Global is the global_defs block (keepalived.conf(5) "GLOBAL DEFINITIONS").
type Global struct {
	RouterID              string   // default: the host name
	NotificationEmail     []string // notification_email { ... }
	NotificationEmailFrom string   // default when an SMTP server is set: user@hostname
	SMTPServer            string   // address or host name as written; "" = no mail
	SMTPPort              int      // default 25
	SMTPHeloName          string   // default: the host name
	SMTPConnectTimeout    time.Duration
	SMTPAlert             *bool // global smtp_alert; nil = not set
	SMTPAlertVRRP         *bool // smtp_alert_vrrp; nil = not set

	EnableScriptSecurity bool
	ScriptUser           string // script_user USER [GROUP]; "" = keepalived_script or root
	ScriptGroup          string

	VRRPVersion int // vrrp_version, default 2

	// MaxAutoPriority (max_auto_priority): when the VRRP process runs
	// later than MinAutoPriorityDelay (min_auto_priority_delay, default
	// 1 s) after a timer expired, it switches to SCHED_RR at the lowest
	// realtime priority, then raises it by one at each further delay, up
	// to this; 0 = never, -1 = never and no startup notice.
	MaxAutoPriority      int
	MinAutoPriorityDelay time.Duration
	// VRRPNoSwap (vrrp_no_swap): the VRRP process locks its memory
	// (mlockall).
	VRRPNoSwap bool

	// vrrp_strict, vrrp_mcast_group4/6, vrrp_lower_prio_no_advert and
	// vrrp_higher_prio_send_advert are instance defaults: the parser
	// applies them to each Instance (strict mode's corrections, or its
	// refusal below priority 255; McastDstIP; LowerPrioNoAdvert;
	// HigherPrioSendAdvert) and the model does not keep them.

	GARP GARP // vrrp_garp_* defaults copied into each instance

	// GARPInterval (vrrp_garp_interval) and GNAInterval
	// (vrrp_gna_interval) are the least time between two gratuitous ARPs,
	// or two unsolicited NAs, sent on one interface, by any instance; 0 =
	// no spacing.
	GARPInterval time.Duration
	GNAInterval  time.Duration

	// NotifyFIFO (notify_fifo, notify_fifo_script) and VRRPNotifyFIFO
	// (vrrp_notify_fifo, ...): a FIFO that gets one line per instance or
	// group state change (`INSTANCE "VI_1" MASTER 100`); nil = none. A
	// vrrp FIFO on the global FIFO's path is dropped.
	NotifyFIFO     *NotifyFIFO `json:",omitempty"`
	VRRPNotifyFIFO *NotifyFIFO `json:",omitempty"`
}

// NotifyFIFO is a notify FIFO: created (mode 0644, owned by User:Group)
// unless it exists, opened, and its Script (if any) started with the
// FIFO's path as last argument; the script gets SIGTERM at stop.
type NotifyFIFO struct {
	Path   string
	User   string // "" = the default script user
	Group  string
	Script *Notify
}

// GARP is the gratuitous ARP / unsolicited NA schedule of an instance
// (keepalived.conf(5) garp_master_*; RFC 5798 Section 6.4.2).
type GARP struct {
	MasterDelay         time.Duration // garp_master_delay, default 5s (0 = no second burst)
	MasterRepeat        int           // garp_master_repeat, default 5
	MasterRefresh       time.Duration // garp_master_refresh, default 0 (off)
	MasterRefreshRepeat int           // garp_master_refresh_repeat, default 1
	LowerPrioDelay      time.Duration // garp_lower_prio_delay: GARPs again this long after a lower priority advert; -1 = not set
	LowerPrioRepeat     int           // garp_lower_prio_repeat: GARPs sent (as master) on a lower priority advert; -1 = not set
}

// Script is a vrrp_script block.
type Script struct {
	Name     string
	Command  string   // the `script` parameter as written, quotes removed
	Args     []string // argv, split as keepalived splits it (quotes and escapes)
	Interval time.Duration
	Timeout  time.Duration // keepalived's default (0) means the interval: resolved here
	Weight   int           // -253..253
	Reverse  bool          // weight N reverse
	Rise     int
	Fall     int
	User     string // user USER [GROUP]; "" = the global script_user default
	Group    string
	InitFail bool
	Pos      Pos
}

// State is an instance's configured initial state.
type State int

const (
	StateBackup State = iota
	StateMaster
)

func (s State) String() string {
	if s == StateMaster {
		return "MASTER"
	}
	return "BACKUP"
}

// MarshalText makes State read as MASTER/BACKUP in JSON dumps.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// AuthType is the VRRPv2 authentication type (RFC 2338 Section 5.3.6).
type AuthType int

const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1 // simple text password
	AuthAH   AuthType = 2 // IPsec AH (keepalived's HMAC-MD5-96)
)

func (a AuthType) String() string {
	switch a {
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return "none"
}

// MarshalText makes AuthType read as PASS/AH in JSON dumps.
func (a AuthType) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Auth is the authentication block of a VRRPv2 instance.
type Auth struct {
	Type AuthType
	Pass string // auth_pass, already cut to 8 bytes; the wire key is it NUL-padded to 8
}

// Key returns the 8-byte key (password NUL-padded), as on the wire for PASS
// and as the HMAC key for AH.
func (a *Auth) Key() [8]byte {
	var k [8]byte
	copy(k[:], a.Pass)
	return k
}

// VIP is one virtual_ipaddress (or _excluded) line:
// ADDR[/LEN] [brd X] [dev IF] [scope S] [label L] [peer P] [no_track] ...
type VIP struct {
	Prefix    netip.Prefix // the address with its prefix length (/32 or /128 by default), not masked
	Broadcast netip.Addr   // brd; invalid = none
	Dev       string       // dev; "" = the instance's interface
	Scope     string       // scope name or number; "" = global
	Label     string
	Peer      netip.Prefix // peer (point-to-point address; Prefix is then a host prefix); invalid = none
	// PreferredLft is preferred_lft for an IPv6 VIP (keepalived ignores
	// it for IPv4); nil = keepalived's default (0 for a /128).
	PreferredLft *uint32 `json:",omitempty"`
	NoTrack      bool    // no_track: neither its interface going down nor its deletion moves the instance
	Pos          Pos
}

// Addr is the VIP's address.
func (v VIP) Addr() netip.Addr { return v.Prefix.Addr() }

func (v VIP) String() string {
	s := v.Prefix.String()
	if v.Dev != "" {
		s += " dev " + v.Dev
	}
	return s
}

// TrackScript is one track_script entry with its effective weight.
type TrackScript struct {
	Name    string
	Weight  int
	Reverse bool
}

// TrackInterface is one track_interface entry. Weight 0: the instance goes
// to FAULT when the interface is down.
type TrackInterface struct {
	Name    string
	Weight  int
	Reverse bool
}

// Notify is a notify script: argv as keepalived splits it, and the user and
// group to run it as ("" = the default script user).
type Notify struct {
	Args  []string
	User  string
	Group string
	Pos   Pos
}

func (n *Notify) String() string {
	if n == nil {
		return ""
	}
	return fmt.Sprint(n.Args)
}

// Instance is a vrrp_instance block after keepalived's checks.
type Instance struct {
	Name      string
	State     State  // initial state, after keepalived's rules (AH+MASTER -> BACKUP, ...)
	Interface string // "" only for unicast instances with unicast_src_ip
	VRID      int    // 1..255
	Priority  int    // 1..255; default 255 if state MASTER else 100
	AdvertInt time.Duration
	Version   int // 2 or 3
	Family    int // 4 or 6

	NoPreempt    bool
	PreemptDelay time.Duration
	Auth         *Auth // nil: no authentication

	VIPs         []VIP
	ExcludedVIPs []VIP

	TrackScripts     []TrackScript
	TrackInterfaces  []TrackInterface
	TrackProcesses   []TrackProcess `json:",omitempty"`
	TrackFiles       []TrackFile    `json:",omitempty"`
	DontTrackPrimary bool

	SMTPAlert    bool // instance smtp_alert, else global smtp_alert_vrrp, else smtp_alert
	NotifyMaster *Notify
	NotifyBackup *Notify
	NotifyFault  *Notify
	NotifyStop   *Notify
	Notify       *Notify // generic notify: 4 arguments appended at run time
	// NotifyDeleted (notify_deleted [SCRIPT]): an instance removed by a
	// reload is announced as DELETED (running NotifyDeletedScript)
	// rather than keepalived's default FAULT.
	// NotifyMasterRxLowerPri runs, as MASTER, on each advert of lower
	// priority (notify_master_rx_lower_pri).
	NotifyMasterRxLowerPri *Notify `json:",omitempty"`
	NotifyDeleted          bool    `json:",omitempty"`
	NotifyDeletedScript    *Notify `json:",omitempty"`

	SrcIP        netip.Addr   // unicast_src_ip or mcast_src_ip; invalid = the interface's
	Unicast      bool         // unicast peers configured
	UnicastPeers []netip.Addr // in file order
	McastDstIP   netip.Addr   // multicast destination (the global group unless mcast_dst_ip)
	UnicastTTL   int          // unicast_ttl; IPv4 default 255

	GARP                 GARP
	LowerPrioNoAdvert    bool // instance, else global setting; forced on by strict mode
	HigherPrioSendAdvert bool // instance, else global setting; forced off by strict mode
	// CheckUnicastSrc: drop unicast adverts whose source is not a
	// unicast_peer, and (keepalived checks it there) whose TTL is outside
	// that peer's min_ttl..max_ttl (check_unicast_src or the global
	// vrrp_check_unicast_src).
	CheckUnicastSrc bool
	// SkipCheckAdvAddr: in BACKUP, adverts from the current master are not
	// checked against our VIPs (skip_check_adv_addr, or
	// vrrp_skip_check_adv_addr read before the instance).
	SkipCheckAdvAddr bool `json:",omitempty"`
	// NotifyPriorityChanges: each change of the effective priority is
	// written to the notify FIFOs (MASTER_PRIORITY / BACKUP_PRIORITY):
	// notify_priority_changes of the instance, else of its sync group,
	// else vrrp_notify_priority_changes.
	NotifyPriorityChanges bool `json:",omitempty"`
	// PeerTTL holds the min_ttl/max_ttl of the unicast peers that set them
	// (the default is 0..255).
	PeerTTL map[netip.Addr]TTLRange `json:",omitempty"`
	// VMAC: use_vmac (vmac.go); nil = the VIPs on the interface itself.
	VMAC *VMAC `json:",omitempty"`
	// VirtualRoutes, VirtualRules: present while MASTER (routes.go).
	VirtualRoutes []Route `json:",omitempty"`
	VirtualRules  []Rule  `json:",omitempty"`
	// Sync group membership is in Config.SyncGroups (SyncGroup.Instances).

	Pos Pos
}

// TTLRange is a unicast_peer's min_ttl and max_ttl.
type TTLRange struct{ Min, Max int }

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Name         string
	Instances    []string // members that exist, in the order given
	NotifyMaster *Notify
	NotifyBackup *Notify
	NotifyFault  *Notify
	NotifyStop   *Notify
	Notify       *Notify
	SMTPAlert    *bool
	Pos          Pos
}

// ParamMatch is how a vrrp_track_process compares a process's arguments
// with the configured ones (keepalived's param_match).
type ParamMatch int

const (
	// ParamMatchNone: arguments are not compared.
	ParamMatchNone ParamMatch = iota
	// ParamMatchExact: the arguments are exactly the configured ones.
	ParamMatchExact
	// ParamMatchPartial: the configured arguments are the first ones.
	ParamMatchPartial
	// ParamMatchInitial: as partial, but the last configured argument
	// need only begin the process's corresponding argument.
	ParamMatchInitial
)

// TrackedProcess is a vrrp_track_process block.
type TrackedProcess struct {
	Name string
	// Process is the process name: compared with the process's comm
	// (15 characters at most) or, with FullCommand, with argv[0].
	Process     string
	Params      []string // further words of `process`; nil = none
	ParamMatch  ParamMatch
	FullCommand bool
	Weight      int // -254..254
	Reverse     bool
	// The process is "up" while Quorum <= running <= QuorumMax.
	Quorum    int
	QuorumMax int
	// ForkDelay delays the quorum gained by a fork, TerminateDelay the
	// quorum lost by an exit (delay sets both).
	ForkDelay      time.Duration
	TerminateDelay time.Duration
	Pos            Pos
}

// TrackProcess is one track_process entry of an instance.
type TrackProcess struct {
	Name    string
	Weight  int
	Reverse bool
}

// TrackFileInit is what track_file's init_file does at start.
type TrackFileInit int

const (
	// TrackFileNoInit: no init_file.
	TrackFileNoInit TrackFileInit = iota
	// TrackFileCreate: write the value if the file does not exist.
	TrackFileCreate
	// TrackFileOverwrite: init_file ... overwrite: write it at start
	// (not on reload) even if the file exists, if it is a regular file.
	TrackFileOverwrite
)

// TrackedFile is a track_file (or vrrp_track_file) block: the number in
// the file, times the weight, is added to the priority of the instances
// tracking it; with weight 0 a non-zero number means FAULT.
type TrackedFile struct {
	Name      string
	Path      string
	Weight    int // -254..254, default 1
	Reverse   bool
	Init      TrackFileInit
	InitValue int
	Pos       Pos
}

// TrackFile is one track_file entry of an instance.
type TrackFile struct {
	Name    string
	Weight  int
	Reverse bool
}

// MaxRTPriority is sched_get_priority_max(SCHED_RR) on Linux: the highest
// max_auto_priority.
const MaxRTPriority = 99
