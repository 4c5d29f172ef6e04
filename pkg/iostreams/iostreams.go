// Package iostreams carries a command's standard streams and what is known about them:
// whether they are terminals, whether colour is wanted, and how to ask the user something.
package iostreams

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes. Data goes to Out; messages,
// warnings and prompts go to ErrOut, so that piped output stays machine-readable.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	color     bool
	inFd      int
	inLines   *bufio.Reader // one buffered reader, so successive questions lose no input
}

// System returns the process's streams.
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		inFd:      int(os.Stdin.Fd()),
	}
	// https://no-color.org: any non-empty NO_COLOR disables colour; so does TERM=dumb.
	s.color = s.stdoutTTY && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	return s
}

// Test returns streams over buffers, none of them a terminal.
func Test(in io.Reader, out, errOut io.Writer) *IOStreams {
	return &IOStreams{In: in, Out: out, ErrOut: errOut, inFd: -1}
}

// SetTTY marks the streams as terminals (for tests of interactive behaviour).
func (s *IOStreams) SetTTY(stdin, stdout bool) {
	s.stdinTTY, s.stdoutTTY = stdin, stdout
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// ColorEnabled reports whether output may use colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// Bold wraps text in bold when colour is enabled.
func (s *IOStreams) Bold(text string) string {
	if !s.color {
		return text
	}
	return "\x1b[1m" + text + "\x1b[0m"
}

// Warnf prints a warning line on ErrOut.
func (s *IOStreams) Warnf(format string, args ...any) {
	fmt.Fprintf(s.ErrOut, "hubctl: warning: "+format+"\n", args...)
}

// Infof prints an informational line on ErrOut.
func (s *IOStreams) Infof(format string, args ...any) {
	fmt.Fprintf(s.ErrOut, format+"\n", args...)
}

// ErrNotInteractive is returned when a question needs a terminal and there is none.
var ErrNotInteractive = errors.New("not running in a terminal")

// Confirm asks a yes/no question on the terminal; the default answer is no. It never
// reads from a stdin that is not a terminal, so that CI jobs never hang on a question.
func (s *IOStreams) Confirm(question string) (bool, error) {
	if !s.stdinTTY {
		return false, ErrNotInteractive
	}
	fmt.Fprintf(s.ErrOut, "%s [y/N] ", question)
	line, err := s.lines().ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// ReadSecret reads a line from the terminal without echoing it.
func (s *IOStreams) ReadSecret(prompt string) ([]byte, error) {
	if !s.stdinTTY {
		return nil, ErrNotInteractive
	}
	fmt.Fprint(s.ErrOut, prompt)
	defer fmt.Fprintln(s.ErrOut)
	if s.inFd >= 0 && term.IsTerminal(s.inFd) {
		b, err := term.ReadPassword(s.inFd)
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		return b, nil
	}
	// A test's fake terminal: read a plain line.
	line, err := s.lines().ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

func (s *IOStreams) lines() *bufio.Reader {
	if s.inLines == nil {
		s.inLines = bufio.NewReader(s.In)
	}
	return s.inLines
}
