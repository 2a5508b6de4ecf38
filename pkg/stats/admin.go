package stats

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"hapair/pkg/haproxycfg"
)

// The stats page's request options and its admin form (`stats admin`), as
// haproxy 2.6's http_handle_stats and stats_process_http_post read them.

// Status codes of an admin POST, carried by the redirect as ";st=CODE".
const (
	stDeny = "DENY" // POST without admin level
	stDone = "DONE" // every server named was changed
	stErrP = "ERRP" // unknown action or backend, or no server changed
	stExcd = "EXCD" // the form did not fit haproxy's buffer
	stNone = "NONE" // no server named
	stPart = "PART" // some servers unknown or unchanged
	stUnkn = "UNKN"
)

// scopeMaxLen is STAT_SCOPE_TXT_MAXLEN: a longer scope is cut.
const scopeMaxLen = 20

// maxAdminForm is what haproxy's buffer holds of a posted form (tune.bufsize
// less tune.maxrewrite); beyond, the answer is EXCD.
const maxAdminForm = 16384 - 1024

// AdminFunc applies a stats-page action to the named servers of a backend
// and counts, as haproxy does, the servers named and those changed.
type AdminFunc func(backend string, servers []string, action string) (altered, total int)

// adminActions are the actions of the page's form, and the old ones.
var adminActions = map[string]bool{
	"ready": true, "drain": true, "maint": true, "shutdown": true, "dhlth": true, "ehlth": true,
	"hrunn": true, "hnolb": true, "hdown": true, "dagent": true, "eagent": true, "arunn": true,
	"adown": true, "disable": true, "enable": true, "stop": true, "start": true,
}

// pageRequest is what a stats URI asks for, found anywhere after the
// stats URI as haproxy searches it (";up", ";csv", "scope=NAME"...).
type pageRequest struct {
	csv, up, noMaint, noRefresh bool
	// format is "typed", "json" or "json-schema" for those exports
	// (";typed", ";json", ";json-schema"), "" for the page or ";csv".
	format string
	st     string // ";st=" code shown in the page
	scope  string // proxies whose name contains it (any case)
}

func parsePageRequest(rest string, refresh bool) pageRequest {
	var p pageRequest
	p.csv = strings.Contains(rest, ";csv")
	// As haproxy looks for them: ";typed" wins over ";csv", ";json" over
	// both, ";json-schema" over all.
	for _, f := range []string{"typed", "json", "json-schema"} {
		if strings.Contains(rest, ";"+f) {
			p.format = f
		}
	}
	p.up = strings.Contains(rest, ";up")
	p.noMaint = strings.Contains(rest, ";no-maint")
	p.noRefresh = refresh && strings.Contains(rest, ";norefresh")
	if i := strings.Index(rest, ";st="); i >= 0 && len(rest)-i >= 8 {
		p.st = stUnkn
		for _, c := range []string{stDeny, stDone, stErrP, stExcd, stNone, stPart, stUnkn, "IVAL"} {
			if strings.HasPrefix(rest[i+4:], c) {
				p.st = c
				break
			}
		}
	}
	if i := strings.Index(rest, "scope="); i >= 0 && len(rest)-i >= 8 {
		v := rest[i+len("scope="):]
		if j := strings.IndexAny(v, ";& "); j >= 0 {
			v = v[:j]
		}
		if len(v) > scopeMaxLen {
			v = v[:scopeMaxLen]
		}
		if validScope(v) {
			p.scope = v
		}
	}
	return p
}

// validScope is haproxy's invalid_char check: a scope with another byte
// than letters, digits, '-', '_', '.' and ':' is ignored.
func validScope(v string) bool {
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0) {
			return false
		}
	}
	return true
}

// inScope reports whether a proxy is shown for the request's scope.
func (p pageRequest) inScope(name string) bool {
	return p.scope == "" || strings.Contains(strings.ToLower(name), strings.ToLower(p.scope))
}

// suffix is what the redirect and the page's links keep of the request.
func (p pageRequest) suffix() string {
	s := ""
	if p.up {
		s += ";up"
	}
	if p.noRefresh {
		s += ";norefresh"
	}
	if p.scope != "" {
		s += "?scope=" + p.scope
	}
	return s
}

// adminPost applies a posted form and answers haproxy's 303 to the page
// with the outcome, so that reloading the page does not post again.
func adminPost(w http.ResponseWriter, r *http.Request, px *haproxycfg.Proxy, src *Source, uri string, pr pageRequest) {
	code := stDeny
	if px.Stats.Admin {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminForm+1))
		switch {
		case err != nil:
			code = stErrP
		case len(body) > maxAdminForm:
			code = stExcd
		default:
			code = src.applyAdminForm(string(body))
		}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", "0")
	h.Set("Location", uri+";st="+code+pr.suffix())
	w.WriteHeader(http.StatusSeeOther)
}

// applyAdminForm reads "s=SRV&...&action=ACT&b=BACKEND": the last backend
// and action given win (haproxy reads the form from its end), every s=
// names a server of that backend.
func (src *Source) applyAdminForm(form string) string {
	var backend, action string
	var servers []string
	params := strings.Split(form, "&")
	for i := len(params) - 1; i >= 0; i-- {
		k, v, _ := strings.Cut(params[i], "=")
		var err1, err2 error
		k, err1 = url.QueryUnescape(k)
		v, err2 = url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			break
		}
		switch {
		case k == "b" && backend == "":
			name, ok := src.backendByName(v)
			if !ok {
				return stErrP
			}
			backend = name
		case k == "action" && action == "":
			if !adminActions[v] {
				return stErrP
			}
			action = v
		case k == "s":
			servers = append(servers, v)
		}
	}
	if backend == "" || action == "" || len(servers) == 0 || src.Admin == nil {
		return stNone
	}
	// servers are in haproxy's order: from the end of the form.
	altered, total := src.Admin(backend, servers, action)
	switch {
	case total == 0:
		return stNone
	case altered == 0:
		return stErrP
	case altered == total:
		return stDone
	}
	return stPart
}

// backendByName finds a backend by name or "#ID", as proxy_be_by_name.
func (src *Source) backendByName(v string) (string, bool) {
	id := -1
	if n, ok := strings.CutPrefix(v, "#"); ok {
		i, err := strconv.Atoi(n)
		if err != nil {
			return "", false
		}
		id = i
	}
	found := ""
	for _, p := range src.Config.Proxies {
		if p.Kind != haproxycfg.KindBackend && p.Kind != haproxycfg.KindListen {
			continue
		}
		if id >= 0 && p.ID == id || id < 0 && p.Name == v {
			if found != "" {
				return "", false // ambiguous
			}
			found = p.Name
		}
	}
	return found, found != ""
}

// statusMessage is the box haproxy shows above the proxies after a POST.
func statusMessage(code, link string) string {
	var class, text string
	switch code {
	case stDone:
		class, text = "active_up", "Action processed successfully."
	case stNone:
		class, text = "active_going_down", "Nothing has changed."
	case stPart:
		class, text = "active_going_down", "Action partially processed.<br>Some server names are probably unknown or ambiguous (duplicated names in the backend)."
	case stErrP:
		class, text = "active_down", "Action not processed because of invalid parameters.<ul><li>The action is maybe unknown.</li><li>Invalid key parameter (empty or too long).</li><li>The backend name is probably unknown or ambiguous (duplicated names).</li><li>Some server names are probably unknown or ambiguous (duplicated names in the backend).</li></ul>"
	case stExcd:
		class, text = "active_down", "<b>Action not processed : the buffer couldn't store all the data.<br>You should retry with less servers at a time.</b>"
	case stDeny:
		class, text = "active_down", "<b>Action denied.</b>"
	case "IVAL":
		class, text = "active_down", "<b>Invalid requests (unsupported method or chunked encoded request).</b>"
	default:
		class, text = "active_no_check", "Unexpected result."
	}
	return "<p><div class=" + class + "><a class=lfsb href=\"" + link + "\" title=\"Remove this message\">[X]</a> " + text + "</div>\n"
}

// adminSelect closes a backend's form: the action list and the submit.
func adminSelect(uuid int) string {
	return "Choose the action to perform on the checked servers : <select name=action><option value=\"\"></option>" +
		"<option value=\"ready\">Set state to READY</option><option value=\"drain\">Set state to DRAIN</option>" +
		"<option value=\"maint\">Set state to MAINT</option><option value=\"dhlth\">Health: disable checks</option>" +
		"<option value=\"ehlth\">Health: enable checks</option><option value=\"hrunn\">Health: force UP</option>" +
		"<option value=\"hnolb\">Health: force NOLB</option><option value=\"hdown\">Health: force DOWN</option>" +
		"<option value=\"dagent\">Agent: disable checks</option><option value=\"eagent\">Agent: enable checks</option>" +
		"<option value=\"arunn\">Agent: force UP</option><option value=\"adown\">Agent: force DOWN</option>" +
		"<option value=\"shutdown\">Kill Sessions</option></select>" +
		"<input type=\"hidden\" name=\"b\" value=\"#" + strconv.Itoa(uuid) + "\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>"
}
