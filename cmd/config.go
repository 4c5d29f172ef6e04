package cmd

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/output"
)

func newConfigCmd(f *Factory) *cobra.Command {
	keys := "Keys: " + strings.Join(config.KeyNames(), ", ") + "."
	return group(&cobra.Command{
		Use:   "config",
		Short: "View and change hubctl's settings and profiles",
		Long: `Every setting can be given as a flag (--api), an environment variable (HUBCTL_API), a
key in the config file, or a key in a named profile of the config file. Precedence, highest
first: flag, environment, selected profile, top level of the file, default.

The config file is --config, else HUBCTL_CONFIG, else $XDG_CONFIG_HOME/hubctl/config.yaml.
A profile is selected by --profile, else HUBCTL_PROFILE, else the file's current-profile:

  current-profile: local
  timeout: 30s
  profiles:
    local:
      api: 127.0.0.1:6006
    prod:
      api: hub.example.com:443
      key: bxxxxxxxx

` + keys,
	},
		newConfigViewCmd(f),
		newConfigSetCmd(f),
		newConfigUnsetCmd(f),
		newConfigUseCmd(f),
		newConfigProfilesCmd(f),
		newConfigPathCmd(f),
	)
}

// configView is the JSON form of `config view`.
type configView struct {
	File    string            `json:"file"`
	Exists  bool              `json:"exists"`
	Profile string            `json:"profile"`
	Values  map[string]string `json:"values"`
	Sources map[string]string `json:"sources"`
}

func newConfigViewCmd(f *Factory) *cobra.Command {
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Show every setting's effective value and where it comes from",
		Long:  "Show every setting's effective value and its source. Secrets are shown as *** unless --show-secrets.",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigView(f, showSecrets)
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "show secret values instead of ***")
	return cmd
}

func runConfigView(f *Factory, showSecrets bool) error {
	s, err := f.Settings()
	if err != nil {
		return err
	}
	if err := s.CheckProfile(); err != nil {
		return err
	}
	// view shows every value even when one is invalid, since it is how users find the bad
	// one, and then fails as every other command does for it (exit 2, naming its source).
	// Only the output format itself has to be valid to print anything.
	if err := s.Check("output"); err != nil {
		return err
	}
	format, _ := s.Get("output")
	p := f.printerFor(strings.TrimSpace(format))
	resolved, resolveErr := s.ResolveAll()
	view := configView{File: s.File.Path, Exists: s.File.Exists, Profile: s.Profile,
		Values: map[string]string{}, Sources: map[string]string{}}
	var rows [][]string
	for _, k := range config.Keys() {
		value, source := s.Get(k.Name)
		if value == "" {
			switch k.Name {
			case "data-dir":
				value = resolved.DataDir
			case "keystore":
				value = resolved.Keystore
			}
		}
		if k.Secret() && value != "" && !showSecrets {
			value = config.Redacted
		}
		view.Values[k.Name], view.Sources[k.Name] = value, source
		rows = append(rows, []string{k.Name, value, source})
	}
	if err := p.Print(view, func() output.TableData {
		return output.TableData{Header: []string{"KEY", "VALUE", "SOURCE"}, Rows: rows}
	}); err != nil {
		return err
	}
	return resolveErr
}

func newConfigSetCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Set a key in the config file (in the selected profile, if any)",
		Long: `Set a key in the config file, in the profile selected by --profile, HUBCTL_PROFILE or
current-profile, or at the top level when no profile is selected. A profile that does not
exist yet is created. VALUE - reads the value from standard input, which keeps secrets out of
shell history and ps. The file is written atomically with mode 0600.`,
		Example: `  hubctl config set api 127.0.0.1:6006
  hubctl config set --profile prod api hub.example.com:443
  printf '%s' "$SECRET" | hubctl config set --profile prod secret -`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigSet(f, args[0], args[1])
		},
		ValidArgsFunction: completeConfigSet(f),
	}
}

func runConfigSet(f *Factory, name, value string) error {
	k, err := config.LookupKey(name)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	fromStdin := value == "-"
	if fromStdin {
		line, err := bufio.NewReader(f.IO.In).ReadString('\n')
		if err != nil && line == "" {
			return usageErrorf("no value for %s on standard input", name)
		}
		value = strings.TrimRight(line, "\r\n")
	}
	if err := config.ValidateValue(k, value); err != nil {
		return err
	}
	s, err := f.Settings()
	if err != nil {
		return err
	}
	s.File.Set(s.Profile, name, value)
	if err := s.File.Save(); err != nil {
		return err
	}
	where := "at the top level"
	if s.Profile != "" {
		where = "in profile " + s.Profile
	}
	f.IO.Infof("Set %s %s of %s.", name, where, s.File.Path)
	if k.Secret() && value != "" && !fromStdin {
		f.IO.Warnf("a %s given on the command line stays in your shell history; next time use: hubctl config set %s -", name, name)
	}
	return nil
}

func newConfigUnsetCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unset KEY",
		Short: "Remove a key from the config file (from the selected profile, if any)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := config.LookupKey(args[0]); err != nil {
				return withCode(ExitUsage, err)
			}
			s, err := f.Settings()
			if err != nil {
				return err
			}
			if !s.File.Unset(s.Profile, args[0]) {
				f.IO.Infof("%s was not set in %s; nothing changed.", args[0], s.File.Path)
				return nil
			}
			if err := s.File.Save(); err != nil {
				return err
			}
			f.IO.Infof("Removed %s from %s.", args[0], s.File.Path)
			return nil
		},
		ValidArgsFunction: argCompletion(f, configKeyCompletions, 0, false),
	}
}

func newConfigUseCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "use PROFILE",
		Short: "Make PROFILE the current profile",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.Settings()
			if err != nil {
				return err
			}
			name := args[0]
			if !s.File.HasProfile(name) {
				return withCode(ExitNotFound, fmt.Errorf("profile %q not found in %s (%s); create it with hubctl config set --profile %s KEY VALUE",
					name, s.File.Path, s.File.KnownProfiles(), name))
			}
			s.File.SetCurrentProfile(name)
			if err := s.File.Save(); err != nil {
				return err
			}
			f.IO.Infof("Current profile is now %s.", name)
			return nil
		},
		ValidArgsFunction: argCompletion(f, profileCompletions, 0, false),
	}
}

// profileInfo is the JSON form of `config profiles`.
type profileInfo struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	API     string `json:"api"`
}

func newConfigProfilesCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the profiles in the config file",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.Settings()
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			list := []profileInfo{}
			var rows [][]string
			for _, name := range s.File.Profiles() {
				info := profileInfo{Name: name, Current: name == s.Profile, API: s.File.Settings(name)["api"].Value}
				list = append(list, info)
				mark := ""
				if info.Current {
					mark = "*"
				}
				rows = append(rows, []string{mark, name, info.API})
			}
			if len(list) == 0 && p.Format == output.Table {
				f.IO.Infof("No profiles in %s; create one with: hubctl config set --profile NAME KEY VALUE", s.File.Path)
			}
			return p.Print(list, func() output.TableData {
				return output.TableData{Header: []string{"CURRENT", "NAME", "API"}, Rows: rows}
			})
		},
	}
}

func newConfigPathCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "path",
		Short: "Print the config file's path",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			flagValue, _ := f.globals.GetString("config")
			path, err := config.Path(flagValue)
			if err != nil {
				return err
			}
			path, _ = filepath.Abs(path)
			_, err = fmt.Fprintln(f.IO.Out, path)
			return err
		},
	}
}
