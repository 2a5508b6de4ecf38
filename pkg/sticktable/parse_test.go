package sticktable

import (
	"testing"

	"hapair/pkg/sample"
)

func TestFetchArgs(t *testing.T) {
	for _, s := range []string{"src_conn_cur", "src_conn_cur(t)", "sc0_http_req_rate", "sc_http_req_rate(0)", "sc_http_req_rate(1,t)", "src,table_conn_cur(t)", "src,in_table(t)"} {
		e, err := sample.ParseExpr(s, &sample.ParseOptions{})
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		for _, r := range e.Refs() {
			t.Logf("%s: ref %+v %+v", s, r, *r.Arg)
		}
	}
}
