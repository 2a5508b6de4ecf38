package sticktable

import (
	"strconv"

	"hapair/pkg/sample"
)

// Env is what the fetches need from the running engine: the tables by
// name. The proxy engine implements it on its sample.Env.
type Env interface {
	StickTables() *Set
}

func tablesOf(t *sample.Txn) *Set {
	if env, ok := t.Env.(Env); ok {
		return env.StickTables()
	}
	return nil
}

// defaultTable is the table of the proxy whose rules run: the backend's
// once one is chosen, else the frontend's (haproxy resolves the same at
// parse time: the table of the proxy holding the rule).
func defaultTable(t *sample.Txn, s *Set) *Table {
	if t.Backend != "" {
		if tb := s.Table(t.Backend); tb != nil {
			return tb
		}
	}
	return s.Table(t.Frontend)
}

// target is what a sc/src fetch reads: a table and a key in it, and the
// tracked counter when the fetch reads one.
type target struct {
	t   *Table
	key string
	ref *Ref
}

// resolve is haproxy's smp_fetch_sc_stkctr: num is the counter (0..2),
// -1 for the src_* forms; tabArg is the optional table argument. ok false
// is "no counter" (no sample).
func resolve(tx *sample.Txn, num int, tabArg string) (target, bool) {
	set := tablesOf(tx)
	if set == nil {
		return target{}, false
	}
	if num < 0 {
		tb := defaultTable(tx, set)
		if tabArg != "" {
			tb = set.Table(tabArg)
		}
		if tb == nil || !tx.Src.IsValid() {
			return target{}, false
		}
		key, ok := tb.Key(sample.Value{Type: sample.TypeAddr, Addr: tx.Src.Addr()})
		if !ok {
			return target{}, false
		}
		return target{t: tb, key: key}, true
	}
	c, _ := tx.Stick.(*Counters)
	r := c.Slot(num)
	if r == nil {
		return target{}, false
	}
	if tabArg != "" && set.Table(tabArg) != r.t {
		tb := set.Table(tabArg)
		if tb == nil {
			return target{}, false
		}
		return target{t: tb, key: r.e.key}, true
	}
	return target{t: r.t, key: r.e.key, ref: r}, true
}

// read is a counter's value for the fetches: 0 without an entry, no
// sample when the table does not store it.
func (g target) read(d DataType, shift uint) (sample.Value, bool) {
	v, found, ok := g.t.Get(g.key, d)
	if found && !ok {
		return sample.Value{}, false
	}
	if !ok {
		if g.t.Has(g.key) {
			return sample.Value{}, false
		}
		v = 0
	}
	return sample.Value{Type: sample.TypeInt, Int: v >> shift}, true
}

// ensure gives a held reference on the entry, creating it for the src_*
// forms that do (src_inc_gpc0, src_clr_gpc0 ...); release says whether the
// caller must release it.
func (g target) ensure() (r *Ref, release bool) {
	if g.ref != nil {
		return g.ref, false
	}
	t := g.t
	t.mu.Lock()
	e := t.getLocked(g.key, t.now())
	if e == nil {
		t.mu.Unlock()
		return nil, false
	}
	e.refs++
	t.mu.Unlock()
	return &Ref{t: t, e: e}, true
}

// unhold drops a reference taken by ensure without counting a
// connection end.
func (r *Ref) unhold() {
	r.t.mu.Lock()
	r.e.refs--
	r.t.mu.Unlock()
}

// counterFetches are the data read by sc_*, scN_*, src_* and table_*:
// the keyword suffix, the data type and a right shift (kbytes).
var counterFetches = []struct {
	suffix string
	d      DataType
	shift  uint
}{
	{"bytes_in_rate", BytesInRate, 0}, {"bytes_out_rate", BytesOutRate, 0},
	{"conn_cnt", ConnCnt, 0}, {"conn_cur", ConnCur, 0}, {"conn_rate", ConnRate, 0},
	{"get_gpc0", GPC0, 0}, {"get_gpc1", GPC1, 0}, {"get_gpt0", GPT0, 0},
	{"gpc0_rate", GPC0Rate, 0}, {"gpc1_rate", GPC1Rate, 0},
	{"http_err_cnt", HTTPErrCnt, 0}, {"http_err_rate", HTTPErrRate, 0},
	{"http_fail_cnt", HTTPFailCnt, 0}, {"http_fail_rate", HTTPFailRate, 0},
	{"http_req_cnt", HTTPReqCnt, 0}, {"http_req_rate", HTTPReqRate, 0},
	{"kbytes_in", BytesInCnt, 10}, {"kbytes_out", BytesOutCnt, 10},
	{"sess_cnt", SessCnt, 0}, {"sess_rate", SessRate, 0},
}

// tableConvNames maps the converters' names where they differ from the
// fetches' (table_gpc0 reads what sc_get_gpc0 reads).
var tableConvNames = map[string]string{"get_gpc0": "gpc0", "get_gpc1": "gpc1", "get_gpt0": "gpt0"}

// fetchForms are the three families of counter fetches: the name prefix,
// the counter number (-2: the first argument; -1: src), the arguments.
var fetchForms = []struct {
	prefix string
	num    int
	args   sample.ArgSpec
}{
	{"sc_", -2, sample.ArgSpec{Types: []sample.ArgType{sample.ArgInt, sample.ArgTab}, Min: 1}},
	{"sc0_", 0, sample.ArgSpec{Types: []sample.ArgType{sample.ArgTab}}},
	{"sc1_", 1, sample.ArgSpec{Types: []sample.ArgType{sample.ArgTab}}},
	{"sc2_", 2, sample.ArgSpec{Types: []sample.ArgType{sample.ArgTab}}},
	{"src_", -1, sample.ArgSpec{Types: []sample.ArgType{sample.ArgTab}, Min: 1}},
}

// fetchTarget resolves the counter of a fetch from its form and args.
func fetchTarget(tx *sample.Txn, num int, args []sample.Arg) (target, bool) {
	tab := ""
	if num == -2 {
		if len(args) == 0 {
			return target{}, false
		}
		num = int(args[0].Int)
		args = args[1:]
		if num < 0 || num > 2 {
			return target{}, false
		}
	}
	if len(args) > 0 {
		tab = args[0].Str
	}
	return resolve(tx, num, tab)
}

func init() {
	for _, form := range fetchForms {
		form := form
		for _, cf := range counterFetches {
			cf := cf
			sample.RegisterFetch(sample.FetchDef{
				Name: form.prefix + cf.suffix, Args: form.args, Out: sample.TypeInt,
				Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
					g, ok := fetchTarget(tx, form.num, args)
					if !ok {
						return sample.Value{}, false
					}
					return g.read(cf.d, cf.shift)
				},
			})
		}
		for i := 0; i < 2; i++ {
			idx := i
			n := strconv.Itoa(idx)
			sample.RegisterFetch(sample.FetchDef{
				Name: form.prefix + "inc_gpc" + n, Args: form.args, Out: sample.TypeInt,
				Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
					g, ok := fetchTarget(tx, form.num, args)
					if !ok {
						return sample.Value{}, false
					}
					return g.incGPC(idx)
				},
			})
			sample.RegisterFetch(sample.FetchDef{
				Name: form.prefix + "clr_gpc" + n, Args: form.args, Out: sample.TypeInt,
				Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
					g, ok := fetchTarget(tx, form.num, args)
					if !ok {
						return sample.Value{}, false
					}
					return g.clrGPC(idx)
				},
			})
		}
		if form.num == -1 {
			sample.RegisterFetch(sample.FetchDef{
				Name: "src_updt_conn_cnt", Args: form.args, Out: sample.TypeInt,
				Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
					g, ok := fetchTarget(tx, -1, args)
					if !ok {
						return sample.Value{}, false
					}
					r, rel := g.ensure()
					if r == nil {
						return sample.Value{}, false
					}
					if rel {
						defer r.unhold()
					}
					r.Add(1, ConnCnt, ConnRate)
					v, ok := r.Value(ConnCnt)
					if !ok {
						return sample.Value{}, false
					}
					return sample.Value{Type: sample.TypeInt, Int: v}, true
				},
			})
			continue
		}
		sample.RegisterFetch(sample.FetchDef{
			Name: form.prefix + "tracked", Args: form.args, Out: sample.TypeBool,
			Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
				_, ok := fetchTarget(tx, form.num, args)
				return sample.Value{Type: sample.TypeBool, Bool: ok}, true
			},
		})
		sample.RegisterFetch(sample.FetchDef{
			Name: form.prefix + "trackers", Args: form.args, Out: sample.TypeInt,
			Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
				g, ok := fetchTarget(tx, form.num, args)
				if !ok {
					return sample.Value{}, false
				}
				n, _ := g.t.Trackers(g.key)
				return sample.Value{Type: sample.TypeInt, Int: int64(n)}, true
			},
		})
	}
	for _, name := range []string{"table_avl", "table_cnt"} {
		avl := name == "table_avl"
		sample.RegisterFetch(sample.FetchDef{
			Name: name, Args: sample.ArgSpec{Types: []sample.ArgType{sample.ArgTab}}, Out: sample.TypeInt,
			Fn: func(tx *sample.Txn, args []sample.Arg) (sample.Value, bool) {
				set := tablesOf(tx)
				if set == nil {
					return sample.Value{}, false
				}
				tb := defaultTable(tx, set)
				if len(args) > 0 {
					tb = set.Table(args[0].Str)
				}
				if tb == nil {
					return sample.Value{}, false
				}
				n := int64(tb.Len())
				if avl {
					n = int64(tb.cfg.Size) - n
				}
				return sample.Value{Type: sample.TypeInt, Int: n}, true
			},
		})
	}
	registerConverters()
}

func (g target) incGPC(idx int) (sample.Value, bool) {
	r, rel := g.ensure()
	if r == nil {
		return sample.Value{Type: sample.TypeInt}, true
	}
	if rel {
		defer r.unhold()
	}
	c, rate := gpcTypes[idx][0], gpcTypes[idx][1]
	var v int64
	if r.t.stored[rate] {
		r.Add(1, rate)
		r.t.mu.Lock()
		v = int64(r.e.freqs[rate].Curr)
		r.t.mu.Unlock()
	}
	if r.t.stored[c] {
		r.Add(1, c)
		v, _ = r.Value(c)
	}
	return sample.Value{Type: sample.TypeInt, Int: v}, true
}

func (g target) clrGPC(idx int) (sample.Value, bool) {
	r, rel := g.ensure()
	if r == nil {
		return sample.Value{Type: sample.TypeInt}, true
	}
	if rel {
		defer r.unhold()
	}
	old, ok := r.ClrGPC(idx)
	if !ok {
		return sample.Value{}, false
	}
	return sample.Value{Type: sample.TypeInt, Int: old}, true
}

// registerConverters adds in_table and table_*(TABLE): the data of the
// entry whose key is the input, 0 when there is none.
func registerConverters() {
	tabArg := sample.ArgSpec{Types: []sample.ArgType{sample.ArgTab}, Min: 1}
	lookup := func(tx *sample.Txn, in sample.Value, args []sample.Arg) (*Table, string, bool) {
		set := tablesOf(tx)
		tb := set.Table(args[0].Str)
		if tb == nil {
			return nil, "", false
		}
		key, ok := tb.Key(in)
		return tb, key, ok
	}
	sample.RegisterConverter(sample.ConvDef{
		Name: "in_table", Args: tabArg, In: sample.TypeAny, Out: sample.TypeBool,
		Fn: func(tx *sample.Txn, in sample.Value, args []sample.Arg) (sample.Value, bool) {
			tb, key, ok := lookup(tx, in, args)
			if !ok {
				return sample.Value{}, false
			}
			return sample.Value{Type: sample.TypeBool, Bool: tb.Has(key)}, true
		},
	})
	for _, cf := range counterFetches {
		cf := cf
		name := cf.suffix
		if n, ok := tableConvNames[name]; ok {
			name = n
		}
		sample.RegisterConverter(sample.ConvDef{
			Name: "table_" + name, Args: tabArg, In: sample.TypeAny, Out: sample.TypeInt,
			Fn: func(tx *sample.Txn, in sample.Value, args []sample.Arg) (sample.Value, bool) {
				tb, key, ok := lookup(tx, in, args)
				if !ok {
					return sample.Value{}, false
				}
				return target{t: tb, key: key}.read(cf.d, cf.shift)
			},
		})
	}
	sample.RegisterConverter(sample.ConvDef{
		Name: "table_server_id", Args: tabArg, In: sample.TypeAny, Out: sample.TypeInt,
		Fn: func(tx *sample.Txn, in sample.Value, args []sample.Arg) (sample.Value, bool) {
			tb, key, ok := lookup(tx, in, args)
			if !ok {
				return sample.Value{}, false
			}
			return target{t: tb, key: key}.read(ServerID, 0)
		},
	})
	sample.RegisterConverter(sample.ConvDef{
		Name: "table_trackers", Args: tabArg, In: sample.TypeAny, Out: sample.TypeInt,
		Fn: func(tx *sample.Txn, in sample.Value, args []sample.Arg) (sample.Value, bool) {
			tb, key, ok := lookup(tx, in, args)
			if !ok {
				return sample.Value{}, false
			}
			n, _ := tb.Trackers(key)
			return sample.Value{Type: sample.TypeInt, Int: int64(n)}, true
		},
	})
}
