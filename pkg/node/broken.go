package node

import (
	"fmt"

	"github.com/textileio/go-threads/api"
)

// openThreads starts the threads API service, which loads every database of the store.
func (n *Node) openThreads(debug bool) (*api.Service, error) {
	s, err := api.NewService(n.store, n.net, api.Config{Debug: debug})
	if err != nil {
		return nil, fmt.Errorf("start threads API: %w", err)
	}
	return s, nil
}
