package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// Snapshots (issue 15): GET exports an app as one versioned JSON document (its schema is the
// store's: sqlstore/emulator_snapshot.go, documented in the README) in every mode; POST loads one
// into a new app keeping every id, on an emulator only. Account key only.

// maxSnapshotBody bounds a snapshot document: its attachments' bytes are in it, in base64.
const maxSnapshotBody = 256 << 20

// handleGetSnapshot answers the app's snapshot document.
func (s *Server) handleGetSnapshot(w http.ResponseWriter, r *http.Request) error {
	doc, err := s.store.Snapshot(r.Context(), r.PathValue("appId"), s.baseURL)
	if err != nil {
		return err
	}
	writeRawJSON(w, http.StatusOK, doc)
	return nil
}

// handleLoadSnapshot creates the app of a snapshot document in the caller's account, keeping every
// id, and answers the app.
func (s *Server) handleLoadSnapshot(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil {
		return err
	}
	doc, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return sunlamp.ErrRequestTooLarge
		}
		return sunlamp.Invalid("Could not read the request body")
	}
	if err := checkJSONText(doc); err != nil {
		return err
	}
	appID, err := s.store.LoadSnapshot(r.Context(), principal(r.Context()).AccountID, s.baseURL, doc)
	if err != nil {
		return err
	}
	app, err := s.store.App(r.Context(), appID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"app": appOut(app)})
	return nil
}
