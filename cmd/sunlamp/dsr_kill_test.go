package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// journaled returns the users recorded in a journal file.
func journaled(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]bool{}
		}
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r journalRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.User != "" {
			out[r.User] = true
		}
	}
	return out
}

// TestDSRKilledAndResumed runs the real binary, stops it once with SIGINT (Ctrl-C) and once with
// SIGKILL (a crash) part-way, then finishes the job, and checks on the server side that no erasure
// recorded in the journal was ever repeated. After Ctrl-C every erasure is journaled; after SIGKILL
// only the requests that were in flight (at most --concurrency) may be sent again, which is safe
// because an erasure is idempotent.
func TestDSRKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sunlamp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	c := newCLIEnv(t, "sqlite")
	ext := users(200)
	c.mustCreateUsers(t, ext...)
	cnt := c.wrap(t)
	cnt.limit = func(int) (int, string) {
		time.Sleep(3 * time.Millisecond) // slow enough to stop the run part-way
		return 0, ""
	}
	input := filepath.Join(dir, "users.txt")
	if err := os.WriteFile(input, []byte(strings.Join(ext, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	journal := input + ".erase.journal"
	const conc = 4

	// start runs the binary and stops it with sig once the journal holds at least n users.
	start := func(sig syscall.Signal, n int) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, "dsr", "erase", "--app", c.app, "--input", input, "--concurrency", "4", "--progress-interval", "0")
		cmd.Env = append(os.Environ(), "SUNLAMP_URL="+c.env["SUNLAMP_URL"], "SUNLAMP_KEY_ID="+c.env["SUNLAMP_KEY_ID"], "SUNLAMP_KEY_SECRET="+c.env["SUNLAMP_KEY_SECRET"])
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(journaled(t, journal)) < n {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("the journal did not reach %d users", n)
			}
			time.Sleep(2 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		cmd.Wait()
		return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	}

	// Ctrl-C: in-flight requests finish and are journaled; the summary is printed.
	out, errOut, code := start(syscall.SIGINT, 50)
	if code != 1 || !strings.Contains(out, "dsr erase: 200 input lines") || !strings.Contains(errOut, "interrupted") {
		t.Fatalf("after SIGINT: exit %d, stdout %q, stderr %q; want exit 1, a summary and a resume hint", code, out, errOut)
	}
	afterInt := journaled(t, journal)
	counts, total := cnt.counts()
	if total != len(afterInt) || len(afterInt) >= 200 {
		t.Fatalf("after SIGINT: %d erasures, %d journaled; want them equal and the run unfinished", total, len(afterInt))
	}
	for u := range counts {
		if !afterInt[u] {
			t.Errorf("after SIGINT: %s was erased but not journaled", u)
		}
	}

	// A crash: SIGKILL part-way.
	start(syscall.SIGKILL, len(afterInt)+50)
	afterKill := journaled(t, journal)

	// Resume to the end.
	out, _, err := c.run(context.Background(), "", "dsr", "erase", "--app", c.app, "--input", input, "--concurrency", "4")
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	counts, _ = cnt.counts()
	repeated := 0
	for _, u := range ext {
		switch n := counts[u]; {
		case n == 0:
			t.Errorf("user %s was never erased", u)
		case n > 1 && afterKill[u]:
			t.Errorf("user %s was erased %d times although the journal had it", u, n)
		case n > 2:
			t.Errorf("user %s was erased %d times, want at most twice (once more after the crash)", u, n)
		case n == 2:
			repeated++
		}
	}
	if repeated > conc {
		t.Errorf("%d users were erased twice, want at most the %d in flight at the crash", repeated, conc)
	}
	t.Logf("journaled after SIGINT %d, after SIGKILL %d; repeated after the crash %d", len(afterInt), len(afterKill), repeated)
}
