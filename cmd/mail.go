package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/keystore"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/server"
)

// maxMailBody is the largest encrypted body hubctl's servers take (the Hub set none),
// and maxMailText the largest message, the limit less what encryption adds: a longer
// body is refused before any call.
const (
	maxMailBody = server.MaxMessageBody
	maxMailText = server.MaxMessagePlaintext
)

func newMailCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:   "mail",
		Short: "Send and read end-to-end encrypted messages between identities (the Hub's mailbox)",
		Long: `The Hub's mailbox: each identity's database named hubmail on the server, with an inbox
and a sentbox. A message is encrypted to the recipient's public key and, for the sentbox,
to the sender's own, and signed by the sender, as textile's Go and JS clients (Users
sendMessage) do: messages cross between them and hubctl. The server sees only ciphertext.

Create your mailbox once with 'hubctl mail setup'; a recipient needs one too. Listing
needs no private key; send, read and watch --decrypt do, so an encrypted identity asks
for its passphrase only there (and once for a token, when none is cached).`,
	}, newMailSetupCmd(f), newMailSendCmd(f), newMailInboxCmd(f), newMailSentCmd(f), newMailReadCmd(f), newMailRmCmd(f), newMailWatchCmd(f))
}

func newMailSetupCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Create your mailbox (if needed) and print its database ID",
		Long: `Create the identity's mailbox on the server, the database hubmail with collections inbox
and sentbox, and print its thread ID. It is idempotent: a mailbox that exists is kept and
its ID printed.`,
		Example: `  hubctl mail setup
  hubctl --identity bob mail setup -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Hub()
			if err != nil {
				return err
			}
			id, err := c.Mailbox().Setup(cmd.Context())
			if err != nil {
				return err
			}
			if p.Format == output.Table {
				_, err = fmt.Fprintln(f.IO.Out, id.String())
				return err
			}
			return p.Print(struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}{id.String(), hub.MailboxName}, nil)
		},
	}
}

func newMailSendCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "send PUBKEY|IDENTITY [FILE|-]",
		Short: "Encrypt and send a message to a public key or a local identity",
		Long: fmt.Sprintf(`Send a message to RECIPIENT: a public key as 'hubctl identity show' prints it (bbaa...),
or the name of an identity in your keystore. The body is FILE, or standard input when
FILE is - or left out. It is encrypted to the recipient and to you, signed, and sent;
the message ID is printed. A body over %d bytes (the server's %d KiB limit on an
encrypted body, less %d bytes of encryption) is refused before anything is sent.`, maxMailText, maxMailBody>>10, hub.MailOverhead),
		Example: `  hubctl mail send bob note.txt
  echo 'hello' | hubctl mail send bbaareia...
  hubctl --identity alice mail send bob - < note.txt`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := "-"
			if len(args) == 2 {
				file = args[1]
			}
			return runMailSend(cmd.Context(), f, args[0], file)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return argCompletion(f, identityCompletions, 0, false)(cmd, args, toComplete)
		},
	}
	return cmd
}

// resolveRecipient reads a public key, else an identity name from the keystore.
func resolveRecipient(f *Factory, arg string) (thread.PubKey, error) {
	pk, perr := hub.ParseRecipient(arg)
	if perr == nil {
		return pk, nil
	}
	if strings.Contains(perr.Error(), "mail can be encrypted only") {
		return nil, perr
	}
	fix := "give the recipient's public key (they print it with hubctl identity show) or the name of an identity in your keystore"
	if keystore.ValidateName(arg) != nil {
		return nil, usageErrorf("invalid recipient %q: %s", arg, fix)
	}
	ks, err := f.Keystore()
	if err != nil {
		return nil, err
	}
	e, err := ks.Get(arg)
	if errors.Is(err, keystore.ErrNotFound) {
		return nil, withCode(ExitNotFound, fmt.Errorf("recipient %q is neither a public key nor an identity in your keystore: %s", arg, fix))
	}
	if err != nil {
		return nil, err
	}
	pk, err = hub.ParseRecipient(e.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", arg, err)
	}
	return pk, nil
}

func runMailSend(ctx context.Context, f *Factory, recipient, file string) error {
	to, err := resolveRecipient(f, recipient)
	if err != nil {
		return err
	}
	body, err := readMailBody(f, file)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	msg, err := c.Mailbox().Send(ctx, to, body)
	if err != nil {
		return err
	}
	if p.Format == output.Table {
		_, err = fmt.Fprintln(f.IO.Out, msg.ID)
		return err
	}
	return p.Print(msg, nil)
}

// readMailBody reads FILE or standard input, refusing a body over the limit before any
// call.
func readMailBody(f *Factory, file string) ([]byte, error) {
	var r io.Reader = f.IO.In
	name := "standard input"
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, usageErrorf("read the message: %v", err)
		}
		defer fh.Close()
		r, name = fh, file
	} else if f.IO.IsStdinTTY() {
		f.IO.Infof("Type the message; end it with Ctrl-D.")
	}
	body, err := io.ReadAll(io.LimitReader(r, maxMailText+1))
	if err != nil {
		return nil, usageErrorf("read the message from %s: %v", name, err)
	}
	if len(body) > maxMailText {
		return nil, usageErrorf("the message in %s is larger than %d bytes, the most a message can be (the server's %d KiB limit on an encrypted body); send a shorter one", name, maxMailText, maxMailBody>>10)
	}
	if len(body) == 0 {
		return nil, usageErrorf("the message in %s is empty: give a FILE, or the message on standard input", name)
	}
	return body, nil
}

type mailListOptions struct {
	unread bool
	limit  int
	seek   string
}

func newMailInboxCmd(f *Factory) *cobra.Command {
	opts := &mailListOptions{}
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "List the messages you received, newest first",
		Long: `List the inbox, newest first: ID, sender, when it was sent, and whether it was read. Nothing
is decrypted: 'hubctl mail read ID' prints a message. A message whose signature does not
verify against its sender's key is listed as "bad signature" (and "verified": false in
JSON) with a warning: it may be forged.`,
		Example: `  hubctl mail inbox
  hubctl mail inbox --unread -o json
  hubctl mail inbox --limit 10 --seek 01h...`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMailList(cmd.Context(), f, hub.Inbox, opts)
		},
	}
	addMailListFlags(cmd, opts)
	cmd.Flags().BoolVar(&opts.unread, "unread", false, "only messages not read yet")
	return cmd
}

func newMailSentCmd(f *Factory) *cobra.Command {
	opts := &mailListOptions{}
	cmd := &cobra.Command{
		Use:   "sent",
		Short: "List the messages you sent, newest first",
		Example: `  hubctl mail sent
  hubctl mail sent --limit 1 -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMailList(cmd.Context(), f, hub.Sentbox, opts)
		},
	}
	addMailListFlags(cmd, opts)
	return cmd
}

func addMailListFlags(cmd *cobra.Command, opts *mailListOptions) {
	cmd.Flags().IntVar(&opts.limit, "limit", 0, "at most this many messages (0: the server's page, 100 on the Hub)")
	cmd.Flags().StringVar(&opts.seek, "seek", "", "start at this message ID (included), going back in time")
}

func runMailList(ctx context.Context, f *Factory, box hub.Box, opts *mailListOptions) error {
	if opts.limit < 0 {
		return usageErrorf("--limit must be 0 or more")
	}
	if opts.seek != "" {
		if err := hub.CheckMessageID(opts.seek); err != nil {
			return err
		}
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	msgs, err := c.Mailbox().List(ctx, box, hub.ListOptions{Seek: opts.seek, Limit: opts.limit, Unread: opts.unread})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if !m.Verified {
			f.IO.Warnf("message %s: %s", m.ID, badSignature(m))
		}
	}
	if len(msgs) == 0 && p.Format == output.Table {
		switch {
		case box == hub.Sentbox:
			f.IO.Infof("No sent messages; send one with: hubctl mail send RECIPIENT FILE")
		case opts.unread:
			f.IO.Infof("No unread messages.")
		default:
			f.IO.Infof("Your inbox is empty.")
		}
		return nil
	}
	names := keyNames(f)
	return p.Print(msgs, func() output.TableData {
		if box == hub.Sentbox {
			t := output.TableData{Header: []string{"ID", "TO", "SENT", "STATUS"}}
			for _, m := range msgs {
				t.Rows = append(t.Rows, []string{m.ID, keyLabel(names, m.To), shortTime(m.CreatedAt), mailStatus(m, false)})
			}
			return t
		}
		t := output.TableData{Header: []string{"ID", "FROM", "SENT", "STATUS"}}
		for _, m := range msgs {
			t.Rows = append(t.Rows, []string{m.ID, keyLabel(names, m.From), shortTime(m.CreatedAt), mailStatus(m, true)})
		}
		return t
	})
}

func mailStatus(m hub.Message, inbox bool) string {
	switch {
	case !m.Verified:
		return "bad signature"
	case !inbox:
		return "sent"
	case m.Read():
		return "read " + shortTime(m.ReadAt)
	default:
		return "unread"
	}
}

func badSignature(m hub.Message) string {
	return fmt.Sprintf("bad message signature: it does not verify against its sender's key %s, so it may not be theirs; delete it with hubctl mail rm %s", safeKey(m.From), m.ID)
}

// keyNames maps the keystore's public keys to their identity names (nothing on error:
// the names only label a table).
func keyNames(f *Factory) map[string]string {
	ks, err := f.Keystore()
	if err != nil {
		return nil
	}
	entries, _, err := ks.List()
	if err != nil {
		return nil
	}
	names := make(map[string]string, len(entries))
	for _, e := range entries {
		names[e.PublicKey] = e.Name
	}
	return names
}

func keyLabel(names map[string]string, key string) string {
	if n, ok := names[key]; ok {
		return n + " (" + abbreviate(key, 16) + ")"
	}
	return safeKey(key)
}

// safeKey is a message's from or to as printed: a key as is, anything else (a forged
// message's, which may hold control characters) quoted and cut short.
func safeKey(key string) string {
	if _, err := hub.ParseRecipient(key); err == nil || (&thread.Libp2pPubKey{}).UnmarshalString(key) == nil {
		return key
	}
	return strconv.Quote(abbreviate(key, 64))
}

// mailRead is what mail read prints with -o json: the message and its body, as text when
// it is UTF-8, else in base64.
type mailRead struct {
	hub.Message
	Body       *string `json:"body,omitempty"`
	BodyBase64 string  `json:"bodyBase64,omitempty"`
}

func withBody(m hub.Message, body []byte) mailRead {
	r := mailRead{Message: m}
	if utf8.Valid(body) {
		s := string(body)
		r.Body = &s
	} else {
		r.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	return r
}

type mailReadOptions struct {
	sent bool
}

func newMailReadCmd(f *Factory) *cobra.Command {
	opts := &mailReadOptions{}
	cmd := &cobra.Command{
		Use:   "read ID",
		Short: "Decrypt and print a message, and mark it read",
		Long: `Print an inbox message's body, decrypted with your identity's private key, and mark it
read. -o json prints the message with its body ("body", or "bodyBase64" when it is not
UTF-8 text). --sent prints your own copy of a sent message instead. On a terminal,
control characters are shown escaped, so that a sender cannot drive it; into a pipe or a
file the body is written as sent.

A message whose signature does not verify against its sender's key is not printed nor
marked read: it may be forged (exit 4).`,
		Example: `  hubctl mail read 01h...
  hubctl mail read 01h... -o json | jq -r .body
  hubctl mail read 01h... --sent`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMailRead(cmd.Context(), f, args[0], opts)
		},
		ValidArgsFunction: messageArg(f, &opts.sent, false),
	}
	cmd.Flags().BoolVar(&opts.sent, "sent", false, "a message of the sentbox (your own copy)")
	return cmd
}

func boxOf(sent bool) hub.Box {
	if sent {
		return hub.Sentbox
	}
	return hub.Inbox
}

func runMailRead(ctx context.Context, f *Factory, id string, opts *mailReadOptions) error {
	if err := hub.CheckMessageID(id); err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	mb := c.Mailbox()
	box := boxOf(opts.sent)
	m, err := mb.Get(ctx, box, id)
	if err != nil {
		return err
	}
	body, err := mb.Open(ctx, m)
	if errors.Is(err, hub.ErrBadSignature) {
		return withCode(ExitAuth, fmt.Errorf("message %s: %s; it was not printed nor marked read", m.ID, badSignature(m)))
	}
	if err != nil {
		return err
	}
	if box == hub.Inbox && !m.Read() {
		if m.ReadAt, err = mb.MarkRead(ctx, m.ID); err != nil {
			return err
		}
	}
	if p.Format == output.Table {
		if f.IO.IsStdoutTTY() {
			if shown, escaped := terminalText(body); escaped {
				f.IO.Warnf("message %s holds control characters or bytes that are not UTF-8 text, shown escaped; redirect the output to a file for the body as sent", m.ID)
				body = shown
			}
		}
		_, err = f.IO.Out.Write(body)
		return err
	}
	return p.Print(withBody(m, body), nil)
}

// terminalText escapes what a terminal would act on rather than show (escape sequences,
// other control characters, bytes that are not UTF-8), keeping newlines and tabs: a
// sender must not be able to drive the reader's terminal.
func terminalText(body []byte) ([]byte, bool) {
	var b strings.Builder
	escaped := false
	for len(body) > 0 {
		r, n := utf8.DecodeRune(body)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, body[0])
			escaped = true
		case r == '\n' || r == '\t' || unicode.IsPrint(r):
			b.Write(body[:n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			escaped = true
		}
		body = body[n:]
	}
	return []byte(b.String()), escaped
}

type mailRmOptions struct {
	sent bool
	yes  bool
}

func newMailRmCmd(f *Factory) *cobra.Command {
	opts := &mailRmOptions{}
	cmd := &cobra.Command{
		Use:     "rm ID...",
		Aliases: []string{"delete"},
		Short:   "Delete messages from your inbox (or sentbox with --sent)",
		Example: `  hubctl mail rm 01h...
  hubctl mail rm 01h... --sent --yes`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMailRm(cmd.Context(), f, args, opts)
		},
		ValidArgsFunction: messageArg(f, &opts.sent, true),
	}
	cmd.Flags().BoolVar(&opts.sent, "sent", false, "delete from the sentbox")
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runMailRm(ctx context.Context, f *Factory, ids []string, opts *mailRmOptions) error {
	for _, id := range ids {
		if err := hub.CheckMessageID(id); err != nil {
			return err
		}
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	mb := c.Mailbox()
	box := boxOf(opts.sent)
	// Find every message before deleting any, so a typo deletes nothing.
	names := keyNames(f)
	var labels []string
	for _, id := range ids {
		m, err := mb.Get(ctx, box, id)
		if err != nil {
			return err
		}
		if box == hub.Sentbox {
			labels = append(labels, fmt.Sprintf("%s (to %s, %s)", m.ID, keyLabel(names, m.To), shortTime(m.CreatedAt)))
		} else {
			labels = append(labels, fmt.Sprintf("%s (from %s, %s)", m.ID, keyLabel(names, m.From), shortTime(m.CreatedAt)))
		}
	}
	where := "your " + box.String()
	question := fmt.Sprintf("Delete message %s from %s?", labels[0], where)
	if len(ids) > 1 {
		question = fmt.Sprintf("Delete %s (%s) from %s?", plural(len(ids), "message"), strings.Join(labels, ", "), where)
	}
	if err := f.confirm(opts.yes, question, "refusing to delete"); err != nil {
		return err
	}
	for _, id := range ids {
		if err := mb.Delete(ctx, box, id); err != nil {
			return err
		}
		f.IO.Infof("Deleted message %s from %s.", id, where)
	}
	return nil
}

type mailWatchOptions struct {
	decrypt bool
	count   int
}

func newMailWatchCmd(f *Factory) *cobra.Command {
	opts := &mailWatchOptions{}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Print messages as they arrive in your inbox, one JSON line each",
		Long: `Print each message that arrives in the inbox as one JSON line on standard output, as the
JS client's watchInbox sees them (Listen on the mailbox database): {"id", "from", "to",
"createdAt", "verified"}. Bodies stay encrypted unless --decrypt, which adds "body" (or
"bodyBase64") and needs the private key. A message whose signature does not verify is
printed with "verified": false, never decrypted, and warned of on standard error.
"Watching" on standard error says the server has accepted the request. It runs until
Ctrl-C (exit 0) or --count messages, and needs a server (--api or a running daemon).`,
		Example: `  hubctl mail watch
  hubctl mail watch --decrypt --count 1 | jq -r .body`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMailWatch(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.decrypt, "decrypt", false, "decrypt each message's body (needs the private key)")
	cmd.Flags().IntVar(&opts.count, "count", 0, "stop after this many messages (0: until Ctrl-C)")
	return cmd
}

func runMailWatch(ctx context.Context, f *Factory, opts *mailWatchOptions) error {
	if opts.count < 0 {
		return usageErrorf("--count must be 0 or more")
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	if c.Target().Embedded() {
		return usageErrorf("mail watch needs a server: the embedded node lives only as long as one command, so no message could arrive; start one with hubctl daemon, or pass --api")
	}
	mb := c.Mailbox()
	if opts.decrypt {
		// Before the stream: a passphrase prompt in the middle of it would hold messages.
		if err := mb.LoadKey(); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(f.IO.Out)
	seen := 0
	var stop error
	err = mb.Watch(ctx, func(id thread.ID) {
		f.IO.Infof("Watching the inbox (mailbox %s; Ctrl-C to stop).", id)
	}, func(m hub.Message, err error) bool {
		if err != nil {
			f.IO.Warnf("%v", err)
			return true
		}
		var line any = m
		if !m.Verified {
			f.IO.Warnf("message %s: %s", m.ID, badSignature(m))
		} else if opts.decrypt {
			body, err := mb.Open(ctx, m)
			if err != nil {
				stop = err
				return false
			}
			line = withBody(m, body)
		}
		if enc.Encode(line) != nil {
			return false // stdout closed: stop quietly
		}
		seen++
		return opts.count == 0 || seen < opts.count
	})
	if stop != nil {
		return stop
	}
	return err
}

// messageArg completes a message ID from the inbox, or the sentbox, with its sender (or
// recipient) and date as the description; with repeated, every argument (rm ID...).
func messageArg(f *Factory, sent *bool, repeated bool) cobra.CompletionFunc {
	src := func(ctx context.Context, f *Factory, _ []string) []cobra.Completion {
		b := boxOf(*sent)
		return askServer(ctx, f, func(ctx context.Context, c *hub.Client) ([]cobra.Completion, error) {
			msgs, err := c.Mailbox().List(ctx, b, hub.ListOptions{})
			if err != nil {
				return nil, err
			}
			names := keyNames(f)
			out := make([]cobra.Completion, 0, len(msgs))
			for _, m := range msgs {
				who := "from " + keyLabel(names, m.From)
				if b == hub.Sentbox {
					who = "to " + keyLabel(names, m.To)
				}
				out = append(out, cobra.CompletionWithDesc(m.ID, who+", "+shortTime(m.CreatedAt)))
			}
			return out, nil
		})
	}
	return argCompletion(f, src, 0, repeated)
}
