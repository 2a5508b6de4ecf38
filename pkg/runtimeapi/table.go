package runtimeapi

// The stick table commands (management guide section 9.3, "show table",
// "clear table", "set table"), answered by pkg/sticktable in haproxy's
// text format. Every level may run them; below operator, the contents are
// neither shown nor changed, as haproxy does.

// tableCommand runs a table command; ok is false for any other command.
func (c *Commands) tableCommand(args []string, level Level) (out string, ok bool) {
	if len(args) < 2 || args[1] != "table" {
		return "", false
	}
	var set = c.Source.Engine.StickTables()
	oper := level >= LevelOperator
	switch args[0] {
	case "show":
		return set.Show(args[2:], oper), true
	case "clear":
		return set.Clear(args[2:], oper), true
	case "set":
		return set.SetEntry(args[2:], oper), true
	}
	return "", false
}

// tableUnreached runs the help rows of the table commands, which
// tableCommand answers first.
func tableUnreached(*Commands, []string) string { return "" }
