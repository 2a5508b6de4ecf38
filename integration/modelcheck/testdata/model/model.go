// Package model is a fixture for modelcheck's own test.
package model

// Cfg is a model with fields read and dropped.
type Cfg struct {
	Used       int
	ViaMethod  int
	Inner      Inner
	Dropped    bool
	OnlyParsed string
}

// Inner is read through an embedded path.
type Inner struct{ Deep int }

// Double reads ViaMethod for the runtime.
func (c Cfg) Double() int { return 2 * c.ViaMethod }
