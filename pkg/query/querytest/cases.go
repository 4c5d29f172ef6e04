// Package querytest is the table of queries every layer of hubctl is tested with: the
// query evaluator, hubctl's servers through go-threads' own Go client (Find and the Find
// of a read transaction), hubctl's streaming Find, the CLI's evaluation against a plain
// go-threads server, and the JavaScript client. The answers are written out by hand,
// not computed with the code under test.
package querytest

import (
	"encoding/json"
	"strings"

	"github.com/textileio/go-threads/db"
)

// Docs are the instances every case runs against. Their IDs fix the _id order, a..h.
// Some lack age, one holds it as a string and one as null, two nest an address.
var Docs = []string{
	`{"_id":"a","name":"ann","age":31,"admin":true}`,
	`{"_id":"b","name":"bob"}`,
	`{"_id":"c","name":"cy","age":"unknown"}`,
	`{"_id":"d","name":"dee","age":25,"admin":false,"address":{"city":"Oslo"}}`,
	`{"_id":"e","name":"eve","age":40,"address":{"city":"Rome"}}`,
	`{"_id":"f","name":"fay","age":25}`,
	`{"_id":"g","name":"gus","age":null}`,
	`{"_id":"h","name":"hal","age":52,"admin":true}`,
}

// FreeSchema is a schema every doc passes: a collection made with it, then given
// IndexedSchema and Indexes by UpdateCollection, holds instances go-threads never
// indexed (it does not index what is already there) and mixed types on indexed fields.
const FreeSchema = `{"type":"object","properties":{"_id":{"type":"string"}}}`

// IndexedSchema declares the types go-threads wants of indexed fields.
const IndexedSchema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},"age":{"type":"number"},"admin":{"type":"boolean"},"address":{"type":"object","properties":{"city":{"type":"string"}}}}}`

// Indexes are the fields IndexedSchema is indexed on.
var Indexes = []string{"name", "age", "admin", "address.city"}

// Case is one query and its answer: the names of the instances, in order, comma-joined.
type Case struct {
	Name  string
	Query *db.Query
	Want  string
}

func num(f float64) *float64 { return &f }
func str(s string) *string   { return &s }
func boo(b bool) *bool       { return &b }

func where(path string, op db.Operation, v db.Value) *db.Criterion {
	return &db.Criterion{FieldPath: path, Operation: op, Value: v}
}

func ands(c ...*db.Criterion) *db.Query { return &db.Query{Ands: c} }

// Cases are the table.
func Cases() []Case {
	return []Case{
		{"all", &db.Query{}, "ann,bob,cy,dee,eve,fay,gus,hal"},
		{"eq number", ands(where("age", db.Eq, db.Value{Float: num(25)})), "dee,fay"},
		{"eq number nobody has", ands(where("age", db.Eq, db.Value{Float: num(26)})), ""},
		{"ne number skips the instances without a number", ands(where("age", db.Ne, db.Value{Float: num(25)})), "ann,eve,hal"},
		{"gt past instances without the field", ands(where("age", db.Gt, db.Value{Float: num(30)})), "ann,eve,hal"},
		{"ge", ands(where("age", db.Ge, db.Value{Float: num(40)})), "eve,hal"},
		{"lt", ands(where("age", db.Lt, db.Value{Float: num(31)})), "dee,fay"},
		{"le", ands(where("age", db.Le, db.Value{Float: num(31)})), "ann,dee,fay"},
		{"eq string on a field of numbers", ands(where("age", db.Eq, db.Value{String: str("unknown")})), "cy"},
		{"eq string", ands(where("name", db.Eq, db.Value{String: str("eve")})), "eve"},
		{"gt string", ands(where("name", db.Gt, db.Value{String: str("eve")})), "fay,gus,hal"},
		{"le string", ands(where("name", db.Le, db.Value{String: str("bob")})), "ann,bob"},
		{"ne string", ands(where("name", db.Ne, db.Value{String: str("bob")})), "ann,cy,dee,eve,fay,gus,hal"},
		{"eq bool", ands(where("admin", db.Eq, db.Value{Bool: boo(true)})), "ann,hal"},
		{"lt bool", ands(where("admin", db.Lt, db.Value{Bool: boo(true)})), "dee"},
		{"ne bool", ands(where("admin", db.Ne, db.Value{Bool: boo(false)})), "ann,hal"},
		{"nested", ands(where("address.city", db.Eq, db.Value{String: str("Rome")})), "eve"},
		{"nested range", ands(where("address.city", db.Ge, db.Value{String: str("A")})), "dee,eve"},
		{"a path through a non-object", ands(where("name.first", db.Eq, db.Value{String: str("ann")})), ""},
		{"and", ands(where("age", db.Gt, db.Value{Float: num(20)}), where("admin", db.Eq, db.Value{Bool: boo(true)})), "ann,hal"},
		{"and on an index and a scan", ands(where("age", db.Eq, db.Value{Float: num(25)}), where("name", db.Eq, db.Value{String: str("fay")})), "fay"},
		{"or", &db.Query{Ands: []*db.Criterion{where("age", db.Eq, db.Value{Float: num(25)})},
			Ors: []*db.Query{ands(where("name", db.Eq, db.Value{String: str("bob")}))}}, "bob,dee,fay"},
		{"only ors", &db.Query{Ors: []*db.Query{ands(where("name", db.Eq, db.Value{String: str("gus")})), ands(where("age", db.Gt, db.Value{Float: num(50)}))}}, "gus,hal"},
		{"ors within ors", &db.Query{Ors: []*db.Query{{Ors: []*db.Query{ands(where("name", db.Eq, db.Value{String: str("cy")}))}}}}, "cy"},
		{"sort asc, then limit", &db.Query{Ands: []*db.Criterion{where("age", db.Gt, db.Value{Float: num(0)})}, Sort: db.Sort{FieldPath: "age"}, Limit: 3}, "dee,fay,ann"},
		{"sort desc, then skip", &db.Query{Ands: []*db.Criterion{where("age", db.Gt, db.Value{Float: num(0)})}, Sort: db.Sort{FieldPath: "age", Desc: true}, Skip: 1}, "eve,ann,dee,fay"},
		{"sort by name desc, skip and limit", &db.Query{Sort: db.Sort{FieldPath: "name", Desc: true}, Skip: 1, Limit: 2}, "gus,fay"},
		// Mixed types sort by type (null, numbers, strings); instances without the field go last.
		{"sort mixed types", &db.Query{Sort: db.Sort{FieldPath: "age"}}, "gus,dee,fay,ann,eve,hal,cy,bob"},
		{"sort mixed types desc", &db.Query{Sort: db.Sort{FieldPath: "age", Desc: true}}, "cy,hal,eve,ann,dee,fay,gus,bob"},
		{"sort mixed types, limit past the numbers", &db.Query{Sort: db.Sort{FieldPath: "age"}, Skip: 5, Limit: 2}, "hal,cy"},
		{"sort on a nested path", &db.Query{Sort: db.Sort{FieldPath: "address.city"}}, "dee,eve,ann,bob,cy,fay,gus,hal"},
		{"sort by _id desc", &db.Query{Sort: db.Sort{FieldPath: "_id", Desc: true}, Limit: 2}, "hal,gus"},
		{"limit and skip", &db.Query{Skip: 2, Limit: 3}, "cy,dee,eve"},
		{"skip past the end", &db.Query{Skip: 20}, ""},
		{"seek", &db.Query{Seek: "f"}, "fay,gus,hal"},
		{"seek, sorted by _id desc", &db.Query{Seek: "f", Sort: db.Sort{FieldPath: "_id", Desc: true}}, "hal,gus,fay"},
		{"seek with an index", &db.Query{Seek: "e", Ands: []*db.Criterion{where("age", db.Eq, db.Value{Float: num(25)})}}, "fay"},
	}
}

// Names reads the names of found instances, comma-joined, as Case.Want spells them.
func Names(found [][]byte) string {
	var out []string
	for _, d := range found {
		var v struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(d, &v)
		out = append(out, v.Name)
	}
	return strings.Join(out, ",")
}
