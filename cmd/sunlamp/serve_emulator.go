package main

import (
	"strconv"
	"strings"

	"github.com/sunlamp/sunlamp/api"
)

// envInt returns the integer in the environment variable name, 0 when it is unset or not a number
// (parseServe reports the latter).
func envInt(getenv func(string) string, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(getenv(name)))
	return n
}

// envBool reports whether the environment variable name says true (true, 1, yes).
func envBool(getenv func(string) string, name string) bool {
	switch strings.ToLower(strings.TrimSpace(getenv(name))) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// emulatorConfig returns the API's emulator configuration: nil unless --emulator.
func emulatorConfig(c serveConfig) *api.Emulator {
	if !c.emulator {
		return nil
	}
	return &api.Emulator{}
}
