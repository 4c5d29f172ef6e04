// Package config resolves hubctl's settings from flags, the environment, the config file and
// its profiles, and defaults, in that order of precedence.
//
// It uses a viper instance per load (never viper's global) for the precedence rules, and its
// own YAML node model of the file so that `config set` keeps comments and errors name lines.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	mbase "github.com/multiformats/go-multibase"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment variable hubctl reads.
const EnvPrefix = "HUBCTL"

// Environment variables that select the config file and profile themselves.
const (
	EnvConfig  = "HUBCTL_CONFIG"
	EnvProfile = "HUBCTL_PROFILE"
)

// MaxSigTTL caps the lifetime of API signatures: the hosted Hub refused dates further ahead.
const MaxSigTTL = 24 * time.Hour

// Kind is the type of a setting's value.
type Kind int

// The kinds of setting.
const (
	KindString Kind = iota
	KindSecret
	KindPath
	KindBool
	KindDuration
	KindOutput
)

// Key describes one setting.
type Key struct {
	Name    string
	Kind    Kind
	Default string
	Usage   string
}

// Secret reports whether the setting's value must be redacted in default output.
func (k Key) Secret() bool { return k.Kind == KindSecret }

// Env is the environment variable for the setting.
func (k Key) Env() string { return EnvName(k.Name) }

// EnvName maps a setting name to its environment variable (data-dir -> HUBCTL_DATA_DIR).
func EnvName(name string) string {
	return EnvPrefix + "_" + strings.ToUpper(envReplacer.Replace(name))
}

var envReplacer = strings.NewReplacer("-", "_", ".", "_")

// OutputFormats are the values of the output setting.
var OutputFormats = []string{"table", "json", "yaml", "jsonl"}

// keys is the table of settings; every one has a flag, an environment variable and a
// config file key of the same name.
var keys = []Key{
	{Name: "api", Kind: KindString, Usage: "server address HOST:PORT (empty: a running local daemon, else the embedded node)"},
	{Name: "key", Kind: KindString, Usage: "Hub API key"},
	{Name: "secret", Kind: KindSecret, Usage: "Hub API secret; prefer HUBCTL_SECRET or the config file, since other users can see flags in ps"},
	{Name: "token", Kind: KindSecret, Usage: "user token to send instead of one from GetToken; prefer HUBCTL_TOKEN"},
	{Name: "identity", Kind: KindString, Usage: "identity to use (default: the keystore's default identity)"},
	{Name: "keystore", Kind: KindPath, Usage: "keystore directory (default: DATA-DIR/keystore)"},
	{Name: "data-dir", Kind: KindPath, Usage: "data directory (default: $XDG_DATA_HOME/hubctl)"},
	{Name: "tls", Kind: KindBool, Default: "false", Usage: "connect with TLS (implied by port 443)"},
	{Name: "insecure", Kind: KindBool, Default: "false", Usage: "skip TLS certificate verification"},
	{Name: "ca-file", Kind: KindPath, Usage: "PEM file of CA certificates to trust for TLS"},
	{Name: "output", Kind: KindOutput, Default: "table", Usage: "output format: table, json, yaml or jsonl (JSON Lines)"},
	{Name: "timeout", Kind: KindDuration, Default: "30s", Usage: "how long to wait for the server"},
	{Name: "sig-ttl", Kind: KindDuration, Default: "1h", Usage: "lifetime of API key signatures (at most 24h)"},
	{Name: "debug", Kind: KindBool, Default: "false", Usage: "let the embedded node (go-threads, libp2p, badger) log to stderr"},
}

// Keys returns the settings table.
func Keys() []Key { return append([]Key(nil), keys...) }

// KeyNames returns the setting names in table order.
func KeyNames() []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return names
}

func lookupKey(name string) (Key, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// LookupKey returns the setting named name.
func LookupKey(name string) (Key, error) {
	k, ok := lookupKey(name)
	if !ok {
		return Key{}, fmt.Errorf("unknown config key %q: known keys are %s", name, strings.Join(KeyNames(), ", "))
	}
	return k, nil
}

// Options say where to load from.
type Options struct {
	// ConfigPath is the --config flag; empty means HUBCTL_CONFIG, then the default path.
	ConfigPath string
	// Profile is the --profile flag; empty means HUBCTL_PROFILE, then current-profile.
	Profile string
	// Flags holds a flag per setting; only flags the user set take part.
	Flags *pflag.FlagSet
}

// Settings are the loaded layers, before values are parsed.
type Settings struct {
	File          *File
	Profile       string // the selected profile, "" for none
	ProfileSource string // where the selection came from
	v             *viper.Viper
	flags         *pflag.FlagSet
}

// Load reads the config file and layers flags, environment, profile, file and defaults.
func Load(o Options) (*Settings, error) {
	path, err := Path(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Settings{File: f, flags: o.Flags, v: viper.New()}
	switch {
	case o.Profile != "":
		s.Profile, s.ProfileSource = o.Profile, "--profile"
	case os.Getenv(EnvProfile) != "":
		s.Profile, s.ProfileSource = os.Getenv(EnvProfile), EnvProfile
	case f.CurrentProfile() != "":
		s.Profile, s.ProfileSource = f.CurrentProfile(), "current-profile in "+f.Path
	}

	v := s.v
	for _, k := range keys {
		v.SetDefault(k.Name, k.Default)
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(envReplacer)
	v.AutomaticEnv()
	if err := v.MergeConfigMap(plain(f.Settings(""))); err != nil {
		return nil, fmt.Errorf("config file %s: %w", f.Path, err)
	}
	if s.Profile != "" {
		if err := v.MergeConfigMap(plain(f.Settings(s.Profile))); err != nil {
			return nil, fmt.Errorf("config file %s: %w", f.Path, err)
		}
	}
	if o.Flags != nil {
		for _, k := range keys {
			if fl := o.Flags.Lookup(k.Name); fl != nil {
				if err := v.BindPFlag(k.Name, fl); err != nil {
					return nil, fmt.Errorf("bind flag --%s: %w", k.Name, err)
				}
			}
		}
	}
	return s, nil
}

// Path resolves the config file's path: flagValue (--config), else HUBCTL_CONFIG, else
// the default path. It does not read the file.
func Path(flagValue string) (string, error) {
	if flagValue != "" {
		return expandHome(flagValue), nil
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return expandHome(p), nil
	}
	return DefaultConfigPath()
}

func plain(m map[string]Value) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v.Value
	}
	return out
}

// Get returns a setting's raw value and where it came from.
func (s *Settings) Get(name string) (value, source string) {
	return s.v.GetString(name), s.Source(name)
}

// Source describes where a setting's value comes from, for messages and `config view`.
func (s *Settings) Source(name string) string {
	if s.flags != nil {
		if fl := s.flags.Lookup(name); fl != nil && fl.Changed {
			return "--" + name
		}
	}
	if os.Getenv(EnvName(name)) != "" {
		return EnvName(name)
	}
	if s.Profile != "" {
		if val, ok := s.File.Settings(s.Profile)[name]; ok {
			return fmt.Sprintf("profile %s (%s:%d)", s.Profile, s.File.Path, val.Line)
		}
	}
	if val, ok := s.File.Settings("")[name]; ok {
		return fmt.Sprintf("%s:%d", s.File.Path, val.Line)
	}
	return "default"
}

// ErrUnknownProfile is returned when the selected profile is not in the config file.
var ErrUnknownProfile = errors.New("unknown profile")

// CheckProfile returns an error when the selected profile does not exist.
func (s *Settings) CheckProfile() error {
	if s.Profile == "" || s.File.HasProfile(s.Profile) {
		return nil
	}
	return fmt.Errorf("%w %q (from %s) in %s (%s): create it with hubctl config set --profile %s KEY VALUE",
		ErrUnknownProfile, s.Profile, s.ProfileSource, s.File.Path, s.File.KnownProfiles(), s.Profile)
}

// Config is the resolved, typed configuration.
type Config struct {
	API      string
	Key      string
	Secret   string
	Token    string
	Identity string
	Keystore string
	DataDir  string
	TLS      bool
	Insecure bool
	CAFile   string
	Output   string
	Timeout  time.Duration
	SigTTL   time.Duration
	Debug    bool
}

// ValueError is a setting whose value cannot be used; it names where the value came from.
type ValueError struct {
	Key    string
	Value  string
	Source string
	Reason string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("invalid %s %q (from %s): %s", e.Key, e.Value, e.Source, e.Reason)
}

// Resolve parses every setting. It fails on an unknown profile or a value of the wrong form.
func (s *Settings) Resolve() (*Config, error) {
	if err := s.CheckProfile(); err != nil {
		return nil, err
	}
	c, err := s.ResolveAll()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ResolveAll parses every setting it can, for `config view`: the Config holds every value
// that parses (and the default paths, which depend on data-dir and keystore alone), and
// the error is the first setting, in table order, that does not, as Resolve reports it.
// It does not check the profile.
func (s *Settings) ResolveAll() (*Config, error) {
	c := &Config{}
	var first error
	str := func(name string) string { v, _ := s.Get(name); return strings.TrimSpace(v) }
	bad := func(name, reason string) {
		if first != nil {
			return
		}
		v, src := s.Get(name)
		if s.Key(name).Secret() {
			v = Redacted
		}
		first = &ValueError{Key: name, Value: v, Source: src, Reason: reason}
	}
	boolean := func(name string) bool {
		b, err := strconv.ParseBool(str(name))
		if err != nil {
			bad(name, "use true or false")
		}
		return b
	}
	c.API, c.Key, c.Secret, c.Token, c.Identity = str("api"), str("key"), str("secret"), str("token"), str("identity")
	c.TLS, c.Insecure, c.Debug = boolean("tls"), boolean("insecure"), boolean("debug")
	if c.Output = str("output"); !contains(OutputFormats, c.Output) {
		bad("output", "use one of "+strings.Join(OutputFormats, ", "))
	}
	var err error
	if c.Timeout, err = parseDuration(str("timeout")); err != nil || c.Timeout <= 0 {
		bad("timeout", "use a positive duration such as 30s or 2m")
	}
	if c.SigTTL, err = parseDuration(str("sig-ttl")); err != nil || c.SigTTL <= 0 || c.SigTTL > MaxSigTTL {
		bad("sig-ttl", "use a positive duration of at most 24h, such as 1h")
	}
	if c.DataDir = expandHome(str("data-dir")); c.DataDir == "" {
		if c.DataDir, err = DefaultDataDir(); err != nil && first == nil {
			first = err
		}
	}
	if c.Keystore = expandHome(str("keystore")); c.Keystore == "" && c.DataDir != "" {
		c.Keystore = filepath.Join(c.DataDir, "keystore")
	}
	c.CAFile = expandHome(str("ca-file"))
	return c, first
}

// Check validates one setting's effective value as `config set` validates a value, naming
// where the value came from.
func (s *Settings) Check(name string) error {
	k, err := LookupKey(name)
	if err != nil {
		return err
	}
	v, src := s.Get(name)
	return validateValue(k, strings.TrimSpace(v), src)
}

// Key returns the table entry for name (the zero Key for an unknown name).
func (s *Settings) Key(name string) Key { k, _ := lookupKey(name); return k }

// Redacted replaces secret values in output.
const Redacted = "***"

// ValidateValue checks a value for a setting, as `config set` must before writing it.
func ValidateValue(k Key, value string) error { return validateValue(k, value, "command line") }

// validateValue checks a value for a setting; source says where it came from.
func validateValue(k Key, value, source string) error {
	reason := ""
	switch k.Kind {
	case KindBool:
		if _, err := strconv.ParseBool(value); err != nil {
			reason = "use true or false"
		}
	case KindDuration:
		d, err := parseDuration(value)
		switch {
		case err != nil || d <= 0:
			reason = "use a positive duration such as 30s or 2m"
		case k.Name == "sig-ttl" && d > MaxSigTTL:
			reason = "use a positive duration of at most 24h, such as 1h"
		}
	case KindOutput:
		if !contains(OutputFormats, value) {
			reason = "use one of " + strings.Join(OutputFormats, ", ")
		}
	case KindSecret:
		// The Hub multibase-decodes the secret before it keys the signature.
		if _, _, err := mbase.Decode(value); k.Name == "secret" && err != nil {
			reason = "an API secret is multibase, as the Hub issues it (e.g. b...)"
		}
	}
	if reason == "" {
		return nil
	}
	if k.Secret() {
		value = Redacted
	}
	return &ValueError{Key: k.Name, Value: value, Source: source, Reason: reason}
}

func parseDuration(s string) (time.Duration, error) {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		// A bare number is ambiguous (seconds? nanoseconds?): ask for a unit.
		return 0, errors.New("missing unit")
	}
	return time.ParseDuration(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expandHome expands a leading ~/ so that paths in the config file can be written as in a shell.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// DefaultConfigPath is $XDG_CONFIG_HOME/hubctl/config.yaml, else the OS config directory.
func DefaultConfigPath() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "hubctl", "config.yaml"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locate the config directory: %w (set HUBCTL_CONFIG or --config)", err)
	}
	return filepath.Join(d, "hubctl", "config.yaml"), nil
}

// DefaultDataDir is $XDG_DATA_HOME/hubctl, else the OS's per-user data directory.
func DefaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "hubctl"), nil
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "hubctl"), nil
		}
	case "darwin":
		if d, err := os.UserConfigDir(); err == nil { // ~/Library/Application Support
			return filepath.Join(d, "hubctl"), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate the data directory: %w (set HUBCTL_DATA_DIR or --data-dir)", err)
	}
	return filepath.Join(home, ".local", "share", "hubctl"), nil
}
