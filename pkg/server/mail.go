package server

import (
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// usersService is the Hub users API as hubctl serves it: hubauth.Users' ListThreads and
// GetThread, and the mailbox.
type usersService struct {
	*hubauth.Users
	node  *node.Node
	guard *hubauth.Guard
}
