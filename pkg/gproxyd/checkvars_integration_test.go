package gproxyd_test

import (
	"os"
	"path/filepath"
	"testing"
)

// checkVarsCfg: check rules with variables and log-format values, and
// binary sends and expects. Each backend's server port differs between the
// two proxies (PORT is 70 for haproxy, 71 for gproxy), so that the
// recording servers show what each proxy sent.
const checkVarsCfg = `global
  stats socket SOCK level admin
  set-var proc.g str(G)
  set-var proc.p int(PORT30)
defaults
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 10s
  default-server check inter 300ms rise 1 fall 1
backend t1
  mode tcp
  option tcp-check
  tcp-check send-binary 50494e470d0a
  tcp-check expect binary 2b504f4e47
  server s 127.0.0.1:PORT21
backend t2
  mode tcp
  option tcp-check
  tcp-check send-binary 50494e470d0a comment ping
  tcp-check expect rbinary ^2D
  server s 127.0.0.1:PORT22
backend t3
  mode tcp
  option tcp-check
  tcp-check set-var(check.cmd) str(PING)
  tcp-check send-lf "%[var(check.cmd)] %[srv_name] %[be_name]\r\n"
  tcp-check expect string-lf "echo:PING %[srv_name] t3"
  server s 127.0.0.1:PORT23
backend t4
  mode tcp
  option tcp-check
  tcp-check set-var-fmt(check.hex) "%[str(+PONG),hex]"
  tcp-check send-binary-lf "%[str(PING),hex]0D0A"
  tcp-check expect binary-lf "%[var(check.hex)]" status-code "str(7),add(0)"
  server s 127.0.0.1:PORT24
backend t5
  mode tcp
  option tcp-check
  tcp-check send-lf "x\r\n"
  tcp-check expect string-lf "%[srv_name]-nope" on-error "no %[srv_name] in answer" status-code "int(42)"
  server s 127.0.0.1:PORT25
backend t6
  mode tcp
  option tcp-check
  tcp-check send "x\r\n"
  tcp-check comment unset
  tcp-check expect string-lf "%[var(check.unset)]"
  server s 127.0.0.1:PORT26
backend t7
  mode tcp
  option tcp-check
  tcp-check set-var(check.a) str(A)
  tcp-check unset-var(check.a)
  tcp-check set-var(proc.n) str(p1)
  tcp-check set-var(sess.s) str(S)
  tcp-check set-var(txn.t) str(T)
  tcp-check send-lf "a=%[var(check.a)] %[var(proc.n)] %[var(sess.s)] %[var(txn.t)].\r\n"
  tcp-check expect string "echo:a= p1 S ."
  tcp-check expect string-lf "%[res.payload(0,5)]" on-success "got %[res.len] bytes"
  server s 127.0.0.1:PORT27
backend t8
  mode tcp
  option tcp-check
  tcp-check send-lf "src=%[src] dst=%[dst] be=%[be_name] srv=%[srv_name] nb=%[nbsrv] up=%[srv_is_up(t8/s)] g=%[var(proc.g)] bin=%[bin(414200)] d=%[env(NOPE)] beconn=%[be_conn]\r\n"
  tcp-check expect string +PONG
  server s 127.0.0.1:PORT28
backend t9
  mode tcp
  option tcp-check
  tcp-check send-lf "prev=%[var(check.prev)] sess=%[var(sess.prev)]\r\n"
  tcp-check expect string +PONG
  tcp-check set-var(check.prev) str(X)
  tcp-check set-var(sess.prev) str(Y)
  server s 127.0.0.1:PORT29
backend t10
  mode tcp
  option tcp-check
  tcp-check connect port var(proc.p)
  tcp-check send "port\r\n"
  tcp-check expect string +PONG
  server s 127.0.0.1:9
backend h1
  mode http
  option httpchk
  http-check set-var(check.path) str(/health)
  http-check send meth GET uri-lf "%[var(check.path)]?srv=%[srv_name]" ver HTTP/1.1 hdr x-be "%[be_name]" hdr x-empty "%[var(check.none)]" body-lf "from %[srv_name]"
  http-check expect status 200
  http-check expect hdr name-lf "%[res.fhdr(x-hdr-name)]" value-lf "%[srv_name]"
  http-check set-var(check.srv) res.hdr(x-srv)
  http-check expect string-lf "srv=%[var(check.srv)]" on-success "%[status] %[var(check.srv)]"
  server s 127.0.0.1:PORT31
backend h2
  mode http
  option httpchk
  http-check send uri-lf "%[var(check.none)]" body-lf "%[var(check.none)]"
  http-check expect string-lf "%[be_name]"
  server s 127.0.0.1:PORT32
backend h3
  mode http
  option httpchk GET /
  http-check expect hdr name x-srv value-lf "%[var(check.nope)]"
  server s 127.0.0.1:PORT33
backend h4
  mode http
  option httpchk
  http-check send meth GET uri /st ver HTTP/1.1 hdr host example hdr x-a b body-lf "x%[str(y)]"
  http-check expect fhdr name x-req value "GET /st example 2 xy b"
  server s 127.0.0.1:7240 check-proto h2
backend h5
  mode http
  option httpchk GET /h2
  server s 127.0.0.1:7240 proto h2
backend h7
  mode http
  option httpchk GET /d
  # not inherited by the server (haproxy's srv_settings_cpy): HTTP/1
  default-server check-proto h2
  server s 127.0.0.1:PORT34 check
backend h6
  mode http
  option httpchk
  http-check connect port 7240 proto h2
  http-check send meth GET uri /p
  http-check expect status 200 on-success "%[res.ver] %[status]"
  server s 127.0.0.1:PORT33
`

// h2ServerCfg is an HTTP/2 server (haproxy itself, prior knowledge in
// clear text) that answers with the request it got in x-req.
const h2ServerCfg = `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend h2
  bind 127.0.0.1:7240 proto h2
  option http-buffer-request
  http-request return status 200 hdr x-req "%[method] %[path] %[req.hdr(host)] %[req.hdr(content-length)] %[req.body] %[req.hdr(x-a)]"
`

// checkVarsServers records what each check sent (one repr per line in
// DIR/req.PORT) and answers: an HTTP response to an HTTP request, else
// "+PONG\r\necho:" and what it received.
const checkVarsServers = `import os, socket, socketserver, sys, threading
d = os.environ["DIR"]
class H(socketserver.BaseRequestHandler):
    def handle(self):
        port = self.server.server_address[1]
        s = self.request
        s.settimeout(2)
        data = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
                if data[:4] in (b"GET ", b"OPTI", b"POST", b"HEAD"):
                    head, sep, body = data.partition(b"\r\n\r\n")
                    if not sep:
                        continue
                    n = 0
                    for l in head.split(b"\r\n")[1:]:
                        k, _, v = l.partition(b":")
                        if k.strip().lower() == b"content-length":
                            n = int(v)
                    if len(body) >= n:
                        break
                elif data.endswith(b"\n"):
                    break
        except OSError:
            pass
        with open(os.path.join(d, "req.%d" % port), "a") as f:
            f.write(repr(data) + "\n")
        try:
            if data[:4] in (b"GET ", b"OPTI", b"POST", b"HEAD"):
                s.sendall(b"HTTP/1.1 200 OK\r\nx-srv: s\r\nx-hdr-name: x-srv\r\ncontent-length: 11\r\n\r\nhello srv=s")
            else:
                s.sendall(b"+PONG\r\necho:" + data)
        except OSError:
            pass
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
for p in sys.argv[1:]:
    srv = S(("127.0.0.1", int(p)), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
`

// TestIntegrationCheckVarsAndFormats: tcp-check and http-check rules with
// set-var, set-var-fmt, unset-var and log-format values (send-lf,
// send-binary-lf, expect string-lf/binary-lf, uri-lf, body-lf, header
// values, name-lf/value-lf, on-success/on-error, status-code), and
// send-binary with expect binary/rbinary, and HTTP checks over HTTP/2
// (check-proto h2, proto h2, connect proto h2): the same bytes reach the servers from both
// proxies, and the same states, check columns and check lines follow.
func TestIntegrationCheckVarsAndFormats(t *testing.T) {
	requireBins(t, "socat", "/usr/bin/python3")
	dir := t.TempDir()
	writeCfg(t, dir, checkVarsCfg)
	for name, text := range map[string]string{"srv.py": checkVarsServers, "h2.cfg": h2ServerCfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := dbLabFuncs + snapFunc + `
ports="21 22 23 24 25 26 27 28 29 30 31 32 33 34"
all=""; for p in $ports; do all="$all 70$p 71$p"; done
/usr/bin/python3 "$DIR/srv.py" $all > "$DIR/srv.out" 2>&1 &
"$HAPROXY" -db -f "$DIR/h2.cfg" 2>"$DIR/h2.err" &
for i in $(seq 100); do grep -q ready "$DIR/srv.out" 2>/dev/null && break; sleep 0.05; done
proxies
settle t1/s:UP:L7OK t2/s:DOWN:L7RSP t3/s:UP:L7OK t4/s:UP:L7OK t5/s:DOWN:L7RSP t6/s:DOWN:L7RSP t7/s:UP:L7OK t8/s:UP:L7OK t9/s:UP:L7OK t10/s:UP:L7OK h1/s:UP:L7OK h2/s:DOWN:L7RSP h3/s:DOWN:L7RSP h4/s:UP:L7OK h5/s:UP:L7OK h6/s:UP:L7OK h7/s:UP:L7OK
snap t1/s t2/s t3/s t4/s t5/s t6/s t7/s t8/s t9/s t10/s h1/s h2/s h3/s h4/s h5/s h6/s h7/s
# a few checks of t9, whose variables must not outlive a check
for i in $(seq 100); do [ "$(wc -l < "$DIR/req.7029")" -ge 3 ] && [ "$(wc -l < "$DIR/req.7129")" -ge 3 ] && break; sleep 0.1; done
for p in $ports; do
  echo "h req.$p $(sort -u "$DIR/req.70$p" | tr '\n' '|')"
  echo "g req.$p $(sort -u "$DIR/req.71$p" | tr '\n' '|')"
done
echo "== state"
state() { echo "show servers state" | socat -t 10 - "UNIX-CONNECT:$DIR/$1.sock" | awk '$4 == "s" { print "'$1'", $2, $6, $7, $13 }'; }
paste -d '\n' <(state h) <(state g)
logs
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		// what both proxies sent (the servers saw one form each)
		`h req.21 b'PING\r\n'|`,
		`h req.23 b'PING s t3\r\n'|`,
		`h req.24 b'PING\r\n'|`,
		`h req.27 b'a= p1 S .\r\n'|`,
		// a check has no client: src and dst are empty; a binary sample
		// stops at its first NUL
		`h req.28 b'src= dst= be=t8 srv=s nb=1 up=1 g=G bin=AB d= beconn=0\r\n'|`,
		// check.* and sess.* start empty at every check
		`h req.29 b'prev= sess=\r\n'|`,
		// connect port EXPR
		`h req.30 b'port\r\n'|`,
		`h req.31 b'GET /health?srv=s HTTP/1.1\r\nx-be: h1\r\ncontent-length: 6\r\nconnection: close\r\n\r\nfrom s'|`,
		`h req.32 b'OPTIONS / HTTP/1.0\r\n\r\n'|`,
		`h req.34 b'GET /d HTTP/1.0\r\n\r\n'|`,
		// a send's comment stays with the send
		`t2/s DOWN L7RSP  TCPCHK did not match content (binary regex) at step 2 `,
		`h t4/s UP L7OK 7 (tcp-check)`,
		// the status-code is kept, not shown below L7OK
		`t5/s DOWN L7RSP  no s in answer`,
		`t6/s DOWN L7RSP  log-format string evaluated to an empty string comment: unset`,
		`t7/s UP L7OK 0 got 23 bytes`,
		`h1/s UP L7OK 200 200 s`,
		`h2/s DOWN L7RSP  HTTP content check did not match`,
		`h3/s DOWN L7RSP  log-format string evaluated to an empty string`,
		`h h4/s UP L7OK 200 `,
		`h h5/s UP L7OK 200 `,
		`h h6/s UP L7OK 200 2.0 200`,
		`h h1 2 0 1`,
		`h t2 0 0 0`,
	})
}
