// Package runtime is a fixture for modelcheck's own test.
package runtime

import "hapair/integration/modelcheck/testdata/model"

// Run reads some of the model.
func Run(c model.Cfg) int { return c.Used + c.Double() + c.Inner.Deep }
