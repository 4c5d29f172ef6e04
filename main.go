// Command hubctl manages Textile Hub identities, API keys, tokens and ThreadDB databases.
package main

import (
	"os"

	"github.com/hubctl/hubctl/cmd"
)

func main() { os.Exit(cmd.Main()) }
