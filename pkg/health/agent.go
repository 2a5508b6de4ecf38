package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// CodeChecked is haproxy's HCHK_STATUS_CHECKED: an agent reply that
// announces no health ("No status change"); it moves no health.
const CodeChecked Code = 3

func init() { codeNames[CodeChecked] = [2]string{"CHECKED", "No status change"} }

// agent is a server's agent check (configuration manual, section 5.2,
// "agent-check"): its own rise/fall counter (1/1 in haproxy 2.6), which
// must be up for the server to be up, and replies that set the weight,
// the administrative state and the health.
type agent struct {
	srv       *proxy.Server
	addr      string // host:port dialled; read and set under the monitor's lock
	addrSet   bool   // agent-addr configured or set at run time (SRV_F_AGENTADDR)
	send      []byte
	inter     time.Duration
	first     time.Duration // delay of the first run after the start
	connect   time.Duration
	read      time.Duration // 0: the whole check is bounded by inter
	st        State
	last      Result
	lastCheck time.Time
	running   bool
	disabled  bool // `disable agent`
}

// AgentSnapshot is what the stats show of a server's agent.
type AgentSnapshot struct {
	State      State
	Last       Result
	LastCheck  time.Time
	InProgress bool
	Enabled    bool
	Addr       string
	Port       int
	AddrSet    bool // agent-addr given in the configuration or by `set server`
}

const agentRise, agentFall = 1, 1

// newAgent builds the agent of a server line: agent-addr, else the check
// address, else the server's; agent-port, else the check port; agent-inter,
// else the check's inter; timeouts as the health checks derive them.
// agentInter is the agent's interval: agent-inter, else inter.
func agentInter(cfg *haproxycfg.Server) time.Duration {
	if cfg.Agent.Inter > 0 {
		return cfg.Agent.Inter
	}
	return interval(cfg.Inter)
}

func newAgent(px *haproxycfg.Proxy, s *proxy.Server) *agent {
	cfg := s.Config()
	host := cfg.Agent.Addr
	if host == "" {
		host = cfg.CheckAddr
	}
	if host == "" {
		host = cfg.Host
	}
	port := cfg.Agent.Port
	if port == 0 {
		port = cfg.CheckPort
	}
	inter := agentInter(cfg)
	a := &agent{srv: s, addr: net.JoinHostPort(host, strconv.Itoa(port)), addrSet: cfg.Agent.Addr != "", send: []byte(cfg.Agent.Send),
		inter: inter, connect: inter, st: NewState(agentRise, agentFall), last: Result{Code: CodeNone}}
	if px.Timeouts.Check > 0 {
		if px.Timeouts.Connect > 0 {
			a.connect = min(px.Timeouts.Connect, inter)
		}
		a.read = px.Timeouts.Check
	}
	return a
}

func (m *Monitor) agentLoop(ctx context.Context, a *agent) {
	defer m.wg.Done()
	t := time.NewTimer(a.first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		skip := a.disabled
		addr := a.addr
		if !skip {
			a.running = true
		}
		m.mu.Unlock()
		if !skip {
			start := m.opts.Now()
			r := a.probe(ctx, addr)
			r.res.Duration = max(m.opts.Now().Sub(start), 0)
			m.mu.Lock()
			a.running = false
			skip = a.disabled // disabled meanwhile: the reply is ignored
			m.mu.Unlock()
			if ctx.Err() != nil {
				return
			}
			if !skip {
				m.agentResult(a, r)
			}
		}
		t.Reset(m.jitter(a.inter))
	}
}

// agentReply is one agent check's outcome: the result for the stats and
// logs, and what the reply asks for.
type agentReply struct {
	res     Result
	keep    bool   // incomplete line: the status stays, only the text changes
	health  string // "up", "down", "stopped", "fail" or ""
	admin   string // "ready", "drain", "maint" or ""
	weight  string // "75%": the last weight word
	maxconn string // the value of the last "maxconn:" word
	err     string // the first word not understood
	comment string // after '#'
}

// probe connects, sends agent-send and reads one line.
func (a *agent) probe(ctx context.Context, addr string) agentReply {
	whole := time.Now().Add(a.inter)
	d := net.Dialer{Timeout: a.connect}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if isTimeout(err) {
			return agentReply{res: Result{Code: CodeL4TOUT}}
		}
		return agentReply{res: Result{Code: CodeL4CON, Info: connectErrText(err)}}
	}
	defer c.Close()
	deadline := whole
	if a.read > 0 {
		deadline = time.Now().Add(a.read)
	}
	_ = c.SetDeadline(deadline)
	if len(a.send) > 0 {
		if _, err := c.Write(a.send); err != nil {
			return agentReply{res: Result{Code: CodeSOCKERR, Info: errnoText(err)}}
		}
	}
	var buf []byte
	chunk := make([]byte, 1024)
	for len(buf) < 16384 {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if i := bytes.IndexAny(buf, "\r\n"); i >= 0 {
			return ParseAgentReply(string(buf[:i]))
		}
		if err != nil {
			if isTimeout(err) {
				return agentReply{res: Result{Code: CodeL7TOUT}}
			}
			return agentReply{keep: true, res: Result{Info: "Ignoring incomplete line from agent"}}
		}
	}
	return agentReply{keep: true, res: Result{Info: "Ignoring incomplete line from agent"}}
}

// ParseAgentReply reads an agent's line as haproxy 2.6's
// tcpcheck_agent_expect_reply does: words separated by spaces, tabs or
// commas, in any order, the last of each kind winning; a '#' starts a
// description. The result's code and text are set as far as the reply
// alone decides them; a weight's warning is added when it is applied.
func ParseAgentReply(line string) agentReply {
	var r agentReply
	r.res.Code = CodeChecked
	cmd := line
	for len(cmd) > 0 {
		if c := cmd[0]; c == ' ' || c == '\t' || c == ',' {
			cmd = cmd[1:]
			continue
		}
		if cmd[0] == '#' {
			r.comment = strings.TrimLeft(cmd[1:], " \t")
			break
		}
		end := 1
		for end < len(cmd) && cmd[end] != ' ' && cmd[end] != '\t' && cmd[end] != ',' {
			end++
		}
		w := cmd[:end]
		cmd = cmd[end:]
		if len(cmd) > 0 {
			cmd = cmd[1:] // the separator that ended the word
		}
		switch lw := strings.ToLower(w); {
		case lw == "up":
			r.health, r.res.Code = w, CodeL7OK
		case lw == "down" || lw == "stopped" || lw == "fail":
			r.health, r.res.Code = w, CodeL7STS
		case lw == "ready" || lw == "drain" || lw == "maint":
			r.admin = lw
		case w[0] >= '0' && w[0] <= '9' && strings.Contains(w, "%"):
			r.weight = w
		case strings.HasPrefix(lw, "maxconn:"):
			r.maxconn = w[len("maxconn:"):]
		default:
			if r.err == "" {
				r.err = w
			}
		}
	}
	return r
}

// describe sets the result's text once the warnings of applying the
// reply are known (haproxy's order: the health with its comment, or the
// first error or warning in parentheses; else the error; else the
// warning).
func (r *agentReply) describe(wrn string) {
	switch {
	case r.health != "":
		msg := r.comment
		if msg == "" || r.res.Code == CodeL7OK {
			if r.err != "" {
				msg = r.err
			} else if wrn != "" {
				msg = wrn
			}
		}
		if msg != "" {
			msg = " (" + msg + ")"
		}
		r.res.Info = "via agent : " + r.health + msg
	case r.err != "":
		r.res.Info = "agent reports an error : " + r.err
	case wrn != "":
		r.res.Info = "agent warns : " + wrn
	}
}

// agentWeight applies a weight word as haproxy's
// server_parse_weight_change_request: "N%" of the initial weight (at most
// 256), or an error text.
func agentWeight(s *proxy.Server, w string) string {
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(w[:i])
	if w[i:] != "%" {
		if n > 256 {
			return "Absolute weight can only be between 0 and 256 inclusive."
		}
		return "Trailing garbage in weight string"
	}
	n = min(n, 25600)
	n = min(s.ConfigWeight()*n/100, 256)
	if err := s.SetWeight(n); err != nil {
		return strings.TrimSuffix(err.Error(), "\n")
	}
	return ""
}

// agentMaxConn applies "maxconn:N" as server_parse_maxconn_change_request.
func agentMaxConn(s *proxy.Server, v string) string {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 || (i == 1 && (v[0] == '-' || v[0] == '+')) {
		return "maxconn string empty or preceded by garbage"
	}
	if i != len(v) {
		return "Trailing garbage in maxconn string"
	}
	n, _ := strconv.Atoi(v)
	s.SetMaxConn(n)
	return ""
}

// agentResult applies one agent check: the admin state first, then the
// weight and maxconn, then the health and the server's state, logging as
// haproxy does.
func (m *Monitor) agentResult(a *agent, r agentReply) {
	s := a.srv
	if r.admin != "" {
		switch r.admin {
		case "drain":
			m.SetAdmin(s, proxy.AdminDrain)
		case "maint":
			m.SetAdmin(s, proxy.AdminMaint)
		default:
			m.SetAdmin(s, proxy.AdminReady)
		}
	}
	wrn := ""
	if r.weight != "" {
		if wrn = agentWeight(s, r.weight); wrn == "" {
			m.WeightSet(s)
		}
	}
	if r.maxconn != "" {
		if w := agentMaxConn(s, r.maxconn); wrn == "" {
			wrn = w
		}
	}
	if !r.keep && r.res.Code >= CodeChecked && r.res.Code != CodeL4CON && r.res.Code != CodeL4TOUT && r.res.Code != CodeL7TOUT && r.res.Code != CodeSOCKERR {
		r.describe(wrn)
	}
	now := m.opts.Now()
	m.mu.Lock()
	prev := a.last.Code
	res := r.res
	if r.keep {
		res.Code = prev
	}
	switch {
	case r.health == "":
	case strings.EqualFold(r.health, "up"):
		a.st.Health = a.st.Rise + a.st.Fall - 1
	default:
		a.st.Health = 0
	}
	a.last, a.lastCheck = res, now
	st := a.st
	m.mu.Unlock()
	px := s.Backend().Proxy()
	// A reply without health (CHECKED) is neutral: haproxy logs nothing.
	if px.Options.LogHealthChecks && res.Code != prev && res.Code != CodeChecked {
		kind, verdict := "", "failed"
		if s.Backup() {
			kind = "backup "
		}
		if res.Code.OK() {
			verdict = "succeeded"
		}
		m.log(px, levelNotice, fmt.Sprintf("Agent check for %sserver %s/%s %s, reason: %s, check duration: %dms, status: %s.",
			kind, px.Name, s.Name(), verdict, res.Reason(), res.Duration.Milliseconds(), st.Status(s.UserWeight() == 0)))
	}
	why := fmt.Sprintf(", reason: %s, check duration: %dms", res.Reason(), res.Duration.Milliseconds())
	if px.Options.LogHealthChecks {
		why = ""
	}
	switch {
	case res.Code == CodeL7STS && st.Health == 0:
		if s.Up() && s.AdminState() != proxy.AdminMaint {
			m.apply(s, false, why)
		}
	case res.Code.OK() && st.Up():
		if !s.Up() && s.AdminState() != proxy.AdminMaint && m.checkUp(s) {
			m.apply(s, true, why)
		}
	}
}

// checkUp reports whether the server's health check (if any) lets it be
// up; agentUp the same for its agent.
func (m *Monitor) checkUp(s *proxy.Server) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.checks[s]
	return c == nil || c.st.Up()
}

func (m *Monitor) hasAgent(s *proxy.Server) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.agents[s] != nil
}

func (m *Monitor) agentUp(s *proxy.Server) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[s]
	return a == nil || a.disabled || a.st.Up()
}

// Agent returns the agent state of a server; false when it has none.
func (m *Monitor) Agent(s *proxy.Server) (AgentSnapshot, bool) {
	if m == nil {
		return AgentSnapshot{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[s]
	if a == nil {
		return AgentSnapshot{}, false
	}
	host, port, _ := net.SplitHostPort(a.addr)
	p, _ := strconv.Atoi(port)
	return AgentSnapshot{State: a.st, Last: a.last, LastCheck: a.lastCheck, InProgress: a.running, Enabled: !a.disabled,
		Addr: host, Port: p, AddrSet: a.addrSet}, true
}

// ErrNoAgent means the server has no agent check configured.
var ErrNoAgent = errors.New("health: no agent check on this server")

// ErrNoCheck means the server has no health check configured.
var ErrNoCheck = errors.New("health: no health check on this server")

// SetAgentEnabled is `enable agent` / `disable agent`: a disabled agent
// runs no more checks, its reply in flight is ignored, and it no longer
// holds the server down.
func (m *Monitor) SetAgentEnabled(s *proxy.Server, on bool) error {
	if m == nil {
		return ErrNoAgent
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[s]
	if a == nil {
		return ErrNoAgent
	}
	a.disabled = !on
	return nil
}

// SetCheckEnabled is `enable health` / `disable health`: a disabled
// health check runs no more and the stats show the server unchecked.
func (m *Monitor) SetCheckEnabled(s *proxy.Server, on bool) error {
	if m == nil {
		return ErrNoCheck
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.checks[s]
	if c == nil {
		return ErrNoCheck
	}
	c.disabled = !on
	return nil
}

// AgentEnabled reports whether the server's agent runs.
func (m *Monitor) AgentEnabled(s *proxy.Server) bool {
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[s]
	return a != nil && !a.disabled
}

// ForceAgent is `set server B/S agent up|down`: the agent's health goes
// to the top or to 0 and the server up or down at once, "changed from
// CLI", as haproxy's srv_set_running and srv_set_stopped (which look at
// no other check).
func (m *Monitor) ForceAgent(s *proxy.Server, up bool) {
	m.mu.Lock()
	if a := m.agents[s]; a != nil {
		if up {
			a.st.Health = a.st.Rise + a.st.Fall - 1
		} else {
			a.st.Health = 0
		}
	}
	m.mu.Unlock()
	if s.Up() == up || s.AdminState() == proxy.AdminMaint {
		return
	}
	m.apply(s, up, ", changed from CLI")
}

// SetAgentAddr is `set server B/S agent-addr ADDR [port PORT]` and
// `set server B/S agent-port PORT`: the next agent checks go to the new
// address or port (an empty host or a negative port keeps the current
// one), as haproxy's srv_update_agent_addr_port. A check in flight ends
// on the old address. False when the server has no agent.
func (m *Monitor) SetAgentAddr(s *proxy.Server, host string, port int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[s]
	if a == nil {
		return false
	}
	oh, op, _ := net.SplitHostPort(a.addr)
	if host != "" {
		oh = host
		a.addrSet = true
	}
	if port >= 0 {
		op = strconv.Itoa(port)
	}
	a.addr = net.JoinHostPort(oh, op)
	return true
}

// SetAgentSend is `set server B/S agent-send STRING`.
func (m *Monitor) SetAgentSend(s *proxy.Server, send string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.agents[s]; a != nil {
		a.send = []byte(send)
	}
}
