// Package jssafe says which JSON documents go-threads v1.1.5 can hand to a collection's
// JavaScript write validator or read filter without changing them or running them as
// code. Servers apply it to writes (pkg/server) and to records from peers (pkg/node).
package jssafe

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Check refuses an instance go-threads cannot hand to a JavaScript validator or
// filter safely. go-threads (db.parseJSON) runs JSON.parse('<the JSON>') in the
// collection's VM, before the validator's timeout starts: a ' in a string (written as is,
// or as \u0027, which go-threads decodes when it re-encodes the write's event) ends the
// literal and runs the rest as code (an endless loop there holds the database's lock for
// ever); the JavaScript literal also decodes the JSON's own escapes, so a " or a \ in a
// string changes what JSON.parse reads (a validator can be shown fields the instance does
// not have), and a control character or a line separator makes it fail. So no string,
// key or value, may hold any of them.
func Check(inst []byte) error {
	var v any
	if err := json.Unmarshal(inst, &v); err != nil {
		return nil // go-threads refuses it itself
	}
	var bad error
	var walk func(any) bool
	check := func(s string) bool {
		for _, r := range s {
			switch {
			case r == '\'':
				bad = errors.New("a string holds a single quote (')")
			case r == '"':
				bad = errors.New(`a string holds a double quote (")`)
			case r == '\\':
				bad = errors.New(`a string holds a backslash (\)`)
			case r < 0x20 || r == '\u2028' || r == '\u2029':
				bad = fmt.Errorf("a string holds the control character %U", r)
			default:
				continue
			}
			return false
		}
		return true
	}
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			return check(x)
		case []any:
			for _, e := range x {
				if !walk(e) {
					return false
				}
			}
		case map[string]any:
			for k, e := range x {
				if !check(k) || !walk(e) {
					return false
				}
			}
		}
		return true
	}
	walk(v)
	return bad
}

// CheckString applies Check's rule to one string (an instance ID, a collection name).
func CheckString(s string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return Check(b)
}
