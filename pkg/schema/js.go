package schema

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Function is a kind of JavaScript function body ThreadDB runs for a collection.
type Function struct {
	What   string   // for messages: "write validator"
	Name   string   // the name go-threads gives the function
	Params []string // its parameters, which the body uses
	// Silent says what ThreadDB does when the body returns nothing.
	Silent string
	// Example is a minimal body, for the empty-file message.
	Example string
}

// The two functions of a collection (go-threads db/collection.go): the body is wrapped as
// `function NAME(PARAMS) {BODY}`, with every tab removed, and compiled in strict mode.
var (
	WriteValidator = Function{
		What: "write validator", Name: "_validate", Params: []string{"writer", "event", "instance"},
		Silent:  "ThreadDB refuses every write when the validator returns nothing",
		Example: "return true",
	}
	ReadFilter = Function{
		What: "read filter", Name: "_filter", Params: []string{"reader", "instance"},
		Silent:  "ThreadDB hides every instance when the filter returns nothing",
		Example: "return instance",
	}
)

func (f Function) prefix() string {
	return fmt.Sprintf("function %s(%s) {", f.Name, strings.Join(f.Params, ","))
}

// Wrap is the script go-threads compiles for body.
func (f Function) Wrap(body string) string {
	return strings.ReplaceAll(f.prefix()+body+"}", "\t", "")
}

// CheckFunction compiles body as go-threads will, with the same JavaScript engine (goja,
// at go-threads' version), and reports errors at their line and column in the file. It
// returns warnings about bodies that compile but cannot work as meant.
func CheckFunction(file string, fn Function, body []byte) (warnings []string, err error) {
	file = DisplayName(file)
	text := string(body)
	if strings.TrimSpace(text) == "" {
		return nil, &Error{File: file, Msg: fmt.Sprintf("the file is empty: a %s is a JavaScript function body, such as %q", fn.What, fn.Example)}
	}
	if !utf8.Valid(body) {
		return nil, &Error{File: file, Msg: "the file is not UTF-8 text"}
	}
	script := fn.Wrap(text)
	if _, perr := parser.ParseFile(nil, "", script, 0); perr != nil {
		var list parser.ErrorList
		if errors.As(perr, &list) && len(list) > 0 {
			return nil, fn.syntaxError(file, text, list[0].Position.Line, list[0].Position.Column, list[0].Message)
		}
		return nil, &Error{File: file, Msg: fn.explain(text, oneLine(perr.Error()))}
	}
	if _, cerr := goja.Compile("", script, true); cerr != nil {
		// Strict-mode errors carry no usable position.
		msg := oneLine(cerr.Error())
		if i := strings.LastIndex(msg, " at "); i > 0 {
			msg = msg[:i]
		}
		return nil, &Error{File: file, Msg: fn.explain(text, strings.TrimPrefix(msg, "SyntaxError: "))}
	}
	if !strings.Contains(text, "return") {
		warnings = append(warnings, fmt.Sprintf("%s has no return statement: %s", file, fn.Silent))
	}
	return warnings, nil
}

// syntaxError places a parser error (line, byte column in the wrapped, tab-stripped
// script) in the file as the user wrote it.
func (fn Function) syntaxError(file, body string, line, col int, msg string) error {
	stripped := strings.Split(strings.ReplaceAll(body, "\t", ""), "\n")
	original := strings.Split(body, "\n")
	if line == 1 {
		col -= len(fn.prefix())
	}
	if col < 1 {
		col = 1
	}
	if line > len(stripped) || (line == len(stripped) && col > len(stripped[line-1])) {
		// The error is at the wrapper's closing brace: the body ended too early.
		end := strings.TrimRight(body, " \t\r\n")
		d := &document{raw: []byte(body)}
		l, c := d.position(len(end))
		return &Error{File: file, Line: l, Col: c, Msg: fn.explain(body, "unexpected end of the function body (an unclosed bracket, parenthesis or string?)")}
	}
	// Map the byte column in the tab-stripped line back to the original line.
	orig := original[line-1]
	seen, i := 0, 0
	for ; i < len(orig) && seen < col-1; i++ {
		if orig[i] != '\t' {
			seen++
		}
	}
	for i < len(orig) && orig[i] == '\t' {
		i++
	}
	return &Error{File: file, Line: line, Col: 1 + utf8.RuneCountInString(orig[:i]), Msg: fn.explain(body, msg)}
}

// explain adds what usually causes an error in a validator body.
func (fn Function) explain(body, msg string) string {
	trimmed := strings.TrimSpace(body)
	switch {
	case strings.HasPrefix(trimmed, "function") || strings.Contains(body, "=>"):
		msg += fmt.Sprintf("; give the function's body only: ThreadDB wraps it as %s ... }", fn.prefix())
	case containsWord(body, "let") || containsWord(body, "const") || strings.Contains(body, "`"):
		msg += "; ThreadDB's JavaScript engine is ES5.1: use var, not let or const, and no template strings"
	}
	return msg
}

func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isIdent(s[j-1])
		after := j+len(w) == len(s) || !isIdent(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + len(w)
	}
}

func isIdent(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
