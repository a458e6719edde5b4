package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// reportRow is the outcome of one input line in a dsr run.
type reportRow struct {
	Line    int    `json:"line"`
	User    string `json:"id"`
	Outcome string `json:"outcome"` // erased, deleted, exported, not_found, already_done, failed, invalid, duplicate, not_run
	Status  int    `json:"status"`  // HTTP status of the last attempt; 0 when no response was had
	Code    string `json:"code"`    // errors[0].code of an error response
	Detail  string `json:"detail,omitempty"`
	Time    string `json:"time"`
}

// The outcomes of a dsr run.
const (
	outErased      = "erased"
	outDeleted     = "deleted"
	outExported    = "exported"
	outNotFound    = "not_found"
	outAlreadyDone = "already_done"
	outFailed      = "failed"
	outInvalid     = "invalid"
	outDuplicate   = "duplicate"
	outNotRun      = "not_run" // the run stopped (Ctrl-C, a fatal error) before reaching the user
)

// checkReportPath returns the format of a report path: csv or json, by its extension.
func checkReportPath(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".json":
		return "json", nil
	}
	return "", fmt.Errorf("--report %s: the name must end in .csv or .json", path)
}

// writeReport writes rows to path, as CSV or a JSON array by its extension; it replaces the file
// atomically so that an interrupted write leaves the old report.
func writeReport(path string, rows []reportRow) error {
	format, err := checkReportPath(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if format == "json" {
		enc := json.NewEncoder(tmp)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []reportRow{}
		}
		err = enc.Encode(rows)
	} else {
		w := csv.NewWriter(tmp)
		w.Write([]string{"line", "id", "outcome", "status", "code", "detail", "time"})
		for _, r := range rows {
			w.Write([]string{strconv.Itoa(r.Line), r.User, r.Outcome, strconv.Itoa(r.Status), r.Code, r.Detail, r.Time})
		}
		w.Flush()
		err = w.Error()
	}
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
