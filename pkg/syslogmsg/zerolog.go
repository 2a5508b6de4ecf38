package syslogmsg

import (
	"encoding/json"

	"github.com/rs/zerolog"
)

// EventMessage returns the text of a zerolog JSON event: its message, and
// its error field after a colon. The daemons log plain lines, as haproxy
// and keepalived do, not JSON; input that is not an event is returned as is.
func EventMessage(p []byte) string {
	var ev struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(p, &ev) != nil {
		return string(p)
	}
	msg := ev.Message
	if ev.Error != "" {
		if msg != "" {
			msg += ": "
		}
		msg += ev.Error
	}
	return msg
}

// Messages adapts w to zerolog: each event reaches w as its message line
// alone, at its level.
func Messages(w zerolog.LevelWriter) zerolog.LevelWriter { return messages{w} }

type messages struct{ w zerolog.LevelWriter }

func (m messages) Write(p []byte) (int, error) { return m.WriteLevel(zerolog.InfoLevel, p) }

func (m messages) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if _, err := m.w.WriteLevel(l, []byte(EventMessage(p)+"\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}
