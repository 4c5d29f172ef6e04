package cmd

import (
	"testing"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/server"
)

// The client's refusal and the server's agree: what hubctl lets through encrypts to at
// most the server's limit. pkg/hub's TestSealOpensWithTextile measures the overhead.
func TestMailLimitIsTheServers(t *testing.T) {
	if hub.MailOverhead != server.MessageBodyOverhead || maxMailText+hub.MailOverhead != server.MaxMessageBody {
		t.Fatalf("hubctl sends up to %d bytes, encrypting to %d; the server takes %d (overhead %d)",
			maxMailText, maxMailText+hub.MailOverhead, server.MaxMessageBody, server.MessageBodyOverhead)
	}
}
