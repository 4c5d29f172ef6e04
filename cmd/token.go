package cmd

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/output"
)

func newTokenCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:   "token",
		Short: "Get and inspect user tokens (thread tokens)",
		Long: `A user token is a JWT the server issues to an identity (GetToken): its subject is the
identity's public key, its issuer the server's host key. Every database command sends one.
Tokens are cached per server and identity in DATA-DIR/tokens; a token the server refuses
(after a server reset, say) is fetched again once. --token (HUBCTL_TOKEN) overrides all of it.`,
	}, newTokenGetCmd(f), newTokenInspectCmd(f))
}

type tokenGetOptions struct {
	refresh bool
}

// tokenInfo is the JSON form of `token get`.
type tokenInfo struct {
	Token     string `json:"token"`
	Identity  string `json:"identity"`
	PublicKey string `json:"publicKey"`
	Issuer    string `json:"issuer"`
}

func newTokenGetCmd(f *Factory) *cobra.Command {
	opts := &tokenGetOptions{}
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Print a user token for the identity (alone on stdout, for TOKEN=$(hubctl token get))",
		Example: `  hubctl token get
  hubctl token get --identity alice --refresh
  TOKEN=$(hubctl token get) && hubctl --token "$TOKEN" db list`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runTokenGet(cmd, f, opts) },
	}
	cmd.Flags().BoolVar(&opts.refresh, "refresh", false, "ignore the cache and fetch a new token from the server")
	return cmd
}

func runTokenGet(cmd *cobra.Command, f *Factory, opts *tokenGetOptions) error {
	c, err := f.Hub()
	if err != nil {
		return err
	}
	tok, err := c.Token(cmd.Context(), opts.refresh)
	if err != nil {
		return err
	}
	claims, err := hub.InspectToken(tok.Token)
	if err != nil {
		return err
	}
	info := tokenInfo{Token: tok.Token, Identity: tok.Identity, PublicKey: claims.Subject, Issuer: claims.Issuer}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	if p.Format == output.Table {
		_, err = fmt.Fprintln(f.IO.Out, info.Token)
		return err
	}
	return p.Print(info, nil)
}

// claimsInfo is the JSON form of `token inspect`.
type claimsInfo struct {
	Subject  string     `json:"subject"`
	Issuer   string     `json:"issuer"`
	IssuedAt *time.Time `json:"issuedAt"`
	// Expires is null for tokens without an expiry (a daemon without --token-ttl, plain
	// go-threads).
	Expires *time.Time `json:"expires"`
	// Key is the API key the token was fetched through, which a daemon checking keys
	// accepts it with (none from the embedded node or plain go-threads).
	Key string `json:"key,omitempty"`
}

func newTokenInspectCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect [TOKEN|-]",
		Short: "Decode a token's claims (subject, issuer, issued at) without any server",
		Long: `Decode a token's claims without any server and without verifying it: only the server
that issued it can, with its host key. Tokens of a daemon with --token-ttl expire; others do not.

The token comes from the argument, else standard input (- or a pipe), else --token
(HUBCTL_TOKEN).`,
		Example: `  hubctl token inspect eyJhbGciOi...
  hubctl token get | hubctl token inspect`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runTokenInspect(f, args) },
	}
}

func runTokenInspect(f *Factory, args []string) error {
	var token string
	switch {
	case len(args) == 1 && args[0] != "-":
		token = args[0]
	case len(args) == 1 || !f.IO.IsStdinTTY():
		data, err := io.ReadAll(io.LimitReader(f.IO.In, 64<<10))
		if err != nil {
			return fmt.Errorf("read token from standard input: %w", err)
		}
		token = string(data)
	default:
		c, err := f.Config()
		if err != nil {
			return err
		}
		token = c.Token
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return usageErrorf("no token to inspect: pass TOKEN, pipe one in (hubctl token get | hubctl token inspect), or set --token")
	}
	claims, err := hub.InspectToken(token)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	info := claimsInfo{Subject: claims.Subject, Issuer: claims.Issuer, Key: claims.Key}
	if !claims.IssuedAt.IsZero() {
		info.IssuedAt = &claims.IssuedAt
	}
	if !claims.Expires.IsZero() {
		info.Expires = &claims.Expires
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	return p.Print(info, func() output.TableData {
		issued, expires := "unknown", "never: the server gives its tokens no expiry"
		if info.IssuedAt != nil {
			issued = info.IssuedAt.Local().Format(time.RFC3339)
		}
		if info.Expires != nil {
			expires = info.Expires.Local().Format(time.RFC3339)
		}
		rows := [][]string{
			{"Subject:", info.Subject},
			{"Issuer:", info.Issuer},
			{"Issued at:", issued},
			{"Expires:", expires},
		}
		if info.Key != "" {
			rows = append(rows, []string{"API key:", info.Key})
		}
		return output.TableData{Rows: rows}
	})
}
