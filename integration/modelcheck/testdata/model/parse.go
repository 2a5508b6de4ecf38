package model

// Parse fills every field: filling is not reading.
func Parse() Cfg {
	c := Cfg{Dropped: true}
	c.OnlyParsed = "x"
	c.Used = 1
	return c
}
