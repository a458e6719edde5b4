package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// This file holds the SQL helpers every part of the store shares: statements, placeholder lists,
// row scanning, NULLs and JSON columns.

// stmt is a statement of a batch: its `?` text and arguments.
type stmt struct {
	q    string
	args []any
}

// chunkSizes splits n into powers of two of at most 128, largest first. Statements are built for
// these sizes only, so that both databases find them in their prepared-statement caches instead of
// parsing a new text for every batch size.
func chunkSizes(n int) []int {
	var out []int
	for size := 128; n > 0; size /= 2 {
		for n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// padded returns rows padded to a chunk size by repeating its last row: the statements that take
// them (IN lists, UPDATE ... FROM) are unaffected by a repeated row.
func padded[T any](rows []T) []T {
	size := 1
	for size < len(rows) {
		size *= 2
	}
	for len(rows) < size {
		rows = append(rows, rows[len(rows)-1])
	}
	return rows
}

// valuesTable returns a derived table of rows for UPDATE ... FROM, written so that both databases
// accept it: SELECT CAST(? AS type) AS name, ... UNION ALL SELECT ?, ... (PostgreSQL types the
// later rows' parameters from the first row's casts).
func valuesTable(cols [][2]string, rows int) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("CAST(? AS " + c[1] + ") AS " + c[0])
	}
	tail := " UNION ALL SELECT " + placeholders(len(cols))
	for i := 1; i < rows; i++ {
		b.WriteString(tail)
	}
	b.WriteString(")")
	return b.String()
}

// inList returns "(?, ?, ...)" for n values.
func inList(n int) string {
	return "(?" + strings.Repeat(", ?", n-1) + ")"
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// nullStr turns "" into NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// notFound turns sql.ErrNoRows into notFoundErr and wraps anything else with what.
func notFound(err error, notFoundErr *sunlamp.Error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFoundErr
	}
	return fmt.Errorf("%s: %w", what, err)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// toJSON encodes v as JSON text for a column; a nil map or slice becomes NULL.
func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case sunlamp.Metadata:
		if x == nil {
			return nil, nil
		}
	case map[string]any:
		if x == nil {
			return nil, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode json column: %w", err)
	}
	return string(b), nil
}

// fromJSON decodes a JSON text column into dst; NULL leaves dst as it is. Numbers decode as
// json.Number so that integers keep their precision.
func fromJSON(col sql.NullString, dst any) error {
	if !col.Valid || col.String == "" {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader([]byte(col.String)))
	d.UseNumber()
	if err := d.Decode(dst); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	return nil
}

// ids runs a query of one text column and returns its values as arguments for an IN list
// (placeholders): the rows a batch will remove, chosen once for every statement of the batch.
func (t tx) ids(ctx context.Context, q string, args ...any) ([]any, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// storedEvent is an outbox event's id and stored data (its snapshot).
type storedEvent struct{ id, data string }

// storedEvents reads the rows of a query of an event's id and data, all of them before the caller
// writes (a transaction cannot update while it reads rows on SQLite's connection).
func storedEvents(rows *sql.Rows, err error) ([]storedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []storedEvent
	for rows.Next() {
		var e storedEvent
		if err := rows.Scan(&e.id, &e.data); err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, rows.Err()
}
