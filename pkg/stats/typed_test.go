package stats_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/health/healthtest"
	"hapair/pkg/stats"
)

// TestTypedAndJSONAgreeWithCSV: every line of the typed export and every
// field of the JSON export carries the value the CSV has in the column its
// position names (the CSV's "-" before the modules' fields not counted),
// each row's filled CSV fields all appear, and both exports keep the
// filter's rows. The values are compared with haproxy's in pkg/gproxyd's
// TestIntegrationShowTypedHaproxy.
func TestTypedAndJSONAgreeWithCSV(t *testing.T) {
	e := start(t, fmt.Sprintf(`
defaults
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fh
    mode http
    bind 127.0.0.1:%d
    default_backend bh
backend bh
    mode http
    server a 127.0.0.1:1 check inter 1h
    server b 127.0.0.1:2 backup
`, healthtest.FreePort(t)))
	all := stats.Filter{IID: -1, Types: -1, SID: -1}
	var c, ty, js bytes.Buffer
	// The first server's check runs at once (haproxy's start_checks
	// spread), the next one an hour later: the three dumps are taken
	// once its result is in, so that they show the same state.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.Reset()
		if err := e.src.WriteCSVFiltered(&c, true, all); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(c.String(), "L4CON") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server a's first check has no result after 10 s:\n%s", c.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.src.WriteTypedFiltered(&ty, true, all); err != nil {
		t.Fatal(err)
	}
	if err := e.src.WriteJSONFiltered(&js, true, all); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.String(), "# "))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	hdr, rows := recs[0], recs[1:]
	column := func(pos int) int {
		if pos >= stats.ColumnIndex("-") {
			return pos + 1
		}
		return pos
	}
	// typed: "K.iid.sid.pos.name.1:tags:type:value", rows in CSV order
	lines := strings.Split(strings.TrimSuffix(ty.String(), "\n"), "\n")
	seen := map[string]bool{}
	row := -1
	prev := ""
	for _, l := range lines {
		parts := strings.SplitN(l, ":", 4)
		if len(parts) != 4 {
			t.Fatalf("typed line %q", l)
		}
		key := strings.Split(parts[0], ".")
		if id := strings.Join(key[:3], "."); id != prev {
			row, prev = row+1, id
		}
		pos, _ := strconv.Atoi(key[3])
		col := column(pos)
		if hdr[col] != key[4] || rows[row][col] != parts[3] {
			t.Errorf("%q: the CSV has %s=%q", l, hdr[col], rows[row][col])
		}
		seen[fmt.Sprint(row, col)] = true
	}
	if row != len(rows)-1 {
		t.Errorf("typed export has %d rows, the CSV %d", row+1, len(rows))
	}
	for r, rec := range rows {
		for col, v := range rec {
			if v != "" && hdr[col] != "-" && !seen[fmt.Sprint(r, col)] {
				t.Errorf("row %d: %s=%q missing from the typed export", r, hdr[col], v)
			}
		}
	}
	var parsed [][]struct {
		ObjType string
		Field   struct {
			Pos  int
			Name string
		}
		Value struct {
			Type  string
			Value any
		}
	}
	if err := json.Unmarshal(js.Bytes(), &parsed); err != nil {
		t.Fatalf("JSON export: %v", err)
	}
	n := 0
	for r, fields := range parsed {
		for _, f := range fields {
			n++
			col := column(f.Field.Pos)
			if hdr[col] != f.Field.Name || fmt.Sprint(f.Value.Value) != rows[r][col] {
				t.Errorf("JSON row %d %+v: the CSV has %s=%q", r, f, hdr[col], rows[r][col])
			}
		}
	}
	if n != len(lines) || len(parsed) != len(rows) {
		t.Errorf("JSON export: %d fields in %d rows, typed %d lines in %d rows", n, len(parsed), len(lines), len(rows))
	}
	// a filter keeps the same rows in every format
	var one bytes.Buffer
	if err := e.src.WriteTypedFiltered(&one, true, stats.Filter{IID: -1, Types: 4, SID: -1}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(one.String(), "S.") || strings.Contains(one.String(), "\nB.") || strings.Contains(one.String(), "\nF.") {
		t.Errorf("servers only: %.100q", one.String())
	}
}
