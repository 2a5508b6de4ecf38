package peers

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/peers/wire"
	"hapair/pkg/sticktable"
)

// FuzzSession feeds what a peer may send after the handshake to a
// session's message handling, on tables of every key type: nothing may
// panic, whatever the messages.
func FuzzSession(f *testing.F) {
	def := func(d wire.Definition) []byte {
		body, _ := d.MarshalBinary()
		b, _ := wire.Message{Class: wire.ClassStickTable, Type: wire.TableDefine, Body: body}.MarshalBinary()
		return b
	}
	upd := func(l wire.Layout, u wire.Update) []byte {
		body, _ := u.AppendBinary(nil, l)
		b, _ := wire.Message{Class: wire.ClassStickTable, Type: u.Type(), Body: body}.MarshalBinary()
		return b
	}
	ipDef := wire.Definition{ID: 1, Name: "ip", KeyType: wire.KeyIPv4, KeyLen: 4, Data: 1<<0 | 1<<4 | 1<<10 | 1<<19,
		HasExpire: true, Expire: 60000, Params: map[int]wire.Param{10: {Period: 10000}}}
	seed := append(def(ipDef), upd(wire.Layout{KeyType: wire.KeyIPv4, KeyLen: 4, Data: ipDef.Data},
		wire.Update{HasID: true, ID: 3, Timed: true, Expire: 5000, Key: []byte{10, 0, 0, 1},
			Values: []wire.Value{{Type: 0, Int: 2}, {Type: 4, Int: 7}, {Type: 10, Freq: wire.Freq{Elapsed: 100, Curr: 3}},
				{Type: 19, Dict: wire.Dict{ID: 1, Value: "s2", HasValue: true}}}})...)
	seed = append(seed, 0, 0, 0, 1, 0, 3, 0, 4)
	f.Add(seed)
	strDef := wire.Definition{ID: 2, Name: "str", KeyType: wire.KeyStr, KeyLen: 9, Data: 1 << 2, HasExpire: true}
	f.Add(append(def(strDef), upd(wire.Layout{KeyType: wire.KeyStr, KeyLen: 9, Data: 1 << 2},
		wire.Update{Key: []byte("abcdefghijkl"), Values: []wire.Value{{Type: 2, Int: 1}}})...))
	intDef := wire.Definition{ID: 3, Name: "int", KeyType: wire.KeySInt, KeyLen: 4, Data: 1 << 22, HasExpire: true,
		Params: map[int]wire.Param{22: {NbElem: 2}}}
	f.Add(append(def(intDef), upd(wire.Layout{KeyType: wire.KeySInt, KeyLen: 4, Data: 1 << 22, NbElem: map[int]uint64{22: 2}},
		wire.Update{Key: []byte{0, 0, 0, 9}, Values: []wire.Value{{Type: 22, Ints: []uint64{1, 2}}}})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		mk := func(name string, typ sticktable.KeyType, l int, stores ...sticktable.Store) Table {
			return Table{T: sticktable.New(sticktable.Config{Name: name, Type: typ, Len: l, Size: 100, Expire: 60e9, Stores: stores}, nil), Name: name}
		}
		s, err := New(Config{Name: "f", Local: "a", Peers: []Peer{{Name: "a", Local: true}, {Name: "b"}},
			Tables: []Table{
				mk("ip", sticktable.KeyIP, 0, sticktable.Store{Type: sticktable.ServerID}, sticktable.Store{Type: sticktable.ConnCnt},
					sticktable.Store{Type: sticktable.HTTPReqRate, Period: 10e9}, sticktable.Store{Type: sticktable.ServerKey}),
				mk("str", sticktable.KeyString, 8, sticktable.Store{Type: sticktable.GPC0}),
				mk("int", sticktable.KeyInteger, 0, sticktable.Store{Type: sticktable.GPT0}),
				mk("bin", sticktable.KeyBinary, 6, sticktable.Store{Type: sticktable.ConnCur}),
			}}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		sess := s.newSession(s.peers[1], nil)
		r := bufio.NewReader(bytes.NewReader(b))
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := 0; i < 200; i++ {
			m, err := wire.ReadMessage(r, wire.MaxBody)
			if err != nil {
				return
			}
			if ok, stop := sess.handle(m); !ok || stop {
				return
			}
			sess.batch(time.Now())
		}
	})
}
