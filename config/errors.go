package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// FieldError is one problem with one setting. Msg never holds a secret.
type FieldError struct {
	Path string // json path such as "model_list[1].api_base", or an env variable name
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// SyntaxError reports config text that is not valid JSON.
type SyntaxError struct {
	File   string // set by Load; empty from Parse
	Line   int    // 1-based
	Column int    // 1-based, in characters
	Offset int64  // byte offset of the offending byte
	Msg    string // the JSON parser's description
}

func (e *SyntaxError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("config: %d:%d: invalid JSON: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("config: %s:%d:%d: invalid JSON: %s", e.File, e.Line, e.Column, e.Msg)
}

// newSyntaxError locates byte offset off in data. encoding/json reports the
// number of bytes read when it gave up, so the culprit is the byte before.
func newSyntaxError(data []byte, off int64, msg string) *SyntaxError {
	if off > 0 {
		off--
	}
	off = min(off, int64(len(data)))
	line, col := 1, 1
	lineStart := 0
	for i := range int(off) {
		if data[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	col += utf8.RuneCount(data[lineStart:off])
	return &SyntaxError{Line: line, Column: col, Offset: off, Msg: msg}
}

// Error collects every problem found in one config; errors.As finds each
// *FieldError through Unwrap.
type Error struct {
	File     string // set by Load; empty from Parse
	Problems []error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0].Error())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() []error { return e.Problems }
