package api

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// The console (issue 16): a page at BASE/console from which a developer sees and drives every app,
// user, conversation, webhook delivery and emulator control. Its files are embedded (plain HTML,
// CSS and JavaScript modules: no CDN, no build step). It has no back door: the page calls the same
// /v2 and /_sunlamp/v1 endpoints any client calls, with the key id and secret its user signs in
// with, which it keeps in the tab's sessionStorage and sends as HTTP Basic in a header: never in a
// URL, a cookie or a log line. The page's Content-Security-Policy allows its own scripts and
// styles only, no inline code, API calls to Sunlamp alone, and no framing.

//go:embed console
var consoleFiles embed.FS

// consoleAssets is the folder of the console's files.
var consoleAssets, _ = fs.Sub(consoleFiles, "console")

// consoleCSP is the console's Content-Security-Policy. Images come from anywhere (messages point at
// them); nothing may frame the page (a console drives the API with the user's key).
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data: blob:; " +
	"media-src 'self' https: http: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// anyKey lets every API key call an operation: account, app and custom integration keys.
var anyKey = policy{scopes: []sunlamp.Scope{sunlamp.ScopeAccount, sunlamp.ScopeApp, sunlamp.ScopeIntegration}}

// consoleHeaders sets the headers of every console response.
func consoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// handleConsolePage serves the console's page. It needs no credentials: the page asks for them.
func (s *Server) handleConsolePage(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(consoleAssets, "index.html")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	consoleHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handleConsoleAsset serves the console's scripts, styles and icons.
func (s *Server) handleConsoleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || strings.ContainsAny(name, `/\`) {
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []errorEntry{{"not_found", "Resource not found"}}})
		return
	}
	b, err := fs.ReadFile(consoleAssets, name)
	if err != nil {
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []errorEntry{{"not_found", "Resource not found"}}})
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	consoleHeaders(w.Header())
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// whoAmIWire answers GET /_sunlamp/v1/whoami: the key that signed the request, and what the server
// offers beyond /v2.
type whoAmIWire struct {
	Key struct {
		ID            string `json:"id"`
		Type          string `json:"type"` // account, app or integration
		DisplayName   string `json:"displayName,omitempty"`
		AppID         string `json:"appId,omitempty"`
		IntegrationID string `json:"integrationId,omitempty"`
	} `json:"key"`
	// Emulator says whether the emulator controls (reset, clock, faults) are on.
	Emulator bool `json:"emulator"`
}

// handleWhoAmI answers which key signed the request (its id, type, and the app and integration it
// belongs to), so that a client signed in with a key learns what it may reach: the console asks it
// at sign-in. The secret is never part of it.
func (s *Server) handleWhoAmI(w http.ResponseWriter, r *http.Request) error {
	k := principal(r.Context())
	var out whoAmIWire
	out.Key.ID, out.Key.Type, out.Key.DisplayName = k.ID, string(k.Scope), k.DisplayName
	out.Key.AppID, out.Key.IntegrationID = k.AppID, k.IntegrationID
	out.Emulator = s.emu != nil
	writeJSON(w, http.StatusOK, out)
	return nil
}
