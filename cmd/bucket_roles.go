package cmd

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/keystore"
	"github.com/hubctl/hubctl/pkg/output"
)

// Path access roles: bucket roles grant and bucket roles ls, over the Hub's
// PushPathAccessRoles and PullPathAccessRoles.

func newBucketRolesCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return group(&cobra.Command{
		Use:     "roles",
		Aliases: []string{"role", "access"},
		Short:   "Share paths of a bucket with other identities: grant roles, list them",
		Long: `A role lets another identity use a path of your bucket, and everything under it, as the
Hub's path access roles did: reader lists and pulls, writer also pushes, moves and
removes, admin also changes the roles. "*" stands for everyone. An identity gets the
highest role that the path or any directory above it gives it or "*"; the bucket's
owner is admin everywhere. A public bucket gives everyone reader from the start.

Whoever has a role reaches the bucket with --db <the database's ID> and the bucket's
key (not its name: only a database's owner can list its buckets), for example:
  hubctl bucket ls --db bafk... bafz.../docs`,
	}, newBucketRolesGrantCmd(f, bo), newBucketRolesLsCmd(f, bo))
}

type grantResult struct {
	Bucket   string   `json:"bucket"`
	Path     string   `json:"path"`
	Identity string   `json:"identity"`
	Role     hub.Role `json:"role"`
}

func newBucketRolesGrantCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "grant BUCKET[/PATH] PUBKEY|IDENTITY|'*' ROLE",
		Short: "Give an identity a role on a path of a bucket (none takes it away)",
		Long: `Give the identity (a public key, the name of an identity in your keystore, or '*' for
everyone) ROLE on PATH (the whole bucket when left out) and everything under it: none,
reader, writer or admin. none takes away the role the identity has on PATH itself; a
role given on a directory above PATH still applies. Granting needs the admin role on
PATH (the owner has it everywhere).`,
		Example: `  hubctl bucket roles grant site/docs bob reader
  hubctl bucket roles grant site/docs bbaareia... writer
  hubctl bucket roles grant site '*' none
  hubctl bucket roles grant --db bafk... bafz.../docs carol admin`,
		Args: usageArgs(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			return roleRefused(f, bo, runBucketRolesGrant(cmd.Context(), f, bo, ref, args[1], args[2]), ref, hub.RoleAdmin, "change its roles")
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return bucketArg(f, bo, true)(cmd, args, toComplete)
			case 1:
				return matching(granteeCompletions(f), toComplete, nil), cobra.ShellCompDirectiveNoFileComp
			case 2:
				return matching(roleCompletions, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

// roleCompletions are the roles with what each allows.
var roleCompletions = []cobra.Completion{
	cobra.CompletionWithDesc("none", "take the role away"),
	cobra.CompletionWithDesc("reader", "list and pull"),
	cobra.CompletionWithDesc("writer", "also push, move and remove"),
	cobra.CompletionWithDesc("admin", "also change roles"),
}

// granteeCompletions are '*' and the keystore's identities.
func granteeCompletions(f *Factory) []cobra.Completion {
	return append([]cobra.Completion{cobra.CompletionWithDesc("*", "everyone (quote it: '*')")}, identityCompletions(context.Background(), f, nil)...)
}

func runBucketRolesGrant(ctx context.Context, f *Factory, bo *bucketOptions, ref bucketRef, who, roleName string) error {
	role, err := hub.ParseRole(roleName)
	if err != nil {
		return err
	}
	key, label, err := resolveGrantee(f, who)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	s, err := bo.open(ctx, f, ref.bucket)
	if err != nil {
		return err
	}
	if key == s.b.Owner && s.b.Owner != "" {
		return usageErrorf("%s owns bucket %s, and so has every role on it: give the role to another identity", label, s.label())
	}
	if err := s.bs.PushRoles(ctx, s.b.Key, ref.path, map[string]hub.Role{key: role}); err != nil {
		return notInBucket(err, s, ref)
	}
	where := bucketRef{bucket: s.label(), path: ref.path}.String()
	switch {
	case role == hub.RoleNone && ref.path == "":
		f.IO.Infof("Took away the role of %s on %s.", label, where)
	case role == hub.RoleNone:
		f.IO.Infof("Took away the role of %s on %s (a role given on a directory above it still applies).", label, where)
	default:
		f.IO.Infof("Gave %s the %s role on %s.", label, role, where)
	}
	if p.Format == output.Table {
		return nil
	}
	return p.Print(grantResult{Bucket: s.b.Key, Path: ref.path, Identity: key, Role: role}, nil)
}

// resolveGrantee reads who: '*', a public key, or the name of a keystore identity. It
// returns the key the server records and how to name it in messages.
func resolveGrantee(f *Factory, who string) (key, label string, err error) {
	if who == hub.Everyone {
		return hub.Everyone, "everyone (*)", nil
	}
	if pk, perr := keystore.ParsePublicKey(who); perr == nil {
		key, err := keystore.EncodePublicKey(pk) // the canonical form, as the server compares keys
		if err != nil {
			return "", "", usageErrorf("invalid public key %q: %v", who, err)
		}
		return key, abbreviate(key, 20), nil
	}
	if keystore.ValidateName(who) != nil {
		return "", "", usageErrorf("invalid identity %q: give a public key, the name of an identity of yours (hubctl identity list) or '*'", who)
	}
	ks, err := f.Keystore()
	if err != nil {
		return "", "", err
	}
	e, err := ks.Get(who)
	if errors.Is(err, keystore.ErrNotFound) {
		return "", "", withCode(ExitNotFound, fmt.Errorf("no identity named %q in your keystore: give its public key instead (its holder prints it with hubctl identity show), or '*' for everyone", who))
	}
	if err != nil {
		return "", "", err
	}
	return e.PublicKey, who, nil
}

// roleRow is one line of roles ls.
type roleRow struct {
	Identity string   `json:"identity"`
	Name     string   `json:"name,omitempty"`
	Role     hub.Role `json:"role"`
	// From is the path whose entry gives the role ("" the root), or the bucket's owner.
	From  string `json:"from"`
	Owner bool   `json:"owner,omitempty"`
}

// rolesListing is roles ls with -o json.
type rolesListing struct {
	Bucket string `json:"bucket"`
	Path   string `json:"path"`
	// From is the nearest entry that gives roles: Path's own, or that of the directory
	// above it Path inherits them from. null when the server did not say.
	From      *string   `json:"from"`
	Inherited bool      `json:"inherited"`
	Roles     []roleRow `json:"roles"`
}

func newBucketRolesLsCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		// list, as in every group (ls is what the issue names it).
		Use:     "list BUCKET[/PATH]",
		Aliases: []string{"ls"},
		Short:   "List the roles on a path of a bucket (the whole bucket when left out)",
		Long: `List who has which role on PATH: each identity's highest role among those PATH and the
directories above it give (what the server goes by), FROM the path that gives it, and
the owner, who is admin everywhere. When PATH gives no roles of its own, a line on
standard error says which directory it inherits them from. Identities of your keystore
are named; "*" is everyone.`,
		Example: `  hubctl bucket roles ls site/docs
  hubctl bucket roles ls site -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			return roleRefused(f, bo, runBucketRolesLs(cmd.Context(), f, bo, ref), ref, hub.RoleReader, "read its roles")
		},
		ValidArgsFunction: bucketArg(f, bo, true),
	}
}

func runBucketRolesLs(ctx context.Context, f *Factory, bo *bucketOptions, ref bucketRef) error {
	p, err := f.Printer()
	if err != nil {
		return err
	}
	s, err := bo.open(ctx, f, ref.bucket)
	if err != nil {
		return err
	}
	pr, err := s.bs.PullRoles(ctx, s.b.Key, ref.path)
	if err != nil {
		return notInBucket(err, s, ref)
	}
	names := keystoreNames(f)
	out := rolesListing{Bucket: s.b.Key, Path: ref.path, Roles: []roleRow{}}
	if pr.Known {
		out.From, out.Inherited = &pr.From, pr.From != ref.path
	}
	for _, g := range pr.Roles {
		if g.Identity == s.b.Owner { // admin everywhere: the owner's own line says so
			continue
		}
		out.Roles = append(out.Roles, roleRow{Identity: g.Identity, Name: names[g.Identity], Role: g.Role, From: g.From})
	}
	if s.b.Owner != "" {
		out.Roles = append(out.Roles, roleRow{Identity: s.b.Owner, Name: names[s.b.Owner], Role: hub.RoleAdmin, Owner: true})
	}
	if p.Format != output.Table {
		return p.Print(out, nil)
	}
	switch {
	case !pr.Known:
		f.IO.Infof("The server did not say where the roles of %s are recorded (on it or on a directory above it).", ref)
	case out.Inherited:
		f.IO.Infof("%s gives no roles of its own: they are inherited from %s.", ref, slashPath(pr.From))
	}
	return p.Print(out, func() output.TableData {
		t := output.TableData{Header: []string{"IDENTITY", "NAME", "ROLE", "FROM"}}
		for _, r := range out.Roles {
			from := slashPath(r.From)
			if r.Owner {
				from = "(owner)"
			} else if !pr.Known {
				from = "?"
			}
			name := r.Name
			if r.Identity == hub.Everyone {
				name = "(everyone)"
			}
			t.Rows = append(t.Rows, []string{r.Identity, name, r.Role.String(), from})
		}
		return t
	})
}

// callerPublicKey is the public key of the identity commands act as, "" when there is
// none (yet) or it cannot be read: only the keystore's public part is read.
func callerPublicKey(f *Factory) string {
	name, err := f.IdentityName()
	if err != nil {
		return ""
	}
	ks, err := f.Keystore()
	if err != nil {
		return ""
	}
	e, err := ks.Get(name)
	if err != nil {
		return ""
	}
	return e.PublicKey
}

// slashPath prints a bucket path from the root: "/" or "/docs".
func slashPath(p string) string { return "/" + p }

// keystoreNames maps the public keys of the keystore's identities to their names, to name
// them in listings; an unreadable keystore names nobody.
func keystoreNames(f *Factory) map[string]string {
	out := map[string]string{}
	ks, err := f.Keystore()
	if err != nil {
		return out
	}
	entries, _, err := ks.List()
	if err != nil {
		return out
	}
	for _, e := range entries {
		out[e.PublicKey] = e.Name
	}
	return out
}

// needsRole makes the refusals of cmd, whose first argument is BUCKET[/PATH], for the
// caller's role say which role it needs (roleRefused).
func needsRole(f *Factory, bo *bucketOptions, cmd *cobra.Command, need hub.Role, verb string) *cobra.Command {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		err := run(c, args)
		if err == nil || len(args) == 0 {
			return err
		}
		ref, perr := parseBucketRef(args[0])
		if perr != nil {
			return err
		}
		return roleRefused(f, bo, err, ref, need, verb)
	}
	return cmd
}

// roleNeededRx reads the role hubctl's servers say a call needs ("... needs the writer
// role ...").
var roleNeededRx = regexp.MustCompile(`needs the (reader|writer|admin) role`)

// roleRefused turns the server's refusal of a call for the caller's role on a path into
// one line saying which role is needed there, who can grant it, and the command that
// does; other errors pass, and so do refusals that name no role needed (the server's
// words then say what to do). need is the role the command needs and verb what it does
// ("push there"), for a server that says which role but not in hubctl's words.
func roleRefused(f *Factory, bo *bucketOptions, err error, ref bucketRef, need hub.Role, verb string) error {
	var re *hub.RoleError
	if !errors.As(err, &re) {
		return err
	}
	role := need.String()
	if m := roleNeededRx.FindStringSubmatch(re.Msg); m != nil {
		role = m[1]
	} else if strings.Contains(re.Msg, "only the owner") {
		return err
	}
	me := callerPublicKey(f)
	if me == "" {
		me = "YOUR-PUBLIC-KEY"
	}
	db := ""
	if bo.db != "" {
		db = " --db " + bo.db
	}
	return withCode(ExitAuth, fmt.Errorf("you need the %s role on %s to %s; the bucket's owner or an admin of the path can grant it: hubctl bucket roles grant%s %s %s %s",
		role, ref, verb, db, ref, me, role))
}
