// Package instanceid is the one rule for ThreadDB instance IDs (the `_id` of a document)
// that hubctl's servers and its client apply on every path an ID can arrive by.
//
// go-threads v1.1.5 makes an instance's datastore key with ds.Key.ChildString, which
// cleans the path: an `_id` of "../other/x" is stored in another collection, past its
// schema and write validator, and "../../schema/people" overwrites a collection's schema,
// which then fails to load on every start. The rule keeps every ID one key segment long.
package instanceid

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds an ID in bytes: far above ULIDs (26), UUIDs (36) and e-mail addresses
// (254 at most), and far below anything that would bloat every index and key.
const MaxLen = 256

// ErrInvalid is wrapped by every refusal.
var ErrInvalid = errors.New("invalid instance ID")

// Check refuses an ID that could leave its collection's key space or is unreasonably
// long: empty, "." or "..", containing "/" or "\", NUL or any other control character,
// not UTF-8, or over MaxLen bytes.
func Check(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: it is empty", ErrInvalid)
	case id == "." || id == "..":
		return fmt.Errorf("%w %q: %q is a path step", ErrInvalid, id, id)
	case len(id) > MaxLen:
		return fmt.Errorf("%w: it is %d bytes long, over the limit of %d", ErrInvalid, len(id), MaxLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: it is not valid UTF-8", ErrInvalid)
	}
	if i := strings.IndexAny(id, `/\`); i >= 0 {
		return fmt.Errorf("%w %q: it contains %q", ErrInvalid, id, id[i:i+1])
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w %q: it contains the control character %U", ErrInvalid, id, r)
		}
	}
	return nil
}

// Rule is the rule in one sentence, for documentation and error hints.
const Rule = `an _id is 1 to 256 bytes of UTF-8 with no "/", "\" or control characters, and is not "." or ".."`

// FromJSON returns the `_id` of a JSON document the way go-threads reads it (a string
// field matched as encoding/json matches, so "_ID" counts too), and whether it is there:
// a missing or null `_id` is absent.
func FromJSON(doc []byte) (id string, present bool, err error) {
	var partial struct {
		ID *string `json:"_id"`
	}
	if err := json.Unmarshal(doc, &partial); err != nil {
		return "", false, fmt.Errorf("read _id: %w", err)
	}
	if partial.ID == nil {
		return "", false, nil
	}
	return *partial.ID, true, nil
}

// CheckNew checks the `_id` of a document being created: go-threads makes a new ID when
// it is absent or "", so only an ID the caller chose is checked.
func CheckNew(doc []byte) error {
	id, present, err := FromJSON(doc)
	if err != nil || !present || id == "" {
		return nil // go-threads itself refuses what is not JSON; "" gets a new ULID
	}
	return Check(id)
}

// CheckSaved checks the `_id` of a document being saved or verified, which must name
// the instance.
func CheckSaved(doc []byte) error {
	id, present, err := FromJSON(doc)
	if err != nil {
		return nil // go-threads refuses it with its own error
	}
	if !present {
		return fmt.Errorf("%w: the document has no _id", ErrInvalid)
	}
	return Check(id)
}
