package proxy

import (
	"bytes"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// scanCounts feeds data to a frameScan in the given chunk sizes and
// returns the frames reported, as "type/flags/head" strings.
func scanCounts(data []byte, preface int, cut func(int) int) []string {
	var got []string
	s := frameScan{preface: preface, on: func(t http2.FrameType, f http2.Flags, head []byte) {
		got = append(got, t.String()+"/"+string(rune('0'+int(f)%10))+"/"+string(head))
	}}
	for i := 0; len(data) > 0; i++ {
		n := min(max(cut(i), 1), len(data))
		s.feed(data[:n])
		data = data[n:]
	}
	return got
}

// FuzzH2FrameScan: the counting scanner of HTTP/2 connections reads
// untrusted bytes; however they are cut, it reports the same frames, and
// the frames x/net's framer reads from the same bytes.
func FuzzH2FrameScan(f *testing.F) {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	_ = fr.WriteSettingsAck()
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82, 0x84}, EndHeaders: true})
	_ = fr.WriteData(1, true, []byte("hello"))
	_ = fr.WriteRSTStream(3, http2.ErrCodeProtocol)
	_ = fr.WriteGoAway(3, http2.ErrCodeProtocol, []byte("debug"))
	f.Add(b.Bytes(), uint8(1))
	f.Add(b.Bytes(), uint8(7))
	f.Add([]byte{0, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0}, uint8(2)) // RST_STREAM cut short
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole := scanCounts(data, 0, func(int) int { return len(data) })
		cut := scanCounts(data, 0, func(i int) int { return int(step) + i%3 })
		if len(whole) != len(cut) {
			t.Fatalf("%d frames at once, %d when cut by %d", len(whole), len(cut), step)
		}
		for i := range whole {
			if whole[i] != cut[i] {
				t.Fatalf("frame %d: %q at once, %q when cut", i, whole[i], cut[i])
			}
		}
		// x/net's framer, reading frame headers only, sees the same
		// frames as long as they are whole.
		r := bytes.NewReader(data)
		n := 0
		for {
			h, err := http2.ReadFrameHeader(r)
			if err != nil {
				break
			}
			if _, err := io.CopyN(io.Discard, r, int64(h.Length)); err != nil {
				break
			}
			n++
		}
		if len(whole) < n {
			t.Fatalf("framer read %d whole frames, the scanner reported %d", n, len(whole))
		}
	})
}
