package buckets

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/hubctl/hubctl/pkg/jssafe"
	"github.com/hubctl/hubctl/pkg/schema"
	"github.com/textileio/textile/v2/threaddb"
	"github.com/xeipuuv/gojsonschema"
)

// TestCollectionConfigIsTheHubs compares the configuration with textile's own: the
// schema reflected from textile's threaddb.Bucket, and the validator and filter strings
// of the config textile's Buckets collection carries (unexported: read by reflection).
func TestCollectionConfigIsTheHubs(t *testing.T) {
	c := CollectionConfig()
	got, _ := json.Marshal(c.Schema)
	want, _ := json.Marshal((&jsonschema.Reflector{ExpandedStruct: true}).Reflect(&threaddb.Bucket{}))
	if string(got) != string(want) {
		t.Errorf("schema\n%s\nwant textile's\n%s", got, want)
	}
	tb, err := threaddb.NewBuckets(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hub := reflect.ValueOf(tb).Elem().FieldByName("Collection").FieldByName("config")
	for _, f := range []string{"Name", "WriteValidator", "ReadFilter"} {
		if g, w := reflect.ValueOf(c).FieldByName(f).String(), hub.FieldByName(f).String(); g != w {
			t.Errorf("%s differs from textile's:\n%s\nwant\n%s", f, g, w)
		}
	}
	if idx := hub.FieldByName("Indexes"); idx.Len() != 1 || idx.Index(0).FieldByName("Path").String() != IndexPath || len(c.Indexes) != 1 || c.Indexes[0].Path != IndexPath {
		t.Errorf("indexes %v, textile's %v", c.Indexes, idx)
	}
	p := CollectionConfigPB()
	if p.Name != CollectionName || string(p.Schema) != string(got) || len(p.Indexes) != 1 || p.Indexes[0].Path != IndexPath ||
		p.WriteValidator != c.WriteValidator || p.ReadFilter != c.ReadFilter {
		t.Errorf("CollectionConfigPB differs from CollectionConfig: %+v", p)
	}
}

// TestCollectionConfigPassesHubctlChecks runs the configuration through what hubctl
// checks a collection with (pkg/server checkConfigs: CheckRefs on the schema as sent and
// as go-threads stores it; the CLI's index and function checks), and an instance New
// makes through the schema and jssafe, which every write to a collection with a
// validator passes.
func TestCollectionConfigPassesHubctlChecks(t *testing.T) {
	p := CollectionConfigPB()
	if err := schema.CheckRefs(p.Schema); err != nil {
		t.Fatalf("CheckRefs: %v", err)
	}
	var stored jsonschema.Schema
	if err := json.Unmarshal(p.Schema, &stored); err != nil {
		t.Fatal(err)
	}
	storedRaw, _ := json.Marshal(&stored)
	if err := schema.CheckRefs(storedRaw); err != nil {
		t.Fatalf("CheckRefs of the stored form: %v", err)
	}
	if err := schema.CheckIndex(p.Schema, IndexPath); err != nil {
		t.Fatalf("CheckIndex: %v", err)
	}
	for fn, body := range map[*schema.Function]string{&schema.WriteValidator: p.WriteValidator, &schema.ReadFilter: p.ReadFilter} {
		if _, err := schema.CheckFunction(fn.What, *fn, []byte(body)); err != nil {
			t.Errorf("%s: %v", fn.What, err)
		}
	}

	compiled, err := schema.Compile(storedRaw)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"", "bbaareib4m6wi5xbr3gf2pyl6lmwo56xfrmgvjijhvlsxc4yjwuwisrkxr4"} {
		b := New(k, owner, "photos", testRoot, time.Now())
		b.SetMetadataAtPath("dir/file.txt", Metadata{UpdatedAt: 1})
		inst, _ := json.Marshal(b)
		res, err := compiled.Validate(gojsonschema.NewBytesLoader(inst))
		if err != nil || !res.Valid() {
			t.Errorf("instance %s fails the schema: %v %v", inst, err, res.Errors())
		}
		if err := jssafe.Check(inst); err != nil {
			t.Errorf("instance fails jssafe: %v", err)
		}
	}
}
