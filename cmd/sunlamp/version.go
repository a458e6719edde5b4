package main

import (
	"runtime"
	"runtime/debug"
)

// buildVersion and buildCommit are stamped by `make dist` through the linker:
//
//	-ldflags "-X main.buildVersion=v1.2.3 -X main.buildCommit=0123abc"
var buildVersion, buildCommit string

// commit is the commit the binary was built from: the stamped one, else the one Go records when it
// builds in a git checkout; "" when neither is known.
func commit() string {
	if buildCommit != "" {
		return buildCommit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

// versionLine is what `sunlamp version` prints: "sunlamp VERSION (commit C, GOOS/GOARCH, go1.x)".
func versionLine() string {
	line := "sunlamp " + version() + " ("
	if c := commit(); c != "" {
		line += "commit " + c + ", "
	}
	return line + runtime.GOOS + "/" + runtime.GOARCH + ", " + runtime.Version() + ")"
}
