package main

// The webhook dispatcher POSTs to https:// targets. Where the system has no certificate roots (the
// container image holds the binary alone), Go falls back to these, embedded in the binary: Mozilla's
// roots as the Go project publishes them. A system with roots of its own keeps using those.
import _ "golang.org/x/crypto/x509roots/fallback"
