package stats

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
)

// The page's style sheet: the class names and colours of haproxy 2.6's
// stats page, so that operators find the colours they know.
const pageStyle = `body { font-family: arial, helvetica, sans-serif; font-size: 12px; color: black; background: white; }
th, td { font-size: 10px; }
h1 { font-size: x-large; margin-bottom: 0.5em; }
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin: 0; }
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin: 0; }
li { margin-top: 0.25em; margin-right: 2em; }
.hr { margin-top: 0.25em; border-color: black; border-bottom-style: solid; }
.titre { background: #20D0D0; color: #000000; font-weight: bold; text-align: center; }
.total { background: #20D0D0; color: #ffff80; }
.frontend { background: #e8e8d0; }
.socket { background: #d0d0d0; }
.backend { background: #e8e8d0; }
.active_down { background: #ff9090; }
.active_going_up { background: #ffd020; }
.active_going_down { background: #ffffa0; }
.active_up { background: #c0ffc0; }
.active_nolb { background: #20a0ff; }
.active_draining { background: #20a0FF; }
.active_no_check { background: #e0e0e0; }
.backup_down { background: #ff9090; }
.backup_going_up { background: #ff80ff; }
.backup_going_down { background: #c060ff; }
.backup_up { background: #b0d0ff; }
.backup_nolb { background: #90b0e0; }
.backup_draining { background: #cc9900; }
.backup_no_check { background: #e0e0e0; }
.maintain { background: #c07820; }
.rls { letter-spacing: 0.2em; margin-right: 1px; }
a.px:link, a.px:visited { color: #ffff40; text-decoration: none; }
a.px:hover { color: #ffffff; text-decoration: none; }
a.lfsb:link, a.lfsb:visited { color: #000000; text-decoration: none; }
a.lfsb:hover { color: #505050; text-decoration: none; }
table.tbl { border-collapse: collapse; border-style: none; }
table.tbl td { text-align: right; border: 1px solid gray; padding: 2px 3px; white-space: nowrap; }
table.tbl td.ac { text-align: center; }
table.tbl th { border: 1px solid gray; }
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap; }
table.tbl th.empty { border-style: none; empty-cells: hide; background: white; }
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black; }
table.lgd td { border: 1px solid gray; padding: 2px; }
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap; }
u { text-decoration: none; border-bottom: 1px dotted black; }
div.tips { display: block; visibility: hidden; z-index: 2147483647; position: absolute; padding: 2px 4px 3px;
 background: #f0f060; color: #000000; border: 1px solid #7040c0; white-space: nowrap; font-size: 11px; border-radius: 3px; }
u:hover div.tips { visibility: visible; }
`

// PageOptions are the request's display options (`;up`, `;norefresh`).
type PageOptions struct {
	URI       string // the stats URI, for links
	HideDown  bool
	NoRefresh bool
	Refresh   time.Duration // `stats refresh`
	HideMaint bool          // `;no-maint`: servers in maintenance are not listed
	Scope     string        // only the proxies whose name holds it
	Status    string        // the outcome of an admin POST (`;st=`), shown on top
	Admin     bool          // `stats admin`: checkboxes and an action form per backend
}

// capability is haproxy's "cap:" legend of a proxy.
func capability(p *haproxycfg.Proxy) string {
	switch p.Kind {
	case haproxycfg.KindFrontend:
		return "frontend"
	case haproxycfg.KindBackend:
		return "backend"
	}
	return "proxy"
}

// addressLegend is "IPv4: 127.0.0.1:80" or "IPv6: [::1]:80".
func addressLegend(s *haproxycfg.Server) string {
	fam := "IPv4"
	if strings.Contains(s.Host, ":") {
		fam = "IPv6"
	}
	return fam + ": " + html.EscapeString(s.Address(0))
}

// humanTime is haproxy's short duration: "5s", "1m5s", "2h3m", "1d5h".
func humanTime(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 0 {
		s = 0
	}
	switch {
	case s >= 86400:
		return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
	case s >= 3600:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// u2h writes a number with haproxy's digit grouping: the digit before each
// thousands boundary is spaced out ("1<span class="rls">0</span>000").
func u2h(v int64) string {
	s := itoa(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(s); i++ {
		rest := len(s) - i - 1
		if rest > 0 && rest%3 == 0 {
			b.WriteString(`<span class="rls">` + s[i:i+1] + `</span>`)
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// rowClass is the colour class of a server row.
func rowClass(r *Row) string {
	prefix := "active_"
	if r.Server.Backup() {
		prefix = "backup_"
	}
	switch r.Stats.Status {
	case proxy.StatusMaint:
		return "maintain"
	case proxy.StatusDrain:
		return prefix + "draining"
	case proxy.StatusNolb:
		if r.Check != nil && r.Check.State.Health < r.Check.State.Rise+r.Check.State.Fall-1 {
			return prefix + "going_down"
		}
		return prefix + "nolb"
	}
	if r.Check == nil {
		if r.Stats.Status == proxy.StatusDown {
			return prefix + "down"
		}
		return prefix + "no_check"
	}
	st := r.Check.State
	switch {
	case st.Up() && st.Steady():
		return prefix + "up"
	case st.Up():
		return prefix + "going_down"
	case st.Health == 0:
		return "active_down"
	}
	return prefix + "going_up"
}

// WritePage renders the HTML stats page of haproxy 2.6's layout.
func (s *Source) WritePage(b *strings.Builder, px *haproxycfg.Proxy, o PageOptions) {
	now := s.now()
	esc := html.EscapeString
	title := "HAProxy"
	b.WriteString("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n")
	b.WriteString("<html><head><title>Statistics Report for " + title + "</title>\n<link rel=\"icon\" href=\"data:,\">\n")
	b.WriteString("<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n<style type=\"text/css\"><!--\n")
	b.WriteString(pageStyle)
	b.WriteString("-->\n</style></head>\n<body>")
	if px.Stats.HideVersion {
		b.WriteString("<h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">HAProxy</a></h1>\n")
	} else {
		fmt.Fprintf(b, "<h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">HAProxy version %s, released %s</a></h1>\n", Version, ReleaseDate)
	}
	fmt.Fprintf(b, "<h2>Statistics Report for pid %d</h2>\n<hr width=\"100%%\" class=\"hr\">\n", s.PID)
	s.writeGeneral(b, now, o)
	if o.Status != "" {
		link := o.URI
		if o.HideDown {
			link += ";up"
		}
		if o.NoRefresh {
			link += ";norefresh"
		}
		if o.Scope != "" {
			link += "?scope=" + o.Scope
		}
		b.WriteString(statusMessage(o.Status, esc(link)))
	}
	for _, p := range s.Config.Proxies {
		if o.Scope != "" && !strings.Contains(strings.ToLower(p.Name), strings.ToLower(o.Scope)) {
			continue
		}
		var rows []*Row
		for _, r := range s.Rows() {
			if r.Proxy == p {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		n := esc(p.Name)
		link := fmt.Sprintf("<a class=px href=\"#%s\">%s</a>", n, n)
		if px.Stats.ShowLegends {
			link = "<u>" + link + fmt.Sprintf("<div class=tips>cap: %s, mode: %s, id: %d</div></u>", capability(p), p.Mode, p.ID)
		}
		form := o.Admin && p.Kind != haproxycfg.KindFrontend && len(p.Servers) > 0
		if form {
			b.WriteString("<form method=\"post\">")
		}
		fmt.Fprintf(b, "<table class=\"tbl\" width=\"100%%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%%\"><a name=\"%s\"></a>%s</th><th class=\"empty\" width=\"90%%\"></th></tr>\n</table>\n", n, link)
		b.WriteString("<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\">")
		switch {
		case form:
			fmt.Fprintf(b, "<th rowspan=2 width=1><input type=\"checkbox\" onclick=\"for(c in document.getElementsByClassName('%s-checkbox')) document.getElementsByClassName('%s-checkbox').item(c).checked = this.checked\"></th>", n, n)
		case o.Admin:
			b.WriteString("<th rowspan=2></th>")
		}
		b.WriteString("<th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n")
		b.WriteString("<tr class=\"titre\">")
		for _, h := range []string{"Cur", "Max", "Limit", "Cur", "Max", "Limit", "Cur", "Max", "Limit", "Total", "LbTot", "Last", "In", "Out", "Req", "Resp", "Req", "Conn", "Resp", "Retr", "Redis", "Status", "LastChk", "Wght", "Act", "Bck", "Chk", "Dwn", "Dwntme", "Thrtle"} {
			b.WriteString("<th>" + h + "</th>")
		}
		b.WriteString("\n</tr>")
		for _, r := range rows {
			if o.HideDown && r.Kind == KindServer && r.Stats.Status != proxy.StatusUp && r.Stats.Status != proxy.StatusDrain {
				continue
			}
			if o.HideMaint && r.Kind == KindServer && r.Server.AdminState() == proxy.AdminMaint {
				continue
			}
			s.writeRow(b, r, now, px.Stats.ShowLegends, o.Admin)
		}
		b.WriteString("</table>")
		if form {
			b.WriteString(adminSelect(p.ID))
		}
		b.WriteString("<p>\n")
	}
	b.WriteString("</body></html>\n")
}

func (s *Source) writeGeneral(b *strings.Builder, now time.Time, o PageOptions) {
	up := now.Sub(s.Start)
	d := int64(up / time.Second)
	b.WriteString("<h3>&gt; General process information</h3>\n<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n")
	fmt.Fprintf(b, "<p><b>pid = </b> %d (process #1, nbproc = 1, nbthread = %d)<br>\n", s.PID, max(s.Config.Global.NbThread, 1))
	fmt.Fprintf(b, "<b>uptime = </b> %dd %dh%02dm%02ds<br>\n", d/86400, d%86400/3600, d%3600/60, d%60)
	fmt.Fprintf(b, "<b>maxconn = </b> %d<br>\n", s.Engine.MaxConn())
	fmt.Fprintf(b, "current conns = %d<br>\n</td><td align=\"center\" nowrap>\n", s.Engine.ActiveConns())
	b.WriteString("<table class=\"lgd\"><tr>\n")
	b.WriteString("<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td><td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>\n")
	b.WriteString("<td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td><td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>\n")
	b.WriteString("<td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td><td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>\n")
	b.WriteString("<td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td><td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>\n")
	b.WriteString("<td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>\n")
	b.WriteString("<td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>\n")
	b.WriteString("Note: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td>")
	uri := html.EscapeString(o.URI)
	b.WriteString("<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\">")
	if o.HideDown {
		fmt.Fprintf(b, "<li><a href=\"%s\">Show all servers</a><br>\n", uri)
	} else {
		fmt.Fprintf(b, "<li><a href=\"%s;up\">Hide 'DOWN' servers</a><br>\n", uri)
	}
	csv := uri + ";csv"
	if o.Refresh > 0 {
		if o.NoRefresh {
			fmt.Fprintf(b, "<li><a href=\"%s\">Enable refresh</a><br>\n", uri)
		} else {
			fmt.Fprintf(b, "<li><a href=\"%s;norefresh\">Disable refresh</a><br>\n", uri)
		}
		csv += ";norefresh"
	}
	fmt.Fprintf(b, "<li><a href=\"%s\">Refresh now</a><br>\n<li><a href=\"%s\">CSV export</a><br>\n</ul></td></tr></table>\n", uri, csv)
}

// cell helpers
func td(v string) string   { return "<td>" + v + "</td>" }
func tdac(v string) string { return "<td class=ac>" + v + "</td>" }
func tips(v, tip string) string {
	return "<u>" + v + "<div class=tips>" + tip + "</div></u>"
}

func (s *Source) writeRow(b *strings.Builder, r *Row, now time.Time, legends, admin bool) {
	// With `stats admin`, a first column: a server's checkbox, else empty.
	lead := ""
	if admin {
		lead = "<td></td>"
		if r.Kind == KindServer {
			lead = fmt.Sprintf("<td><input class='%s-checkbox' type=\"checkbox\" name=\"s\" value=\"%s\"></td>",
				html.EscapeString(r.Proxy.Name), html.EscapeString(r.Server.Name()))
		}
	}
	st := r.Stats
	n := html.EscapeString(r.Proxy.Name)
	name := func(label string) string {
		id := n + "/" + label
		anchor := fmt.Sprintf("<a name=\"%s\"></a>", id)
		link := fmt.Sprintf("<a class=lfsb href=\"#%s\">%s</a>", id, html.EscapeString(label))
		// With `stats show-legends`, haproxy adds tooltips: a server's
		// address and id, a backend's balancing algorithm.
		switch {
		case legends && r.Kind == KindServer:
			return fmt.Sprintf("<td class=ac>%s<u>%s<div class=tips>%s, id: %d</div></u></td>", anchor, link, addressLegend(r.Server.Config()), r.Server.ID())
		case legends && r.Kind == KindBackend:
			return fmt.Sprintf("<td class=ac><u>%s%s<div class=tips>balancing: %s</div></u></td>", anchor, link, html.EscapeString(r.Backend.Policy()))
		}
		return "<td class=ac>" + anchor + link + "</td>"
	}
	last := "?"
	if !st.LastSession.IsZero() {
		last = humanTime(now.Sub(st.LastSession))
	}
	lastchg := st.LastChange
	if lastchg.IsZero() {
		lastchg = s.Start
	}
	switch r.Kind {
	case KindFrontend:
		b.WriteString("<tr class=\"frontend\">" + lead + name("Frontend") + "<td colspan=3></td>")
		b.WriteString(td(u2h(st.SessionRate)) + td(u2h(st.MaxSessionRate)) + td("-"))
		b.WriteString(td(u2h(st.CurSessions)) + td(u2h(st.MaxSessions)) + td(u2h(int64(r.Frontend.MaxConn()))))
		b.WriteString(td(tips(u2h(st.TotalSessions), fmt.Sprintf("Cum. connections: %d, Cum. sessions: %d", st.Conns, st.TotalSessions)+httpTips(r))) + td("") + td(""))
		b.WriteString(td(u2h(st.BytesIn)) + td(u2h(st.BytesOut)))
		b.WriteString(td(u2h(st.DeniedReq)) + td(u2h(st.DeniedResp)) + td(u2h(st.FailedReq)) + td("") + td("") + td("") + td(""))
		b.WriteString(tdac(r.Fields["status"]) + "<td class=ac colspan=8></td></tr>")
	case KindServer:
		b.WriteString("<tr class=\"" + rowClass(r) + "\">" + lead + name(r.Server.Name()))
		slim := "-"
		if st.SessionLimit > 0 {
			slim = u2h(st.SessionLimit)
		}
		b.WriteString(td(u2h(st.QueueCur)) + td(u2h(st.QueueMax)) + td("-"))
		b.WriteString(td(u2h(st.SessionRate)) + td(u2h(st.MaxSessionRate)) + td(""))
		b.WriteString(td(u2h(st.CurSessions)) + td(u2h(st.MaxSessions)) + td(slim))
		b.WriteString(td(tips(u2h(st.TotalSessions), fmt.Sprintf("Cum. sessions: %d", st.TotalSessions)+httpTips(r))) + td(u2h(st.TotalSessions)) + td(last))
		b.WriteString(td(u2h(st.BytesIn)) + td(u2h(st.BytesOut)))
		b.WriteString(td("") + td(u2h(st.DeniedResp)) + td("") + td(u2h(st.ConnErrors)))
		b.WriteString(td(tips(u2h(st.FailedResp), fmt.Sprintf("Connection resets during transfers: %d client, %d server", st.ClientAborts, st.ServerAborts))))
		b.WriteString(td(u2h(st.Retries)) + td(u2h(st.Redispatches)))
		status := r.Fields["status"]
		lastChk := ""
		if r.Check != nil && r.Check.Last.Code != health.CodeNone {
			c := r.Check.Last
			desc := c.Code.Desc()
			if c.Code.HasData() {
				desc += fmt.Sprintf(", code: %d", c.HTTP)
			}
			if c.Info != "" {
				desc += ": " + c.Info
			}
			code := c.Code.String()
			if c.Code.HasData() {
				code += "/" + itoa(c.HTTP) // haproxy's "L7OK/200"
			}
			ms := strconv.FormatInt(c.Duration.Milliseconds(), 10)
			if c.Duration < 0 {
				ms = "18446744073709551615" // HANA: haproxy's -1 printed unsigned
			}
			lastChk = tips(fmt.Sprintf(" %s in %sms", code, ms), html.EscapeString(desc))
		}
		b.WriteString(tdac(humanTime(now.Sub(lastchg))+" "+html.EscapeString(status)) + tdac(lastChk))
		act, bck := "Y", "-"
		if r.Server.Backup() {
			act, bck = "-", "Y"
		}
		b.WriteString(tdac(fmt.Sprintf("%s/%s", r.Fields["weight"], r.Fields["uweight"])) + tdac(act) + tdac(bck))
		if r.Check != nil {
			b.WriteString(td(tips(itoa(r.Check.Failures), "Failed Health Checks")) + td(itoa(r.Check.Downs)) + td(humanTime(r.Check.Downtime)))
		} else {
			b.WriteString(td("") + td("") + td(""))
		}
		b.WriteString(tdac("-") + "</tr>\n")
	case KindBackend:
		b.WriteString("<tr class=\"backend\">" + lead + name("Backend"))
		b.WriteString(td(u2h(st.QueueCur)) + td(u2h(st.QueueMax)) + td(""))
		b.WriteString(td(u2h(st.SessionRate)) + td(u2h(st.MaxSessionRate)) + td(""))
		b.WriteString(td(u2h(st.CurSessions)) + td(u2h(st.MaxSessions)) + td(u2h(int64(r.Backend.FullConn()))))
		b.WriteString(td(tips(u2h(st.TotalSessions), fmt.Sprintf("Cum. sessions: %d", st.TotalSessions)+httpTips(r))) + td(u2h(st.TotalSessions)) + td(last))
		b.WriteString(td(u2h(st.BytesIn)) + td(u2h(st.BytesOut)))
		b.WriteString(td(u2h(st.DeniedReq)) + td(u2h(st.DeniedResp)) + td("") + td(u2h(st.ConnErrors)))
		b.WriteString(td(tips(u2h(st.FailedResp), fmt.Sprintf("Connection resets during transfers: %d client, %d server", st.ClientAborts, st.ServerAborts))))
		b.WriteString(td(u2h(st.Retries)) + td(u2h(st.Redispatches)))
		b.WriteString(tdac(humanTime(now.Sub(lastchg))+" "+r.Fields["status"]) + tdac("&nbsp;"))
		b.WriteString(tdac(r.Fields["weight"]+"/"+r.Fields["uweight"]) + tdac(r.Fields["act"]) + tdac(r.Fields["bck"]) + tdac("&nbsp;"))
		dt, _ := time.ParseDuration(r.Fields["downtime"] + "s")
		b.WriteString(td(r.Fields["chkdown"]) + td(humanTime(dt)) + td("") + "</tr>")
	}
}

// httpTips is the HTTP part of a row's "Total" sessions tooltip, as
// haproxy's page details it for mode http: requests, responses by class,
// and on a frontend the intercepted requests; on a backend or server the
// new and reused server connections first.
func httpTips(r *Row) string {
	if r.Proxy.Mode != haproxycfg.ModeHTTP {
		return ""
	}
	st := r.Stats
	var b strings.Builder
	if r.Kind != KindFrontend {
		fmt.Fprintf(&b, ", New connections: %d, Reused connections: %d", st.Connects, st.Reuses)
	}
	fmt.Fprintf(&b, ", Cum. HTTP requests: %d, HTTP 1xx responses: %d, HTTP 2xx responses: %d, Compressed 2xx: %d, HTTP 3xx responses: %d, HTTP 4xx responses: %d, HTTP 5xx responses: %d, other responses: %d",
		st.Requests, st.Responses[1], st.Responses[2], st.CompResponses, st.Responses[3], st.Responses[4], st.Responses[5], st.Responses[0])
	if r.Kind == KindFrontend {
		fmt.Fprintf(&b, ", Intercepted requests: %d", st.Intercepted)
	}
	fmt.Fprintf(&b, ", Failed hdr rewrites: %d, Internal errors: %d", st.FailedRewrites, st.InternalErrors)
	return b.String()
}
