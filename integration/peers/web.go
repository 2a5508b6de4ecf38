package peers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"hapair/integration/lab"
)

// SelfSigned writes a self-signed certificate and key for cn (and IP
// subject alternative name ip) to dir/cert.pem and dir/key.pem, made at test
// time with openssl (P-256: fast to generate).
func SelfSigned(ctx context.Context, dir, cn, ip string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	args := []string{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-days", "2", "-subj", "/CN=" + cn, "-keyout", key, "-out", cert}
	if ip != "" {
		args = append(args, "-addext", "subjectAltName=IP:"+ip)
	}
	out, err := exec.CommandContext(ctx, "openssl", args...).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("openssl req: %w: %s", err, out)
	}
	return cert, key, nil
}

const nginxConf = `# nginx as a lab web backend; written by integration/peers.
daemon off;
master_process on;
worker_processes 1;
pid /run/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 1024; }
http {
	access_log {{dir}}/access.log;
	client_body_temp_path {{dir}}/body;
	default_type text/plain;
	server {
		listen {{addr}}:80;
		listen {{addr}}:443 ssl;
		ssl_certificate {{dir}}/cert.pem;
		ssl_certificate_key {{dir}}/key.pem;
		location / { return 200 "{{body}}\n"; }
	}
}
`

// Nginx starts nginx on h as a web backend answering every request on
// HTTP port 80 and HTTPS port 443 (self-signed certificate) with body and a
// newline, e.g. "web01", so a client can tell which backend served it. It
// returns once both ports listen.
func Nginx(ctx context.Context, l *lab.Lab, h *lab.Host, body string) (*Service, error) {
	dir, err := serviceDir(l, h, "nginx")
	if err != nil {
		return nil, err
	}
	if _, _, err := SelfSigned(ctx, dir, body, h.Addr().String()); err != nil {
		return nil, fmt.Errorf("nginx on %s: %w", h.Name(), err)
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{addr}}", h.Addr().String(), "{{body}}", body).Replace(nginxConf)
	cfg := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s := &Service{Host: h, Name: "nginx", Process: "nginx", Pidfile: "/run/nginx.pid", Dir: dir}
	if s.Proc, err = h.Start("nginx", "nginx", "-c", cfg, "-e", filepath.Join(dir, "error.log")); err != nil {
		return nil, err
	}
	for _, port := range []int{80, 443} {
		if err := waitListening(ctx, s, "tcp", port, 10*time.Second); err != nil {
			return s, err
		}
	}
	return s, nil
}
