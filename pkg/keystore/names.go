package keystore

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Word lists for generated names: short, unambiguous, and pleasant to type.
var (
	adjectives = []string{
		"amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
		"early", "fancy", "fast", "fierce", "gentle", "glad", "golden", "grand", "happy", "hidden",
		"humble", "jolly", "keen", "kind", "lively", "lucky", "mellow", "merry", "misty", "noble",
		"polite", "proud", "quick", "quiet", "rapid", "rosy", "royal", "shiny", "silent", "silver",
		"sleek", "smart", "solar", "spry", "steady", "sunny", "swift", "tidy", "vivid", "witty",
	}
	nouns = []string{
		"badger", "beacon", "bison", "canyon", "cedar", "comet", "condor", "coral", "crane", "delta",
		"dune", "eagle", "ember", "falcon", "fern", "fjord", "gecko", "glacier", "harbor", "hawk",
		"heron", "island", "jaguar", "lagoon", "lark", "lynx", "maple", "meadow", "meteor", "nebula",
		"orbit", "osprey", "otter", "panda", "pebble", "pine", "prairie", "quasar", "raven", "reef",
		"river", "sparrow", "summit", "thistle", "tiger", "tundra", "valley", "walrus", "willow", "zephyr",
	}
)

// generateName returns a readable candidate name. Early attempts are two words; later ones
// add a random number so that a crowded keystore still finds a free name quickly.
func generateName(attempt int) string {
	name := adjectives[randInt(len(adjectives))] + "-" + nouns[randInt(len(nouns))]
	if attempt >= 8 {
		name += fmt.Sprintf("-%04d", randInt(10000))
	}
	return name
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		// crypto/rand never fails on supported platforms; a fixed pick is still a valid name
		// and the no-replace write keeps it safe.
		return 0
	}
	return int(v.Int64())
}
