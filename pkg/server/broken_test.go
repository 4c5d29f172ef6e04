package server

import (
	"testing"

	"github.com/hubctl/hubctl/pkg/hub"
)

// The client reads what the server sends under the names both spell on their own.
func TestBrokenDBNamesMatchTheClient(t *testing.T) {
	if hub.HeaderBrokenDBs != HeaderBrokenDBs || hub.MethodRepairDB != MethodRepairDB {
		t.Fatalf("client %q %q, server %q %q", hub.HeaderBrokenDBs, hub.MethodRepairDB, HeaderBrokenDBs, MethodRepairDB)
	}
}
