package keepalived

import (
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/syslogmsg"
)

// lineWriter turns zerolog's JSON events back into keepalived's plain
// lines: on the console "Tue Nov 24 23:40:52 2026: (VI_1) Entering MASTER
// STATE", in syslog the message alone (the syslog writer adds its header).
type lineWriter struct {
	mu      sync.Mutex
	console io.Writer           // nil: none
	sys     zerolog.LevelWriter // nil: none
	file    io.Writer           // -g log file, console format; nil: none
	now     func() time.Time
}

// ctimeLayout is ctime(3)'s format, which keepalived prints on the console.
const ctimeLayout = "Mon Jan _2 15:04:05 2006"

func (w *lineWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.InfoLevel, p) }

func (w *lineWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	msg := syslogmsg.EventMessage(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.console != nil || w.file != nil {
		line := []byte(w.now().Format(ctimeLayout) + ": " + msg + "\n")
		if w.console != nil {
			_, _ = w.console.Write(line)
		}
		if w.file != nil {
			_, _ = w.file.Write(line)
		}
	}
	if w.sys != nil {
		_, _ = w.sys.WriteLevel(l, []byte(msg+"\n"))
	}
	return len(p), nil
}
