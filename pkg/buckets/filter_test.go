package buckets

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/ipfs/go-cid"
)

// hubReadFilter runs the collection's read filter as go-threads v1.1.5 does
// (compileJSFunc, loadJSFunc, parseJSON, Export): its answer as JSON, or its error.
type hubReadFilter struct {
	vm *goja.Runtime
	fn goja.Callable
}

func newHubReadFilter(t *testing.T) *hubReadFilter {
	vm := goja.New()
	script := strings.ReplaceAll(fmt.Sprintf(`function readFilter(reader,instance) {%s}`, CollectionConfig().ReadFilter), "\t", "")
	if _, err := vm.RunString(script); err != nil {
		t.Fatal(err)
	}
	fn, ok := goja.AssertFunction(vm.Get("readFilter"))
	if !ok {
		t.Fatal("readFilter is not a function")
	}
	return &hubReadFilter{vm: vm, fn: fn}
}

func (f *hubReadFilter) run(reader string, instance []byte) ([]byte, error) {
	parse, _ := goja.AssertFunction(f.vm.Get("JSON").ToObject(f.vm).Get("parse"))
	inv, err := parse(nil, f.vm.ToValue(string(instance)))
	if err != nil {
		return nil, err
	}
	res, err := f.fn(nil, f.vm.ToValue(reader), inv)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res.Export())
}

func sameJSON(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// ReadFilterKeeps says "unchanged" only where the Hub's own filter, run in JavaScript,
// gives the instance back as it was: checked on instances of every shape the filter
// meets (and some it chokes on), for the owner, another identity and everyone.
func TestReadFilterKeepsOnlyWhatTheFilterKeeps(t *testing.T) {
	hub := newHubReadFilter(t)
	const owner, other = "bbaareowner", "bbaareother"
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...any) any { return vs[r.IntN(len(vs))] }
	absent := struct{}{}
	roleValue := func() any { return pick(0, 1, 2, 3, -1, 0.5, "1", "0", nil, true, absent) }
	roles := func() any {
		switch r.IntN(8) {
		case 0:
			return nil
		case 1:
			return []any{1}
		case 2:
			return absent
		}
		m := map[string]any{}
		for _, who := range []string{owner, other, "*"} {
			if v := roleValue(); v != absent {
				m[who] = v
			}
		}
		return m
	}
	kept, checked := 0, 0
	for i := 0; i < 5000; i++ {
		doc := map[string]any{"_id": "k", "name": "b", "path": "/ipfs/x", "key": "linkkey"}
		for field, v := range map[string]any{
			"version": pick(0, 1, 2, "1", "", nil, true, false, absent, 1, 1),
			"owner":   pick("", owner, other, 5, nil, absent, owner, owner),
		} {
			if v != absent {
				doc[field] = v
			}
		}
		switch r.IntN(6) {
		case 0:
			doc["metadata"] = nil
		case 1:
		default:
			md := map[string]any{}
			for _, p := range []string{"", "a", "a/b", "b", "/x", "a/", ".textileseed"} {
				if r.IntN(3) == 0 {
					continue
				}
				switch r.IntN(10) {
				case 0:
					md[p] = nil
				case 1:
					md[p] = map[string]any{"updated_at": 1}
				default:
					e := map[string]any{"updated_at": 1}
					if v := roles(); v != absent {
						e["roles"] = v
					}
					md[p] = e
				}
			}
			doc["metadata"] = md
		}
		instance, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, reader := range []string{owner, other, ""} {
			if !ReadFilterKeeps(instance, reader) {
				continue
			}
			checked++
			got, err := hub.run(reader, instance)
			if err != nil {
				t.Fatalf("ReadFilterKeeps(%s, %q) is true, yet the filter fails: %v", instance, reader, err)
			}
			if !sameJSON(t, got, instance) {
				t.Fatalf("ReadFilterKeeps(%s, %q) is true, yet the filter answers %s", instance, reader, got)
			}
			kept++
		}
	}
	// The generator reaches both answers often, or the test would prove little.
	if checked < 2000 || checked > 12000 {
		t.Fatalf("ReadFilterKeeps was true %d times of 15000: the generator no longer covers both answers", checked)
	}
	t.Logf("%d of 15000 reads kept whole, each checked against the filter", kept)
}

// The buckets hubctl writes: a public bucket (the Hub's New: "*" reads, the owner is
// admin) is kept whole for anyone; one whose root grants only its owner is kept for the
// owner and filtered for anyone else, as the filter would (it drops the link key).
func TestReadFilterKeepsTheBucketsHubctlWrites(t *testing.T) {
	hub := newHubReadFilter(t)
	const owner, other = "bbaareowner", "bbaareother"
	root, err := cid.Decode("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354")
	if err != nil {
		t.Fatal(err)
	}
	b := New("bafzkey", owner, "photos", root, time.Unix(0, asFloat(1733000000123456789)))
	b.LinkKey = "linkkey"
	b.SetMetadataAtPath("a/b.txt", Metadata{UpdatedAt: 5})
	public, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, reader := range []string{owner, other} {
		if !ReadFilterKeeps(public, reader) {
			t.Errorf("a public bucket is not kept whole for %s", reader)
		}
	}
	md := b.Metadata[""]
	md.Roles = map[string]Role{owner: Admin}
	b.Metadata[""] = md
	private, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !ReadFilterKeeps(private, owner) {
		t.Error("a bucket whose root grants its owner admin is not kept whole for the owner")
	}
	if ReadFilterKeeps(private, other) {
		t.Error("a bucket whose root grants only its owner is kept whole for another identity")
	}
	got, err := hub.run(other, private)
	if err != nil {
		t.Fatal(err)
	}
	if sameJSON(t, got, private) {
		t.Error("the filter keeps the owner-only bucket whole for another identity: this test no longer tells the two apart")
	}
}

// asFloat is n as a float64 round trip gives it (the timestamps go-threads stores).
func asFloat(n int64) int64 { return int64(float64(n)) }

// FilterFor answers what the Hub's filter, run in JavaScript, answers, for buckets of
// every shape of metadata roles (including the filter's quirks: keys that start with a
// slash, siblings sharing a prefix, the root's entry missing) and three readers.
func TestFilterForIsTheHubFilter(t *testing.T) {
	hub := newHubReadFilter(t)
	const owner, other = "bbaareowner", "bbaareother"
	r := rand.New(rand.NewPCG(3, 4))
	root, _ := cid.Decode("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354")
	paths := []string{"", "a", "a/b", "a/b/c", "ab", "b", "/x", "a/", SeedName, "docs", "docs/f.txt"}
	filtered, whole := 0, 0
	for i := 0; i < 3000; i++ {
		b := New("bafzkey", []string{owner, other, ""}[r.IntN(3)], "n", root, time.Unix(0, asFloat(1733000000123456789)))
		b.Version = []int{0, 1, 1, 1}[r.IntN(4)]
		if r.IntN(2) == 0 {
			b.LinkKey = "linkkey"
		}
		b.Metadata = map[string]Metadata{}
		for _, p := range paths {
			if r.IntN(2) == 0 {
				continue
			}
			roles := map[string]Role{}
			for _, who := range []string{owner, other, Everyone, ""} {
				if r.IntN(3) == 0 {
					roles[who] = Role(r.IntN(4))
				}
			}
			b.Metadata[p] = Metadata{Key: []string{"", "k"}[r.IntN(2)], Roles: roles, UpdatedAt: 7}
		}
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, reader := range []string{owner, other, ""} {
			want, err := hub.run(reader, raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(FilterFor(b, reader))
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, want) {
				t.Fatalf("FilterFor(%s, %q) = %s\nthe filter: %s", raw, reader, got, want)
			}
			if sameJSON(t, got, raw) {
				whole++
			} else {
				filtered++
			}
		}
	}
	if filtered < 1000 || whole < 1000 {
		t.Fatalf("%d filtered, %d whole of 9000: the generator no longer covers both", filtered, whole)
	}
}
