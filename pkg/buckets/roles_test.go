package buckets

import "testing"

func TestRoleOfMergesDownTheTree(t *testing.T) {
	b := &Bucket{Owner: "owner", Version: Version, Metadata: map[string]Metadata{
		"":            {Roles: map[string]Role{"owner": Admin}},
		"docs":        {Roles: map[string]Role{"reader": Reader, "writer": Writer}},
		"docs/inner":  {Roles: map[string]Role{"reader": None, "admin": Admin}},
		"pub":         {Roles: map[string]Role{Everyone: Reader}},
		"docsextra":   {Roles: map[string]Role{"stranger": Writer}},
		"docs/hostil": {Roles: map[string]Role{"reader": 99}},
	}}
	cases := []struct {
		who, pth string
		want     Role
	}{
		{"owner", "", Admin},
		{"owner", "anything/at/all", Admin},
		{"reader", "", None},
		{"reader", "docs", Reader},
		{"reader", "docs/a.txt", Reader},
		{"reader", "docs/inner/x", Reader}, // a lower role below does not take one away
		{"reader", "docsextra", None},      // siblings by prefix share nothing
		{"reader", "other", None},
		{"writer", "docs/new/file", Writer},
		{"writer", "pub", Reader}, // everyone's role
		{"admin", "docs/inner/x", Admin},
		{"admin", "docs", None},
		{"stranger", "docs", None},
		{"", "pub/x", Reader},
		{"", "docs", None},
		{"reader", "docs/hostil/f", Admin}, // a hostile number is capped
	}
	for _, c := range cases {
		if got := b.RoleOf(c.who, c.pth); got != c.want {
			t.Errorf("RoleOf(%q, %q) = %v, want %v", c.who, c.pth, got, c.want)
		}
	}
	if !b.ReaderAnywhere("reader") || b.ReaderAnywhere("nobody-but-everyone") != true {
		t.Error("ReaderAnywhere misses a role, or everyone's")
	}
	delete(b.Metadata, "pub")
	if b.ReaderAnywhere("nobody") {
		t.Error("ReaderAnywhere with no role")
	}
	if (&Bucket{Owner: "", Version: Version}).RoleOf("anyone", "x") != Admin {
		t.Error("a bucket without an owner is everyone's, as on the Hub")
	}
}

func TestSetRoles(t *testing.T) {
	b := &Bucket{Owner: "o", Version: Version, Metadata: map[string]Metadata{"": {Key: "rootkey", Roles: map[string]Role{"o": Admin}}}}
	if !b.SetRoles("docs", map[string]Role{"r": Reader}, 5) {
		t.Fatal("a new role is no change")
	}
	md := b.Metadata["docs"]
	if md.Roles["r"] != Reader || md.UpdatedAt != 5 || md.Key != "" || b.UpdatedAt != 5 {
		t.Fatalf("docs: %+v", md)
	}
	if b.SetRoles("docs", map[string]Role{"r": Reader}, 6) {
		t.Fatal("the same role again is a change")
	}
	if !b.SetRoles("docs", map[string]Role{"r": None}, 7) || len(b.Metadata["docs"].Roles) != 0 {
		t.Fatal("None does not remove a role")
	}
	if b.SetRoles("elsewhere", map[string]Role{"x": None}, 8) {
		t.Fatal("removing a role nobody had is a change")
	}
	if _, ok := b.Metadata["elsewhere"]; ok {
		t.Fatal("an empty entry was made")
	}
	for _, s := range []string{"none", "Reader", "WRITER", "admin"} {
		if _, err := ParseRole(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseRole("owner"); err == nil {
		t.Fatal("ParseRole took an unknown role")
	}
}
