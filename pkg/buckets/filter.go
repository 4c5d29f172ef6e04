package buckets

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ReadFilterKeeps reports whether the Hub's read filter (readFilter, which go-threads runs
// in JavaScript on every read of the collection) gives instance, as stored, to reader (a
// public key's string form) unchanged. A server that has read the instance straight from
// the store may then answer it without running the filter: on a bucket with metadata for
// 10,000 paths the filter's parse, walk and export take about 100 ms of CPU a read.
//
// The filter keeps an instance whole when its version is falsy or its owner is "", and
// when the root's metadata ("", the first path it tries for every key) gives reader or
// "*" a role above none: every path's entry then passes on its first test, and the link
// key stays. Anything else, or anything not shaped as the filter expects (a role that is
// not a number, roles that are not an object), is false: run the filter. Keys are
// matched exactly, as JavaScript does (encoding/json's struct fields would match
// "Version" too). The one difference left is for the better: numbers come back as they
// are stored, where the filter's round trip through JavaScript rounds integers past 2^53.
func ReadFilterKeeps(instance []byte, reader string) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(instance, &doc) != nil || doc == nil {
		return false
	}
	if v, ok := doc["version"]; !ok || jsFalsy(v) {
		return true // if (!instance.version) return instance
	}
	var owner string
	if json.Unmarshal(doc["owner"], &owner) == nil && isString(doc["owner"]) && owner == "" {
		return true // if (instance.owner === "") return instance
	}
	var metadata map[string]json.RawMessage
	if !isObject(doc["metadata"]) || json.Unmarshal(doc["metadata"], &metadata) != nil {
		return false
	}
	var root map[string]json.RawMessage
	if !isObject(metadata[""]) || json.Unmarshal(metadata[""], &root) != nil {
		return false
	}
	var roles map[string]json.RawMessage
	if !isObject(root["roles"]) || json.Unmarshal(root["roles"], &roles) != nil {
		return false
	}
	return positive(roles[reader]) || positive(roles["*"])
}

// jsFalsy is JavaScript's falsiness of a JSON value: null, false, 0 and "".
func jsFalsy(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	switch {
	case bytes.Equal(v, []byte("null")), bytes.Equal(v, []byte("false")), bytes.Equal(v, []byte(`""`)):
		return true
	case isNumber(v):
		var f float64
		return json.Unmarshal(v, &f) == nil && f == 0
	}
	return false
}

// positive is a JSON number above zero (a role above none); anything else is not, here.
func positive(v json.RawMessage) bool {
	var f float64
	return isNumber(v) && json.Unmarshal(v, &f) == nil && f > 0
}

func isNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
}

func isObject(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{'
}

func isString(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '"'
}

// FilterFor is the bucket as the Hub's read filter hands it to reader (a public key's
// string form, "" without a token): the metadata of the paths reader may not read left
// out, and the link key too when nothing is left. It follows the filter's JavaScript
// step by step (a path's entry is kept when the entry of the path or of any directory
// above it gives reader or "*" a role above none; with a version of 0 or an owner of "",
// the whole bucket), so that a server holding the bucket read straight from the store
// answers what go-threads would. b is not changed.
func FilterFor(b *Bucket, reader string) *Bucket {
	out := b.Copy()
	if b.Version == 0 || b.Owner == "" {
		return out
	}
	grants := func(p string) bool {
		x, ok := b.Metadata[p]
		return ok && (x.Roles[reader] > None || x.Roles[Everyone] > None)
	}
	kept := map[string]Metadata{}
	for key, md := range out.Metadata {
		parts := strings.Split(key, "/")
		if len(key) > 0 {
			parts = append([]string{""}, parts...)
		}
		path := ""
		for _, part := range parts {
			if len(path) > 0 {
				path += "/"
			}
			path += part
			if grants(path) {
				kept[key] = md
				break
			}
		}
	}
	out.Metadata = kept
	if len(kept) == 0 {
		out.LinkKey = ""
	}
	return out
}
