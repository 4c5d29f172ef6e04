package cmd

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/output"
)

// Set at release time with -ldflags "-X github.com/hubctl/hubctl/cmd.version=... ".
var (
	version = ""
	commit  = ""
	date    = ""
)

// versionInfo is the JSON form of `hubctl version -o json`.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// buildVersion fills what ldflags did not set from the module and VCS data Go embeds,
// so `go install ...@v1.2.3` and `go build` in a checkout report something useful too.
func buildVersion() versionInfo {
	v := versionInfo{
		Version:   version,
		Commit:    commit,
		Date:      date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.time" && v.Date == "":
				v.Date = s.Value
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	if v.Date == "" {
		v.Date = "unknown"
	}
	return v
}

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hubctl's version, commit, build date and Go version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			v := buildVersion()
			return p.Print(v, func() output.TableData {
				return output.TableData{Rows: [][]string{
					{"Version:", v.Version},
					{"Commit:", v.Commit},
					{"Built:", v.Date},
					{"Go:", v.GoVersion},
					{"Platform:", v.Platform},
				}}
			})
		},
	}
}
