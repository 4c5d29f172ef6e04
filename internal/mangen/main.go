// Command mangen writes hubctl's man pages (hubctl.1, hubctl-db-info.1, ...) into a
// directory, from the command tree the binary runs, with cobra/doc. scripts/completions.sh
// runs it for releases. It is a program of its own rather than a hidden hubctl command so
// that cobra/doc and its Markdown-to-roff libraries stay out of the shipped binary, and no
// command exists in it only to build it.
//
// Usage: go run ./internal/mangen [-dir manpages] [-version VERSION]
//
// The pages' date is SOURCE_DATE_EPOCH when set (cobra/doc reads it), for reproducible
// releases.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/hubctl/hubctl/cmd"
	"github.com/hubctl/hubctl/pkg/iostreams"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "manpages", "directory to write the pages to")
	version := flag.String("version", "dev", "hubctl version named in the pages' footer")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	root := cmd.NewRootCmd(iostreams.System())
	return write(root, *dir, *version)
}

// write writes a page per available command, and adds the exit codes (the `hubctl help
// exit-codes` topic, which has no page of its own) to hubctl.1.
func write(root *cobra.Command, dir, version string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	walk(root, func(c *cobra.Command) { c.DisableAutoGenTag = true }) // no build date in the text
	header := &doc.GenManHeader{Section: "1", Source: "hubctl " + version, Manual: "hubctl manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("write man pages to %s: %w", dir, err)
	}
	topic, _, err := root.Find([]string{"exit-codes"})
	if err != nil || topic == root {
		return errors.New("no exit-codes help topic to put in hubctl.1")
	}
	return addSection(filepath.Join(dir, root.Name()+".1"), "EXIT STATUS", topic.Long)
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// addSection puts a section of preformatted text before SEE ALSO, where man-pages(7)
// places EXIT STATUS.
func addSection(page, title, text string) error {
	data, err := os.ReadFile(page)
	if err != nil {
		return err
	}
	var sec bytes.Buffer
	fmt.Fprintf(&sec, ".SH %s\n.nf\n", title)
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		sec.WriteString(roffLine(line) + "\n")
	}
	sec.WriteString(".fi\n\n")
	marker := []byte(".SH SEE ALSO")
	if i := bytes.Index(data, marker); i >= 0 {
		data = append(data[:i:i], append(sec.Bytes(), data[i:]...)...)
	} else {
		data = append(data, sec.Bytes()...)
	}
	return os.WriteFile(page, data, 0o644)
}

// roffLine escapes a line of text for roff: backslashes, and a leading dot or quote that
// would make it a request.
func roffLine(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
