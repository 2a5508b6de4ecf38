package syslogmsg

import (
	"bytes"
	"testing"

	"github.com/rs/zerolog"
)

type levelBuf struct {
	bytes.Buffer
	levels []zerolog.Level
}

func (b *levelBuf) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	b.levels = append(b.levels, l)
	return b.Write(p)
}

func TestMessagesPlainLines(t *testing.T) {
	var b levelBuf
	log := zerolog.New(Messages(&b))
	log.Warn().Msg("Proxy http stopped")
	log.Error().Err(bytes.ErrTooLarge).Msg("reload")
	want := "Proxy http stopped\nreload: bytes.Buffer: too large\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	if len(b.levels) != 2 || b.levels[0] != zerolog.WarnLevel || b.levels[1] != zerolog.ErrorLevel {
		t.Errorf("levels %v", b.levels)
	}
	if got := EventMessage([]byte("not json")); got != "not json" {
		t.Errorf("EventMessage(not json) = %q", got)
	}
}
