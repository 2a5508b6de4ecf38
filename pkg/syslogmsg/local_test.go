package syslogmsg

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func unixgramSink(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readAll(t *testing.T, c *net.UnixConn) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 65536)
	for {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

func TestLocalWriterZerolog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	sink := unixgramSink(t, path)
	at := time.Date(2026, time.November, 4, 8, 9, 10, 0, time.UTC)
	w, err := NewLocalWriter(path, "gkeepalived", daemon, 99, fixedClock(at))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	log := zerolog.New(w).Level(zerolog.TraceLevel)
	log.Trace().Msg("t")
	log.Debug().Msg("d")
	log.Info().Msg("i")
	log.Warn().Msg("w")
	log.Error().Msg("e")
	log.WithLevel(zerolog.FatalLevel).Msg("f") // WithLevel: no os.Exit
	log.WithLevel(zerolog.PanicLevel).Msg("p") // nor panic
	log.Log().Msg("n")
	_, _ = w.Write([]byte("plain\n"))

	h := func(pri, lvl string) string {
		s := "<" + pri + ">Nov  4 08:09:10 gkeepalived[99]: {"
		if lvl != "" {
			s += `"level":"` + lvl + `",`
		}
		return s
	}
	want := []string{
		h("31", "trace") + `"message":"t"}`,
		h("31", "debug") + `"message":"d"}`,
		h("30", "info") + `"message":"i"}`,
		h("28", "warn") + `"message":"w"}`,
		h("27", "error") + `"message":"e"}`,
		h("26", "fatal") + `"message":"f"}`,
		h("25", "panic") + `"message":"p"}`,
		h("30", "") + `"message":"n"}`,
		"<30>Nov  4 08:09:10 gkeepalived[99]: plain",
	}
	got := readAll(t, sink)
	if len(got) != len(want) {
		t.Fatalf("got %d datagrams %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("datagram %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

// TestLocalWriterSocketMissing: with no syslog socket, writes still succeed
// (the daemon carries on) and are counted; once a syslog daemon creates the
// socket, lines arrive again without any action from the caller.
func TestLocalWriterSocketMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := NewLocalWriter(path, "gproxy", daemon, 5, fixedClock(time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	n, err := w.WriteLevel(zerolog.ErrorLevel, []byte("lost\n"))
	if n != 5 || err != nil {
		t.Fatalf("write without socket: %d, %v; want 5, nil", n, err)
	}
	if w.Dropped() != 1 {
		t.Errorf("dropped %d, want 1", w.Dropped())
	}

	sink := unixgramSink(t, path)
	_, _ = w.WriteLevel(zerolog.InfoLevel, []byte("back\n"))
	// The syslog daemon restarts: old socket gone, a new one at the path.
	sink.Close()
	os.Remove(path)
	_, _ = w.WriteLevel(zerolog.InfoLevel, []byte("lost again\n"))
	sink2 := unixgramSink(t, path)
	_, _ = w.WriteLevel(zerolog.WarnLevel, []byte("back again\n"))

	if got := readAll(t, sink2); len(got) != 1 || got[0] != "<28>Nov 24 01:02:03 gproxy[5]: back again" {
		t.Errorf("after restart got %q", got)
	}
	if w.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", w.Dropped())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("closed")); n != 6 || err != nil {
		t.Errorf("write after close: %d, %v", n, err)
	}
}

func TestNewLocalWriterBadArgs(t *testing.T) {
	if _, err := NewLocalWriter("", "x", daemon, 1, time.Now); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := NewLocalWriter(DevLog, "x", 24, 1, time.Now); err == nil {
		t.Error("facility 24 accepted")
	}
}

// daemon is the facility of the tests' writers (3, as keepalived's default).
const daemon Facility = 3

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
