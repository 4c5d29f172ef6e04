package buckets

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// model is what a bucket tree should hold: files by path (their CIDs) and directories.
type model struct {
	files map[string]string
	dirs  map[string]bool
}

func (m *model) isFile(p string) bool { _, ok := m.files[p]; return ok }
func (m *model) exists(p string) bool { return p == "" || m.isFile(p) || m.dirs[p] }

// throughFile says whether a proper prefix of p is a file.
func (m *model) throughFile(p string) bool {
	segs := strings.Split(p, "/")
	for i := 1; i < len(segs); i++ {
		if m.isFile(strings.Join(segs[:i], "/")) {
			return true
		}
	}
	return false
}

func (m *model) drop(p string) {
	delete(m.files, p)
	delete(m.dirs, p)
	for k := range m.files {
		if strings.HasPrefix(k, p+"/") {
			delete(m.files, k)
		}
	}
	for k := range m.dirs {
		if strings.HasPrefix(k, p+"/") {
			delete(m.dirs, k)
		}
	}
}

func (m *model) mkdirs(p string) {
	segs := strings.Split(p, "/")
	for i := 1; i < len(segs); i++ {
		m.dirs[strings.Join(segs[:i], "/")] = true
	}
}

func (m *model) put(p, c string) bool {
	if m.throughFile(p) {
		return false
	}
	m.mkdirs(p)
	m.drop(p)
	m.files[p] = c
	return true
}

func (m *model) remove(p string) bool {
	if m.throughFile(p) || !m.exists(p) {
		return false
	}
	m.drop(p)
	return true
}

func (m *model) move(from, to string) bool {
	if from == to {
		return true
	}
	if m.throughFile(from) || !m.exists(from) {
		return false
	}
	srcDir := !m.isFile(from)
	dst := to
	switch {
	case !m.throughFile(to) && m.exists(to) && !m.isFile(to):
		dst = joinPath(to, from[strings.LastIndexByte(from, '/')+1:])
	case !m.throughFile(to) && m.isFile(to) && srcDir:
		return false
	}
	if dst == from {
		return true
	}
	if strings.HasPrefix(dst, from+"/") || strings.HasPrefix(from, dst+"/") || m.throughFile(dst) {
		return false
	}
	files, dirs := map[string]string{}, map[string]bool{}
	for k, v := range m.files {
		if k == from || strings.HasPrefix(k, from+"/") {
			files[dst+k[len(from):]] = v
		}
	}
	for k := range m.dirs {
		if k == from || strings.HasPrefix(k, from+"/") {
			dirs[dst+k[len(from):]] = true
		}
	}
	m.drop(from)
	m.mkdirs(dst)
	m.drop(dst)
	for k, v := range files {
		m.files[k] = v
	}
	for k := range dirs {
		m.dirs[k] = true
	}
	return true
}

// TestEditorAgainstModel runs random edits, reads, roots and commits on an Editor and on
// a model of the tree, and compares what they accept and what the tree holds.
func TestEditorAgainstModel(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	root, err := NewRoot(ctx, p, make([]byte, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	var fs []ipld.Node
	for i := range 4 {
		fs = append(fs, addFile(t, p, []byte{byte(i)}))
	}
	fs = append(fs, addFile(t, p, content(262145, 9))) // a dag-pb file
	for seed := range int64(200) {
		rng := rand.New(rand.NewSource(seed))
		e, err := NewEditor(ctx, p, root.Cid())
		if err != nil {
			t.Fatal(err)
		}
		m := &model{files: map[string]string{SeedName: root.Links()[0].Cid.String()}, dirs: map[string]bool{}}
		path := func() string {
			segs := make([]string, 1+rng.Intn(3))
			for i := range segs {
				segs[i] = string(rune('a' + rng.Intn(3)))
			}
			return strings.Join(segs, "/")
		}
		var log []string
		check := func(c cid.Cid) {
			got := listing(t, p, c)
			want := map[string]string{}
			for k, v := range m.files {
				want[k] = v
			}
			for k := range m.dirs {
				want[k] = "dir"
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("seed %d after %s:\ntree  %v\nmodel %v", seed, strings.Join(log, "; "), got, want)
			}
		}
		for range 60 {
			var op string
			var ok, wantOK bool
			before, _ := e.Root()
			switch rng.Intn(6) {
			case 0, 1:
				pth, f := path(), fs[rng.Intn(len(fs))]
				op = "put " + pth
				ok, wantOK = e.Put(ctx, pth, f) == nil, m.put(pth, f.Cid().String())
			case 2:
				pth := path()
				op = "rm " + pth
				ok, wantOK = e.Remove(ctx, pth) == nil, m.remove(pth)
			case 3:
				from, to := path(), path()
				if rng.Intn(5) == 0 {
					to = ""
				}
				op = "mv " + from + " " + to
				ok, wantOK = e.Move(ctx, from, to) == nil, m.move(from, to)
			case 4:
				pth := path()
				op = "get " + pth
				_, err := e.Get(ctx, pth)
				ok, wantOK = err == nil, m.exists(pth) && !m.throughFile(pth)
			case 5:
				op = "commit"
				c, err := e.Commit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ok, wantOK = true, true
				log = append(log, op)
				check(c)
				continue
			}
			log = append(log, op)
			if after, _ := e.Root(); !ok && !after.Equals(before) {
				t.Fatalf("seed %d: %s refused but changed the root (after %s)", seed, op, strings.Join(log, "; "))
			}
			if ok != wantOK {
				t.Fatalf("seed %d: %s: editor ok=%v, model ok=%v (after %s)", seed, op, ok, wantOK, strings.Join(log, "; "))
			}
		}
		r, _ := e.Root()
		c, err := e.Commit(ctx)
		if err != nil || !c.Equals(r) {
			t.Fatalf("seed %d: Root %s, Commit %s %v", seed, r, c, err)
		}
		check(c)
	}
}
