package stats

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"hapair/pkg/haproxycfg"
)

// DefaultURI and DefaultRealm are haproxy's defaults for `stats uri` and
// `stats realm`.
const (
	DefaultURI   = "/haproxy?stats"
	DefaultRealm = "HAProxy Statistics"
)

// haproxy 2.6's error pages for the stats service (captured in
// testdata/haproxy26_unauth.txt).
const (
	page401 = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"
	page503 = "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
)

// Handler serves the stats of a `mode http` proxy with `stats enable`:
// the page at `stats uri`, `;csv` for the CSV, `;up` to hide DOWN servers,
// `;norefresh` to drop the Refresh header, behind `stats auth` (basic
// authentication with `stats realm`). It also answers the Prometheus
// exporter of a proxy with `http-request use-service prometheus-exporter`.
// The engine gives it only the requests haproxy intercepts for these
// services (proxy.localService); others reaching it get haproxy's 503 page.
func Handler(px *haproxycfg.Proxy, src *Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// haproxy's stats applet sends no Date header.
		w.Header()["Date"] = nil
		uri := px.Stats.URI
		if uri == "" {
			uri = DefaultURI
		}
		reqURI := r.URL.RequestURI()
		if px.Prometheus && (px.PrometheusURI == "" || r.URL.Path == px.PrometheusURI) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			if r.Method != http.MethodHead {
				_ = src.WritePrometheus(w)
			}
			return
		}
		if !px.Stats.Enabled || !strings.HasPrefix(reqURI, uri) {
			errorPage(w, http.StatusServiceUnavailable, page503)
			return
		}
		if len(px.Stats.Auth) > 0 && !authorized(r, px.Stats.Auth) {
			realm := px.Stats.Realm
			if realm == "" {
				realm = DefaultRealm
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", realm))
			errorPage(w, http.StatusUnauthorized, page401)
			return
		}
		pr := parsePageRequest(reqURI[len(uri):], px.Stats.Refresh > 0)
		if r.Method == http.MethodPost {
			adminPost(w, r, px, src, uri, pr)
			return
		}
		if pr.format == "json-schema" {
			// haproxy answers with its JSON schema, which gproxy does
			// not write: say so rather than serve something else.
			body := "gproxy does not implement the stats export '" + pr.format + "' (use ';json').\n"
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte(body))
			return
		}
		// As haproxy's stats applet: the Refresh header goes with every
		// format (the page, ;csv, ;typed, ;json) unless ;norefresh.
		w.Header().Set("Cache-Control", "no-cache")
		switch {
		case pr.format == "json":
			w.Header().Set("Content-Type", "application/json")
		case pr.format == "typed" || pr.csv:
			w.Header().Set("Content-Type", "text/plain")
		default:
			w.Header().Set("Content-Type", "text/html")
		}
		if px.Stats.Refresh > 0 && !pr.noRefresh {
			w.Header().Set("Refresh", strconv.Itoa(int(px.Stats.Refresh.Seconds())))
		}
		if r.Method == http.MethodHead {
			return
		}
		f := Filter{IID: -1, Types: -1, SID: -1, Scope: pr.scope, HideDown: pr.up, HideMaint: pr.noMaint}
		switch {
		case pr.format == "json":
			_ = src.WriteJSONFiltered(w, px.Stats.ShowLegends, f)
			return
		case pr.format == "typed":
			_ = src.WriteTypedFiltered(w, px.Stats.ShowLegends, f)
			return
		case pr.csv:
			_ = src.WriteCSVFiltered(w, px.Stats.ShowLegends, f)
			return
		}
		var b strings.Builder
		src.WritePage(&b, px, PageOptions{URI: uri, HideDown: pr.up, NoRefresh: pr.noRefresh, Refresh: px.Stats.Refresh,
			HideMaint: pr.noMaint, Scope: pr.scope, Status: pr.st, Admin: px.Stats.Admin})
		_, _ = w.Write([]byte(b.String()))
	})
}

func errorPage(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/html")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func authorized(r *http.Request, users []haproxycfg.UserPass) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	for _, u := range users {
		if subtle.ConstantTimeCompare([]byte(u.User), []byte(user)) == 1 && subtle.ConstantTimeCompare([]byte(u.Pass), []byte(pass)) == 1 {
			return true
		}
	}
	return false
}
