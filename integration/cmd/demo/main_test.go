package main

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// testdata/haproxy-2.6-stats.csv is what haproxy 2.6.12 served at
// /stats;csv for a stats listener and a two-server tcp listener.
func TestStatsRows(t *testing.T) {
	b, err := os.ReadFile("testdata/haproxy-2.6-stats.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := statsRows(string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"stats    FRONTEND  OPEN      1 current, 1 total sessions", // the request itself
		"stats    BACKEND   UP        0 current, 0 total sessions",
		"http     FRONTEND  OPEN      0 current, 0 total sessions",
		"http     web01     no check  0 current, 0 total sessions",
		"http     web02     no check  0 current, 0 total sessions",
		"http     BACKEND   UP        0 current, 0 total sessions",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct{ name, body, err string }{
		{"html", "<html>503 Service Unavailable</html>", "header"},
		{"no status column", "# pxname,svname\nhttp,web01\n", `no column "status"`},
		{"bad quoting", "# pxname,svname,status,scur,stot\n\"http,web01\n", "stats CSV"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := statsRows(c.body)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("statsRows = %v; want an error containing %q", err, c.err)
			}
			if c.name == "html" && !errors.Is(err, errNotCSV) {
				t.Errorf("statsRows = %v; want errNotCSV", err)
			}
		})
	}
}

func FuzzStatsRows(f *testing.F) {
	b, err := os.ReadFile("testdata/haproxy-2.6-stats.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("# pxname,svname,status,scur,stot\nhttp\n")
	f.Fuzz(func(t *testing.T, body string) {
		statsRows(body) // any input: rows or an error, never a panic
	})
}
