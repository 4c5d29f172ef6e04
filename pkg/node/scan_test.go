package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
)

// scanAll pages through a collection with opts' bounds and returns the IDs in order and
// the number of pages.
func scanAll(t *testing.T, ctx context.Context, n *Node, db thread.ID, collection string, opts ScanOptions) ([]string, int) {
	t.Helper()
	var ids []string
	pages := 0
	for {
		page, err := n.ScanInstances(ctx, db, collection, opts)
		if err != nil {
			t.Fatalf("scan %s after %q: %v", collection, opts.After, err)
		}
		pages++
		if pages > 1000 {
			t.Fatal("the scan does not end")
		}
		for _, in := range page.Instances {
			ids = append(ids, in.ID)
			if !strings.Contains(string(in.JSON), `"_id":"`+in.ID+`"`) {
				t.Fatalf("instance %s holds %s", in.ID, in.JSON)
			}
		}
		if !page.More {
			return ids, pages
		}
		if len(page.Instances) == 0 {
			t.Fatal("a page with More holds no instance")
		}
		opts.After = page.Instances[len(page.Instances)-1].ID
	}
}

// ScanInstances pages through one collection of one database in ID order, resumes after
// the key it is given, bounds its pages in count and bytes, and never includes another
// collection's instances (not even one whose name starts with this one's), another
// thread's, or none at all for an empty collection. It reads around read filters.
func TestScanInstancesPages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := openAt(t, ctx, filepath.Join(t.TempDir(), "node"), nil)
	cols := []*pb.CollectionConfig{
		{Name: "people", Schema: []byte(personSchema)},
		{Name: "people-2", Schema: []byte(personSchema)},
		{Name: "empty", Schema: []byte(personSchema)},
		{Name: "hidden", Schema: []byte(personSchema), ReadFilter: "return null"},
	}
	db1, _ := createDB(t, ctx, n, "one", cols...)
	db2, _ := createDB(t, ctx, n, "two", cols...)
	var want []string
	for i := 0; i < 7; i++ {
		id := fmt.Sprintf("p%02d", i)
		want = append(want, id)
		put(t, ctx, n, db1, "people", fmt.Sprintf(`{"_id":%q,"name":"person %d"}`, id, i))
	}
	put(t, ctx, n, db1, "people-2", `{"_id":"p00-sibling","name":"not people"}`)
	put(t, ctx, n, db2, "people", `{"_id":"p03x","name":"another thread"}`)
	put(t, ctx, n, db1, "hidden", `{"_id":"h1","name":"secret"}`)

	for _, limit := range []int{1, 2, 3, 7, 100} {
		got, pages := scanAll(t, ctx, n.Node, db1, "people", ScanOptions{Limit: limit})
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("limit %d: got %v, want %v", limit, got, want)
		}
		if limit < 7 && pages < 7/limit {
			t.Fatalf("limit %d: %d pages", limit, pages)
		}
	}
	// Resume after a key, and after one that is not there (between two).
	page, err := n.ScanInstances(ctx, db1, "people", ScanOptions{After: "p03", Limit: 2})
	if err != nil || len(page.Instances) != 2 || page.Instances[0].ID != "p04" || page.Instances[1].ID != "p05" || !page.More {
		t.Fatalf("after p03: %+v %v", page, err)
	}
	page, err = n.ScanInstances(ctx, db1, "people", ScanOptions{After: "p035"})
	if err != nil || len(page.Instances) != 3 || page.Instances[0].ID != "p04" || page.More {
		t.Fatalf("after p035: %+v %v", page, err)
	}
	page, err = n.ScanInstances(ctx, db1, "people", ScanOptions{After: "p06"})
	if err != nil || len(page.Instances) != 0 || page.More {
		t.Fatalf("after the last: %+v %v", page, err)
	}
	// Bytes: two and a half instances' worth fits two, and one larger than the bound
	// alone still makes a page.
	page, err = n.ScanInstances(ctx, db1, "people", ScanOptions{Limit: 1})
	if err != nil || len(page.Instances) != 1 {
		t.Fatalf("limit 1: %+v %v", page, err)
	}
	size := len(page.Instances[0].JSON)
	page, err = n.ScanInstances(ctx, db1, "people", ScanOptions{MaxBytes: size * 5 / 2})
	if err != nil || len(page.Instances) != 2 || !page.More {
		t.Fatalf("%d bytes: %+v %v", size*5/2, page, err)
	}
	page, err = n.ScanInstances(ctx, db1, "people", ScanOptions{MaxBytes: 1})
	if err != nil || len(page.Instances) != 1 || !page.More {
		t.Fatalf("1 byte: %+v %v", page, err)
	}
	if got, _ := scanAll(t, ctx, n.Node, db1, "people", ScanOptions{MaxBytes: 1}); len(got) != 7 {
		t.Fatalf("pages of one instance: %v", got)
	}

	if got, pages := scanAll(t, ctx, n.Node, db1, "empty", ScanOptions{}); len(got) != 0 || pages != 1 {
		t.Fatalf("empty collection: %v in %d pages", got, pages)
	}
	if got, _ := scanAll(t, ctx, n.Node, db1, "people-2", ScanOptions{}); strings.Join(got, ",") != "p00-sibling" {
		t.Fatalf("people-2: %v", got)
	}
	if got, _ := scanAll(t, ctx, n.Node, db2, "people", ScanOptions{}); strings.Join(got, ",") != "p03x" {
		t.Fatalf("the other thread's people: %v", got)
	}
	// The read filter hides h1 from Find; the scan reads what is stored.
	found, err := n.threads.Find(ctx, &pb.FindRequest{DbID: db1.Bytes(), CollectionName: "hidden", QueryJSON: []byte(`{}`)})
	if err != nil || len(found.Instances) != 0 {
		t.Fatalf("Find through the filter: %v %v", found, err)
	}
	if got, _ := scanAll(t, ctx, n.Node, db1, "hidden", ScanOptions{}); strings.Join(got, ",") != "h1" {
		t.Fatalf("hidden: %v", got)
	}
}

// Names that are not collections of the database are refused before any key is built:
// names that climb out of the collection (into another thread's instances, which a key
// made with ChildString would reach), an empty name, a collection of another database,
// an unknown database, and a scan whose context has ended.
func TestScanInstancesRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := openAt(t, ctx, filepath.Join(t.TempDir(), "node"), nil)
	db1, _ := createDB(t, ctx, n, "one", &pb.CollectionConfig{Name: "people", Schema: []byte(personSchema)})
	db2, _ := createDB(t, ctx, n, "two", &pb.CollectionConfig{Name: "secrets", Schema: []byte(personSchema)})
	put(t, ctx, n, db2, "secrets", `{"_id":"s1","name":"the other thread's"}`)
	put(t, ctx, n, db1, "people", `{"_id":"a1","name":"mine"}`)

	for _, name := range []string{
		"",
		"../",
		"..",
		"people/..",
		"x/../../../../" + db2.String() + "/db/collection/secrets",
		"people/../../../../" + db2.String() + "/db/collection/secrets",
		"people/",
		"people\x00",
		"people.",
	} {
		page, err := n.ScanInstances(ctx, db1, name, ScanOptions{})
		if !errors.Is(err, ErrInvalidCollection) || len(page.Instances) != 0 {
			t.Errorf("collection %q: %+v %v, want %v", name, page, err, ErrInvalidCollection)
		}
	}
	if page, err := n.ScanInstances(ctx, db1, "secrets", ScanOptions{}); !errors.Is(err, ErrCollectionNotFound) || len(page.Instances) != 0 {
		t.Errorf("another database's collection: %+v %v", page, err)
	}
	if page, err := n.ScanInstances(ctx, thread.NewIDV1(thread.Raw, 32), "people", ScanOptions{}); !errors.Is(err, ErrDBNotFound) || len(page.Instances) != 0 {
		t.Errorf("unknown database: %+v %v", page, err)
	}
	// An After that climbs is only a position inside this collection's keys.
	page, err := n.ScanInstances(ctx, db1, "people", ScanOptions{After: "../../../../" + db2.String() + "/db/collection/secrets/"})
	if err != nil || len(page.Instances) != 1 || page.Instances[0].ID != "a1" {
		t.Errorf("a climbing After: %+v %v", page, err)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := n.ScanInstances(done, db1, "people", ScanOptions{}); err == nil {
		t.Error("a scan with an ended context read on")
	}
}

// ReadInstance reads one instance as stored, around the read filter, and refuses an ID
// or a collection that would build another key: an ID that climbs out of the collection
// (into another thread's instance, which go-threads' ChildString would clean it into), a
// missing ID, another database's collection, an unknown database.
func TestReadInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := openAt(t, ctx, filepath.Join(t.TempDir(), "node"), nil)
	db1, _ := createDB(t, ctx, n, "one", &pb.CollectionConfig{Name: "hidden", Schema: []byte(personSchema), ReadFilter: "return null"})
	db2, _ := createDB(t, ctx, n, "two", &pb.CollectionConfig{Name: "secrets", Schema: []byte(personSchema)})
	put(t, ctx, n, db1, "hidden", `{"_id":"h1","name":"mine"}`)
	put(t, ctx, n, db2, "secrets", `{"_id":"s1","name":"the other thread's"}`)

	got, err := n.ReadInstance(ctx, db1, "hidden", "h1")
	if err != nil || !strings.Contains(string(got), `"name":"mine"`) {
		t.Fatalf("h1: %s %v", got, err)
	}
	if _, err := n.ReadInstance(ctx, db1, "hidden", "h2"); !errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("a missing ID: %v, want %v", err, ErrInstanceNotFound)
	}
	for _, id := range []string{"", "..", "../../../../" + db2.String() + "/db/collection/secrets/s1", "h1/", "x/../h1", `..\h1`} {
		if got, err := n.ReadInstance(ctx, db1, "hidden", id); err == nil {
			t.Errorf("ID %q: read %s", id, got)
		}
	}
	for _, name := range []string{"../hidden", "hidden/../../../../" + db2.String() + "/db/collection/secrets", ""} {
		if got, err := n.ReadInstance(ctx, db1, name, "s1"); !errors.Is(err, ErrInvalidCollection) {
			t.Errorf("collection %q: %s %v, want %v", name, got, err, ErrInvalidCollection)
		}
	}
	if _, err := n.ReadInstance(ctx, db1, "secrets", "s1"); !errors.Is(err, ErrCollectionNotFound) {
		t.Errorf("another database's collection: %v", err)
	}
	if _, err := n.ReadInstance(ctx, thread.NewIDV1(thread.Raw, 32), "hidden", "h1"); !errors.Is(err, ErrDBNotFound) {
		t.Errorf("unknown database: %v", err)
	}
}
