package cmd

import "fmt"

// plural counts things in words: "1 instance", "2 instances", "0 instances". Every count
// a command prints goes through it (or pluralWord), so none says "1 instances".
func plural(n int, what string) string {
	return fmt.Sprintf("%d %s", n, pluralWord(n, what))
}

// pluralWord is the word alone, for a count printed elsewhere: "collection", "collections".
func pluralWord(n int, what string) string {
	if n == 1 {
		return what
	}
	return what + "s"
}
