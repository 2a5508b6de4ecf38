package haproxycfg

import (
	"hapair/pkg/sample"
)

// Stick tables (configuration manual sections 4.2 "stick-table",
// "track-sc0", "sc-inc-gpc0", "sc-set-gpt0"): a proxy's table, and the
// rule actions that track and update its entries.

// The stick counter actions, in Rule.Action and TCPRule.Action.
const (
	ActTrackSC Action = iota + 100 // track-scN KEY [table T]
	ActIncGPC                      // sc-inc-gpc0(N) / sc-inc-gpc1(N)
	ActSetGPT                      // sc-set-gpt0(N) VALUE|EXPR
)

func init() {
	actionNames[ActTrackSC] = "track-sc"
	actionNames[ActIncGPC] = "sc-inc-gpc"
	actionNames[ActSetGPT] = "sc-set-gpt0"
}

// StickAction is the argument of a stick counter action.
type StickAction struct {
	Slot  int          // the counter, 0..2
	Key   *sample.Expr `json:"-"` // track-sc: the key
	Table string       // track-sc: the table (a proxy name), resolved to the rule's proxy when not given
	Idx   int          // sc-inc-gpc: 0 or 1
	Value int64        // sc-set-gpt0: the value, when Expr is nil
	Expr  *sample.Expr `json:"-"` // sc-set-gpt0: the value's expression
	// Session: a tcp-request connection or session rule, whose counters
	// last as long as the connection (the others: the stream).
	Session bool
}

// StickRule is `stick match|on|store-request PATTERN [table T]
// [if|unless COND]` (section 4.2, "stick match"): persistence through a
// table storing the server's id. on is match and store-request.
type StickRule struct {
	Match bool         // look the key up and send the request to the stored server
	Store bool         // store the server the request went to under the key
	Expr  *sample.Expr `json:"-"`
	Table string       // the table's name; the proxy's own when not given
	Cond  *sample.Cond `json:"-"`
	Pos   Pos
}
