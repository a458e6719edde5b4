package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeAuditRetention: `sunlamp serve --audit-retention` keeps audit entries for that long by
// the server's clock: under --emulator, moving the virtual clock past the retention has the
// background janitor remove them, and the log has one line per entry with ids only.
func TestServeAuditRetention(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SUNLAMP_ACCOUNT_KEY_ID": "act_ci", "SUNLAMP_ACCOUNT_KEY_SECRET": "a-secret-of-enough-length",
		"SUNLAMP_DB": "sqlite:" + filepath.Join(dir, "s.db"), "SUNLAMP_EMULATOR": "true"}
	url, stderr, _ := startRun(t, env, "--audit-retention", "2h")
	status, body := do(t, "POST", url+"/v2/apps", `{"displayName":"Audited"}`)
	if status != 201 {
		t.Fatalf("create app: got %d %s", status, body)
	}
	app := body[strings.Index(body, `"id":"`)+6:][:24]
	if status, body := do(t, "POST", url+"/v2/apps/"+app+"/users", `{"externalId":"planted-ext","profile":{"givenName":"Plantedname"}}`); status != 201 {
		t.Fatalf("create user: got %d %s", status, body)
	}
	if status, _ := do(t, "DELETE", url+"/v2/apps/"+app+"/users/planted-ext/personalinformation", ""); status != 200 {
		t.Fatalf("erase: got %d", status)
	}
	audit := url + "/_sunlamp/v1/apps/" + app + "/audit"
	if _, body := do(t, "GET", audit, ""); !strings.Contains(body, `"operation":"deleteUserPersonalInformation"`) || !strings.Contains(body, `"keyId":"act_ci"`) {
		t.Fatalf("got %s, want the erasure's entry by act_ci", body)
	}
	logs := stderr.String()
	if !strings.Contains(logs, "msg=audit") || !strings.Contains(logs, "operation=deleteUserPersonalInformation") {
		t.Errorf("the log has no audit line: %s", logs)
	}
	for _, v := range []string{"planted-ext", "Plantedname"} {
		if strings.Contains(logs, v) {
			t.Errorf("the log holds %q: %s", v, logs)
		}
	}

	// An hour later the entry is kept; past two hours the janitor, woken by the move, removes it.
	do(t, "POST", url+"/_sunlamp/v1/clock", `{"advance":"1h"}`)
	time.Sleep(100 * time.Millisecond)
	if _, body := do(t, "GET", audit, ""); !strings.Contains(body, "deleteUserPersonalInformation") {
		t.Fatalf("an hour later: got %s, want the entry kept", body)
	}
	do(t, "POST", url+"/_sunlamp/v1/clock", `{"advance":"1h1m"}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := do(t, "GET", audit, "")
		if strings.Contains(body, `"auditEntries":[]`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("past the retention: got %s, want no entries", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeAuditRetentionFlag(t *testing.T) {
	for _, bad := range [][]string{{"--audit-retention", "0s"}, {"--audit-retention", "-1h"}} {
		if _, err := parseServe(bad, func(string) string { return "" }, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "--audit-retention must be positive") {
			t.Errorf("%v: got %v, want refused", bad, err)
		}
	}
	if _, err := parseServe(nil, func(k string) string { return map[string]string{"SUNLAMP_AUDIT_RETENTION": "soon"}[k] }, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "SUNLAMP_AUDIT_RETENTION") {
		t.Errorf("got %v, want a bad SUNLAMP_AUDIT_RETENTION refused", err)
	}
	c, err := parseServe(nil, func(string) string { return "" }, &syncBuffer{})
	if err != nil || c.auditRetention != 52560*time.Hour {
		t.Errorf("default: got %v, %v; want 52560h (6 years)", c.auditRetention, err)
	}
	c, err = parseServe([]string{"--audit-retention", "720h"}, func(k string) string { return map[string]string{"SUNLAMP_AUDIT_RETENTION": "1h"}[k] }, &syncBuffer{})
	if err != nil || c.auditRetention != 720*time.Hour {
		t.Errorf("flag over environment: got %v, %v; want 720h", c.auditRetention, err)
	}
}
