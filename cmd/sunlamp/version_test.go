package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestVersionStamped: what `make dist` stamps with -ldflags -X is what `sunlamp version` prints.
func TestVersionStamped(t *testing.T) {
	oldV, oldC := buildVersion, buildCommit
	t.Cleanup(func() { buildVersion, buildCommit = oldV, oldC })
	buildVersion, buildCommit = "v9.8.7", "0123456789ab"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "sunlamp v9.8.7 (commit 0123456789ab, ") {
		t.Errorf("got %q, want the stamped version and commit", got)
	}
}
