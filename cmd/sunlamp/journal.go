package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The journal of a dsr run is a file of JSON lines: a header naming the operation, the API and the
// app (and an export's destination), then one record per user whose outcome is final (erased,
// deleted or exported, or not found). Each record
// is written and fsynced before the user counts as done, so that a re-run after Ctrl-C, a crash or a
// lost network skips exactly what is done. A torn last line (the process died mid-write) is ignored.

// journalHeader identifies what a journal is a journal of; a re-run must match it.
type journalHeader struct {
	Journal string `json:"journal"` // always "sunlamp-dsr/1"
	Op      string `json:"op"`
	URL     string `json:"url"`
	App     string `json:"app"`
	Out     string `json:"out,omitempty"` // export: the absolute path of --out or --out-dir
}

// journalRecord is the final outcome of one user.
type journalRecord struct {
	User    string `json:"user"`
	Outcome string `json:"outcome"`
	Status  int    `json:"status"`
	Code    string `json:"code,omitempty"`
	Time    string `json:"time"`
}

const journalMagic = "sunlamp-dsr/1"

// journal appends records to an open journal file.
type journal struct {
	f    *os.File
	w    *bufio.Writer
	done map[string]journalRecord // what earlier runs finished
}

// openJournal opens (or creates) the journal at path for h and loads the records of earlier runs.
// It refuses a journal written for another operation, API or app.
func openJournal(path string, h journalHeader) (*journal, error) {
	h.Journal = journalMagic
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := lockJournal(f); err != nil {
		f.Close()
		return nil, err
	}
	j := &journal{f: f, done: map[string]journalRecord{}}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	if len(data) == 0 {
		line, _ := json.Marshal(h)
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return nil, fmt.Errorf("write journal %s: %w", path, err)
		}
	} else {
		lines := bytes.Split(data, []byte("\n"))
		var got journalHeader
		if err := json.Unmarshal(lines[0], &got); err != nil || got.Journal != journalMagic {
			f.Close()
			return nil, fmt.Errorf("%s is not a sunlamp dsr journal", path)
		}
		if got.Op != h.Op || got.App != h.App || got.URL != h.URL {
			f.Close()
			return nil, fmt.Errorf("journal %s is of 'dsr %s' on app %s at %s, not of this run: give another --journal", path, got.Op, got.App, got.URL)
		}
		if got.Out != h.Out {
			// What it says is done was written elsewhere.
			f.Close()
			return nil, fmt.Errorf("journal %s is of 'dsr %s' into %s, not of this run: give another --journal", path, got.Op, got.Out)
		}
		for _, l := range lines[1:] {
			var r journalRecord
			if len(l) == 0 || json.Unmarshal(l, &r) != nil || r.User == "" {
				continue // a torn line from a crash mid-write
			}
			j.done[r.User] = r
		}
		if data[len(data)-1] != '\n' {
			// Finish the torn line so that the next record starts on a line of its own.
			if _, err := f.Write([]byte("\n")); err != nil {
				f.Close()
				return nil, fmt.Errorf("write journal %s: %w", path, err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync journal %s: %w", path, err)
	}
	j.w = bufio.NewWriter(f)
	return j, nil
}

// add buffers a record; commit makes the buffered records durable.
func (j *journal) add(r journalRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	j.w.Write(b)
	return j.w.WriteByte('\n')
}

// commit writes the buffered records and fsyncs them.
func (j *journal) commit() error {
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	return nil
}

// close commits and closes the file.
func (j *journal) close() error {
	return errors.Join(j.commit(), j.f.Close())
}

func nowStamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }
