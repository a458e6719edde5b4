package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxUserRef is the longest id or externalId accepted (the spec's externalId maxLength).
const maxUserRef = 1024

// inputItem is one user named by the input: its value and line, or why the line is bad.
type inputItem struct {
	line int
	user string
	bad  string // why the line was rejected; "" when it is good
}

// idColumns are the header names, in order of preference, of the column that names users.
var idColumns = []string{"id", "userid", "user_id", "externalid", "external_id"}

// readInput reads the users named by r: a CSV with a header row that has an id, userId or externalId
// column (a first line with a comma or a quote, or that is one of those names, is such a header), or
// one value per line with no header (taken as they are: quotes are part of the value). Blank lines
// are skipped. Lines that cannot name a user (too long, control characters, "." or "..", an empty
// CSV value, a broken CSV row) come back with bad set, so that they are reported rather than fatal.
// A value seen twice comes back once, the repeat marked bad.
func readInput(r io.Reader) ([]inputItem, error) {
	br := bufio.NewReader(r)
	first, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read input: %w", err)
	}
	head := string(first)
	if i := strings.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	head = strings.TrimPrefix(strings.TrimSpace(head), "\ufeff")
	var items []inputItem
	if strings.ContainsAny(head, ",\"") || isHeader(head) {
		items, err = readCSV(br)
	} else {
		items, err = readLines(br)
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(items))
	for i := range items {
		it := &items[i]
		if it.bad != "" {
			continue
		}
		if prev, dup := seen[it.user]; dup {
			it.bad = fmt.Sprintf("duplicate of line %d", prev)
			continue
		}
		seen[it.user] = it.line
	}
	return items, nil
}

func isHeader(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, c := range idColumns {
		if s == c {
			return true
		}
	}
	return false
}

func readLines(r *bufio.Reader) ([]inputItem, error) {
	var items []inputItem
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		v := strings.TrimSpace(sc.Text())
		if line == 1 {
			v = strings.TrimPrefix(v, "\ufeff")
			if isHeader(v) {
				continue
			}
		}
		if v == "" {
			continue
		}
		items = append(items, checkValue(line, v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read input line %d: %w", line+1, err)
	}
	return items, nil
}

func readCSV(r io.Reader) ([]inputItem, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read input header: %w", err)
	}
	header := append([]string(nil), rec...) // ReuseRecord: the next Read overwrites rec
	col := -1
	for _, want := range idColumns {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), want) {
				col = i
				break
			}
		}
		if col >= 0 {
			break
		}
	}
	if col < 0 {
		return nil, errors.New("the input's header row has no id, userId or externalId column (a file with one value per line needs no header)")
	}
	var items []inputItem
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return items, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			items = append(items, inputItem{line: pe.StartLine, bad: "malformed CSV: " + pe.Err.Error()})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		line, _ := cr.FieldPos(0)
		if col >= len(rec) {
			items = append(items, inputItem{line: line, bad: fmt.Sprintf("no column %d (%s)", col+1, header[col])})
			continue
		}
		v := strings.TrimSpace(rec[col])
		if v == "" {
			items = append(items, inputItem{line: line, bad: "empty " + header[col]})
			continue
		}
		items = append(items, checkValue(line, v))
	}
}

// checkValue returns the item for a value, bad when it cannot be a user id or externalId.
func checkValue(line int, v string) inputItem {
	if why := badPathID(v); why != "" {
		return inputItem{line: line, bad: why}
	}
	switch {
	case !utf8.ValidString(v):
		return inputItem{line: line, bad: "not valid UTF-8"}
	case len(v) > maxUserRef:
		return inputItem{line: line, bad: fmt.Sprintf("longer than %d bytes", maxUserRef)}
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return inputItem{line: line, bad: "contains control characters"}
	}
	return inputItem{line: line, user: v}
}

// badPathID says why v cannot be sent as an id in a URL path ("" when it can): an empty, "." or
// ".." segment makes the path name another resource once it is cleaned (DELETE .../users/.. would
// reach the app), so such a value is refused before any request. The client refuses it too; this
// says so in the words of the command line, and before the run starts.
func badPathID(v string) string {
	switch v {
	case "":
		return "empty id"
	case ".", "..":
		return `"." and ".." cannot be sent as an id (in a URL path they name another resource)`
	}
	return ""
}
