// Command seed is the Hub's documented seed flow as a standalone Go program, the baseline
// `hubctl db create` is measured against: dial, GetToken with a fresh identity, NewDB.
//
// Usage: seed -api HOST:PORT
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	api := flag.String("api", "127.0.0.1:6006", "ThreadDB server")
	flag.Parse()
	if err := run(*api); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(api string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.NewClient(api, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer c.Close()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return err
	}
	tok, err := c.GetToken(ctx, thread.NewLibp2pIdentity(sk))
	if err != nil {
		return fmt.Errorf("get token: %w", err)
	}
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedToken(tok)); err != nil {
		return fmt.Errorf("new db: %w", err)
	}
	fmt.Println(id)
	return nil
}
