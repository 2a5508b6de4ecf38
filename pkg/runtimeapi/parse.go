// Package runtimeapi is haproxy's stats socket (management guide, section
// 9.3 "Unix Socket commands"): `stats socket PATH [mode M] [level L]` in
// global, the commands operators and tools such as hatop and socat use,
// with haproxy 2.6's outputs.
package runtimeapi

import (
	"errors"
	"strings"
)

// MaxArgs is the most words haproxy's CLI accepts in one command.
const MaxArgs = 64

// ErrTooManyArgs means a command has more than MaxArgs words.
var ErrTooManyArgs = errors.New("runtimeapi: too many words in command")

// SplitLine cuts one input line into commands and each command into words,
// as haproxy's CLI does: commands end at an unescaped ';', words at spaces
// and tabs, and a backslash makes the next character literal.
func SplitLine(line string) ([][]string, error) {
	line = strings.TrimRight(line, "\r\n")
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		cmds = append(cmds, words)
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			endWord()
		case c == ';':
			endCmd()
		default:
			cur.WriteByte(c)
			inWord = true
		}
		if len(words) > MaxArgs {
			return nil, ErrTooManyArgs
		}
	}
	endCmd()
	return cmds, nil
}
