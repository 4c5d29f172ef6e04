package release

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository, two levels up from this package.
var repoRoot = filepath.Join("..", "..")

// schemaPath is goreleaser's JSON Schema (draft 2020-12). A copy lives in testdata, so a
// fresh clone checks the config on its own; sharedSchema is the team's copy beside the
// repository, which the copy must match where it is present.
var (
	schemaPath   = filepath.Join("testdata", "goreleaser.schema.json")
	sharedSchema = filepath.Join(repoRoot, "..", "shared", "schemas", "goreleaser.schema.json")
)

// The copy in testdata is the team's schema, byte for byte, where that is at hand.
func TestSchemaCopyMatchesShared(t *testing.T) {
	shared, err := os.ReadFile(sharedSchema)
	if err != nil {
		t.Skipf("no shared schema beside the repository (%v): the copy in testdata is used alone", err)
	}
	copied, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(shared) != string(copied) {
		t.Fatalf("%s differs from %s: copy it again", schemaPath, sharedSchema)
	}
}

// config is the part of .goreleaser.yml the project relies on.
type config struct {
	Version int `yaml:"version"`
	Before  struct {
		Hooks []hook `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		ID      string      `yaml:"id"`
		Main    string      `yaml:"main"`
		Env     []string    `yaml:"env"`
		Goos    []string    `yaml:"goos"`
		Goarch  []string    `yaml:"goarch"`
		Ignore  []target    `yaml:"ignore"`
		Flags   stringOrAll `yaml:"flags"`
		Ldflags stringOrAll `yaml:"ldflags"`
	} `yaml:"builds"`
	Archives []struct {
		Formats         stringOrAll `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string      `yaml:"goos"`
			Formats stringOrAll `yaml:"formats"`
		} `yaml:"format_overrides"`
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum  map[string]any `yaml:"checksum"`
	NFPMs     []nfpm         `yaml:"nfpms"`
	Changelog map[string]any `yaml:"changelog"`
}

type target struct {
	Goos   string `yaml:"goos"`
	Goarch string `yaml:"goarch"`
}

type nfpm struct {
	Formats  []string `yaml:"formats"`
	Contents []struct {
		Src string `yaml:"src"`
		Dst string `yaml:"dst"`
	} `yaml:"contents"`
}

// hook is a before hook: a command line, or {cmd: ...}.
type hook string

func (h *hook) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*h = hook(n.Value)
		return nil
	}
	var v struct {
		Cmd string `yaml:"cmd"`
	}
	err := n.Decode(&v)
	*h = hook(v.Cmd)
	return err
}

// stringOrAll is goreleaser's StringArray: one string or a list of them.
type stringOrAll []string

func (s *stringOrAll) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	return n.Decode((*[]string)(s))
}

func readConfig(t *testing.T) ([]byte, *config) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c config
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	return data, &c
}

// targets are the GOOS/GOARCH pairs the builds name, less their ignore entries.
func (c *config) targets() []target {
	var out []target
	for _, b := range c.Builds {
		for _, goos := range b.Goos {
			for _, goarch := range b.Goarch {
				t := target{goos, goarch}
				if !slices.Contains(b.Ignore, t) && !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// TestGoreleaserSchema validates .goreleaser.yml against goreleaser's JSON Schema, as
// goreleaser's own `check` would before anything else.
func TestGoreleaserSchema(t *testing.T) {
	data, _ := readConfig(t)
	if _, err := os.Stat(schemaPath); err != nil {
		t.Fatalf("goreleaser's JSON Schema is missing: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	schema, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	if err := schema.Validate(yamlToJSON(t, data)); err != nil {
		t.Fatalf(".goreleaser.yml does not match goreleaser's schema:\n%v", err)
	}
}

// yamlToJSON turns YAML into the JSON value the validator works on (json.Number numbers).
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("YAML with no JSON form: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestSchemaCatchesMistakes makes sure the validation above can fail: the schema refuses
// an unknown key, a wrong type and an unknown archive format.
func TestSchemaCatchesMistakes(t *testing.T) {
	c := jsonschema.NewCompiler()
	schema, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	for _, bad := range []string{
		"version: 2\nbuilds:\n  - goos: [linux]\n    cgo: false\n",
		"version: two\n",
		"version: 2\narchives:\n  - format: rar\n",
		"version: 2\nnfpms:\n  - contents:\n      - src: x\n",
	} {
		if err := schema.Validate(yamlToJSON(t, []byte(bad))); err == nil {
			t.Errorf("the schema accepted %q", bad)
		}
	}
}

// TestGoreleaserContents checks what the release must hold beyond the schema: the before
// hooks, static builds for every platform with the version variables hubctl has, the
// archives' and packages' files, checksums and a changelog.
func TestGoreleaserContents(t *testing.T) {
	_, c := readConfig(t)
	if c.Version != 2 {
		t.Errorf("version: %d, want 2", c.Version)
	}
	var hooks []string
	for _, h := range c.Before.Hooks {
		hooks = append(hooks, string(h))
	}
	if !slices.Contains(hooks, "go mod tidy") || !slices.ContainsFunc(hooks, func(h string) bool { return strings.HasPrefix(h, "scripts/completions.sh") }) {
		t.Errorf("before hooks %q: want go mod tidy and scripts/completions.sh", hooks)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "scripts", "completions.sh")); err != nil {
		t.Error(err)
	}

	want := []target{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}}
	if got := c.targets(); len(got) != len(want) || !containsAll(got, want) {
		t.Errorf("targets %v, want %v", got, want)
	}
	pkg, vars := versionVariables(t)
	for _, b := range c.Builds {
		if !slices.Contains(b.Env, "CGO_ENABLED=0") {
			t.Errorf("build %s: env %q lacks CGO_ENABLED=0", b.ID, b.Env)
		}
		ldflags := strings.Join(b.Ldflags, " ")
		for _, v := range vars {
			if !strings.Contains(ldflags, "-X "+pkg+"."+v+"=") {
				t.Errorf("build %s: ldflags %q do not set %s.%s", b.ID, ldflags, pkg, v)
			}
		}
	}

	if len(c.Archives) == 0 {
		t.Fatal("no archives")
	}
	for _, a := range c.Archives {
		if !slices.Equal(a.Formats, []string{"tar.gz"}) {
			t.Errorf("archive formats %q, want tar.gz", a.Formats)
		}
		zip := false
		for _, o := range a.FormatOverrides {
			zip = zip || (o.Goos == "windows" && slices.Equal(o.Formats, []string{"zip"}))
		}
		if !zip {
			t.Error("windows archives are not zip")
		}
		for _, f := range []string{"README.md", "LICENSE", "completions/hubctl.bash", "completions/hubctl.zsh", "completions/hubctl.fish", "manpages/*.1.gz"} {
			if !slices.Contains(a.Files, f) {
				t.Errorf("archive files %q lack %s", a.Files, f)
			}
		}
	}
	for _, f := range []string{"README.md", "LICENSE"} {
		if _, err := os.Stat(filepath.Join(repoRoot, f)); err != nil {
			t.Errorf("the archives ship %s: %v", f, err)
		}
	}

	if len(c.NFPMs) == 0 {
		t.Fatal("no nfpms")
	}
	for _, p := range c.NFPMs {
		if !containsAll(p.Formats, []string{"deb", "rpm"}) {
			t.Errorf("nfpm formats %q, want deb and rpm", p.Formats)
		}
		dst := map[string]string{}
		for _, c := range p.Contents {
			dst[c.Src] = c.Dst
		}
		for src, want := range map[string]string{
			"completions/hubctl.bash": "/usr/share/bash-completion/completions/hubctl",
			"completions/hubctl.zsh":  "/usr/share/zsh/vendor-completions/_hubctl",
			"completions/hubctl.fish": "/usr/share/fish/vendor_completions.d/hubctl.fish",
			"manpages/*.1.gz":         "/usr/share/man/man1/",
		} {
			if dst[src] != want {
				t.Errorf("nfpm installs %s to %q, want %s", src, dst[src], want)
			}
		}
	}
	if c.Checksum == nil {
		t.Error("no checksum section")
	}
	if c.Changelog == nil {
		t.Error("no changelog section")
	}
}

// versionVariables reads the variables `hubctl version` prints from cmd/version.go, so
// that renaming one without the ldflags fails here rather than in a release.
func versionVariables(t *testing.T) (pkg string, vars []string) {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var path string
	for _, line := range strings.Split(string(mod), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			path = strings.Trim(strings.TrimSpace(p), `"`)
			break
		}
	}
	file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "cmd", "version.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if slices.Contains([]string{"version", "commit", "date"}, n.Name) {
					vars = append(vars, n.Name)
				}
			}
		}
	}
	if len(vars) != 3 {
		t.Fatalf("cmd/version.go declares %q of the variables version, commit and date", vars)
	}
	return path + "/cmd", vars
}

func containsAll[T comparable](have, want []T) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// releaseChecks gates the slow checks to a step of their own in scripts/test.sh, which
// runs scripts/completions.sh first.
func releaseChecks(t *testing.T) {
	if os.Getenv("HUBCTL_RELEASE_CHECKS") != "1" {
		t.Skip("set HUBCTL_RELEASE_CHECKS=1, after scripts/completions.sh, to run the release checks (scripts/test.sh does)")
	}
}

// TestReleaseFiles checks that every file the archives and packages ship exists once
// scripts/completions.sh (goreleaser's before hook) has run.
func TestReleaseFiles(t *testing.T) {
	releaseChecks(t)
	_, c := readConfig(t)
	var globs []string
	for _, a := range c.Archives {
		globs = append(globs, a.Files...)
	}
	for _, p := range c.NFPMs {
		for _, content := range p.Contents {
			globs = append(globs, content.Src)
		}
	}
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(repoRoot, g))
		if err != nil || len(matches) == 0 {
			t.Errorf("%s: no such file (err %v)", g, err)
		}
	}
}

// TestCrossCompile checks that hubctl builds for every GOOS/GOARCH pair .goreleaser.yml
// names, with CGO_ENABLED=0 and the config's flags, as goreleaser would, without six full
// cross-compiles (a minute and a half each on two cores with a cold cache: 540 s). A
// target's build differs from another's only where the packages do, and crossPlan
// builds each difference once:
//
//   - One GOARCH of each GOOS other than this machine's is built in full, the binary
//     linked: what differs by operating system (most of the standard library, x/sys,
//     every file with an OS build constraint) is in every package, so only a whole build
//     stands for it.
//   - This machine's own GOOS/GOARCH is the test suite's build (go vet and go test
//     compile every package here). CGO_ENABLED=0 changes only packages with cgo files;
//     the check fails, and builds the target in full, if any such package is outside the
//     standard library (which builds and tests its own net, os/user and runtime/cgo
//     without cgo).
//   - The other GOARCH of each GOOS builds the packages whose build differs from the one
//     built in full (or natively): those whose files differ by architecture (assembly,
//     _arm64.go and _amd64.go files, build constraints naming an architecture, in the
//     standard library, x/sys, x/crypto, sha256-simd, xxhash, badger's ristretto,
//     klauspost's compress and cpuid, ...), and those that import syscall or x/sys,
//     whose declarations differ by architecture (struct field types) while the
//     importer's files do not; of hubctl's own packages, only those that use more of
//     syscall than errno and signal constants and Kill (archPackages). That is about
//     330 of the 785 packages, most of them the standard library's. Every other package
//     compiles from the same files against the same declarations for both (amd64 and
//     arm64 are both 64-bit and little-endian), so it builds for one if it builds for
//     the other.
func TestCrossCompile(t *testing.T) {
	releaseChecks(t)
	_, c := readConfig(t)
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out := t.TempDir()
	for _, b := range c.Builds {
		main := b.Main
		if main == "" {
			main = "."
		}
		env := func(tg target) []string {
			return append(append(os.Environ(), "GOOS="+tg.Goos, "GOARCH="+tg.Goarch), b.Env...)
		}
		goCmd := func(t *testing.T, tg target, args ...string) []byte {
			t.Helper()
			cmd := exec.Command(gobin, args...)
			cmd.Dir = repoRoot
			cmd.Env = env(tg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			if err != nil {
				t.Fatalf("GOOS=%s GOARCH=%s %s %s: %v\n%s", tg.Goos, tg.Goarch, strings.Join(b.Env, " "), strings.Join(cmd.Args, " "), err, stderr.Bytes())
			}
			return stdout
		}
		for _, step := range crossPlan(c.targets()) {
			tg := step.target
			t.Run(tg.Goos+"_"+tg.Goarch, func(t *testing.T) {
				switch {
				case step.native:
					// CGO_ENABLED as this machine builds by default: which packages have cgo files.
					cmd := exec.Command(gobin, "list", "-deps", "-f", "{{if .CgoFiles}}{{if not .Standard}}{{.ImportPath}}{{end}}{{end}}", main)
					cmd.Dir = repoRoot
					list, err := cmd.Output()
					if err != nil {
						t.Fatalf("go list: %v", err)
					}
					if pkgs := strings.Fields(string(list)); len(pkgs) > 0 {
						t.Logf("packages with cgo files outside the standard library (%s): building %s/%s in full", strings.Join(pkgs, ", "), tg.Goos, tg.Goarch)
						args := append(append([]string{"build"}, b.Flags...), "-o", filepath.Join(out, "hubctl-"+tg.Goos+"-"+tg.Goarch), main)
						goCmd(t, tg, args...)
					}
				case step.against == (target{}):
					args := append(append([]string{"build"}, b.Flags...), "-o", filepath.Join(out, "hubctl-"+tg.Goos+"-"+tg.Goarch), main)
					goCmd(t, tg, args...)
				default:
					pkgs := archPackages(t, main, func(tg target, args ...string) []byte { return goCmd(t, tg, args...) }, tg, step.against)
					if len(pkgs) == 0 {
						t.Fatalf("no package differs between %s/%s and %s/%s: the comparison is broken", tg.Goos, tg.Goarch, step.against.Goos, step.against.Goarch)
					}
					t.Logf("%d packages differ from %s/%s", len(pkgs), step.against.Goos, step.against.Goarch)
					goCmd(t, tg, append(append([]string{"build"}, b.Flags...), pkgs...)...)
				}
			})
		}
	}
}

// crossStep is one target of TestCrossCompile: built natively (the test suite's build),
// in full (against is zero), or as the packages that differ from against's build.
type crossStep struct {
	target  target
	native  bool
	against target
}

// crossPlan orders targets into steps: for each GOOS, the native target or else the one
// with this machine's GOARCH (else the first named) in full, then the others against it.
func crossPlan(targets []target) []crossStep {
	var steps []crossStep
	var oses []string
	for _, tg := range targets {
		if !slices.Contains(oses, tg.Goos) {
			oses = append(oses, tg.Goos)
		}
	}
	for _, goos := range oses {
		var same []target
		for _, tg := range targets {
			if tg.Goos == goos {
				same = append(same, tg)
			}
		}
		base := same[0]
		for _, tg := range same {
			if tg.Goarch == runtime.GOARCH {
				base = tg
			}
		}
		native := base == target{runtime.GOOS, runtime.GOARCH}
		steps = append(steps, crossStep{target: base, native: native})
		for _, tg := range same {
			if tg != base {
				steps = append(steps, crossStep{target: tg, against: base})
			}
		}
	}
	return steps
}

// archPackages lists the packages of main's build for tg whose build differs from
// base's (same GOOS, another GOARCH): their Go or assembly files differ, or they import a
// package whose declarations differ by architecture (syscall, x/sys: struct field types
// such as linux's Stat_t.Nlink, uint64 on amd64 and uint32 on arm64). hubctl's own
// packages that import those are left out when all they use there is the same on every
// architecture (ownArchNeutral): they depend on everything else, so building them would
// be the whole build again.
func archPackages(t *testing.T, main string, goList func(tg target, args ...string) []byte, tg, base target) []string {
	t.Helper()
	const format = `{{.ImportPath}}|{{join .GoFiles ","}}|{{join .SFiles ","}}|{{join .Imports ","}}|{{.Dir}}|{{.Module}}`
	type pkg struct{ goFiles, sFiles, imports, dir, module string }
	parse := func(out []byte) map[string]pkg {
		m := map[string]pkg{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.SplitN(line, "|", 6)
			if len(f) != 6 {
				t.Fatalf("go list: unexpected line %q", line)
			}
			m[f[0]] = pkg{f[1], f[2], f[3], f[4], f[5]}
		}
		return m
	}
	mine := parse(goList(tg, "list", "-deps", "-f", format, main))
	theirs := parse(goList(base, "list", "-deps", "-f", format, main))
	var pkgs []string
	for path, p := range mine {
		o, ok := theirs[path]
		if !ok || p.goFiles != o.goFiles || p.sFiles != o.sFiles {
			pkgs = append(pkgs, path)
			continue
		}
		imports := strings.Split(p.imports, ",")
		if !slices.ContainsFunc(imports, func(imp string) bool { return archAPI[imp] }) {
			continue
		}
		if p.module == "github.com/hubctl/hubctl" && ownArchNeutral(t, p.dir, strings.Split(p.goFiles, ",")) {
			continue
		}
		pkgs = append(pkgs, path)
	}
	slices.Sort(pkgs)
	return pkgs
}

// archAPI are the packages whose declarations differ by architecture.
var archAPI = map[string]bool{"syscall": true, "golang.org/x/sys/unix": true, "golang.org/x/sys/windows": true}

// ownArchNeutral reports whether the files use nothing of archAPI's packages but names
// declared alike on every architecture: errno and signal constants (E..., SIG...) and
// Kill.
func ownArchNeutral(t *testing.T, dir string, files []string) bool {
	t.Helper()
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		local := map[string]bool{}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if !archAPI[path] {
				continue
			}
			n := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				n = imp.Name.Name
			}
			local[n] = true
		}
		neutral := true
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && local[x.Name] {
				id := sel.Sel.Name
				if !(strings.HasPrefix(id, "SIG") || id == "Kill" || len(id) > 1 && id[0] == 'E' && strings.ToUpper(id) == id) {
					t.Logf("%s uses %s.%s: built for every architecture", filepath.Join(dir, name), x.Name, id)
					neutral = false
				}
			}
			return true
		})
		if !neutral {
			return false
		}
	}
	return true
}
