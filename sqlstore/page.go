package sqlstore

import (
	"context"
	"slices"

	"github.com/sunlamp/sunlamp"
)

// pageQuery describes a cursor-paged list: SELECT columns FROM from WHERE where, ordered by the
// table's `id` column (ids are time-ordered, so this is creation order on both databases).
type pageQuery struct {
	columns string
	from    string
	where   string // without WHERE; "" for none
	args    []any
	idCol   string // defaults to "id"
}

// pageOf returns one page of q in ascending id order, and the cursor around it:
//   - no cursor: the first Size records; HasMore when more follow.
//   - After X: the first Size records with id > X; Before is the first of them (X precedes them).
//   - Before X: the last Size records with id < X; After is the last of them (X follows them).
//
// It reads Size+1 records to learn HasMore without a count.
func pageOf[T any](ctx context.Context, t tx, p sunlamp.Page, q pageQuery, scan func(scanner) (T, error), idOf func(T) string) ([]T, sunlamp.Cursor, error) {
	idCol := q.idCol
	if idCol == "" {
		idCol = "id"
	}
	size := p.Size
	if size <= 0 {
		size = sunlamp.DefaultPageSize
	}
	where, args := q.where, slices.Clone(q.args)
	and := func(cond string, arg any) {
		if where != "" {
			where += " AND "
		}
		where += cond
		args = append(args, arg)
	}
	order := " ORDER BY " + idCol + " ASC"
	backward := p.Before != ""
	switch {
	case backward:
		and(idCol+" < ?", p.Before)
		order = " ORDER BY " + idCol + " DESC"
	case p.After != "":
		and(idCol+" > ?", p.After)
	}
	sqlText := "SELECT " + q.columns + " FROM " + q.from
	if where != "" {
		sqlText += " WHERE " + where
	}
	sqlText += order + " LIMIT ?"
	args = append(args, size+1)
	rows, err := t.query(ctx, sqlText, args...)
	if err != nil {
		return nil, sunlamp.Cursor{}, err
	}
	defer rows.Close()
	items := make([]T, 0, size+1)
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, sunlamp.Cursor{}, err
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, sunlamp.Cursor{}, err
	}
	var cur sunlamp.Cursor
	if len(items) > size {
		cur.HasMore = true
		items = items[:size]
	}
	if backward {
		slices.Reverse(items)
	}
	if len(items) == 0 {
		return items, cur, nil
	}
	linkPage(&cur, backward, p.After != "", idOf(items[0]), idOf(items[len(items)-1]))
	return items, cur, nil
}

// linkPage sets a page's cursors from the keys of its first and last items: a page read backward has
// one after it, and one before it when more came; a page read after a cursor has one before it, and
// one after it when more came; the first page, one after it when more came.
func linkPage(cur *sunlamp.Cursor, backward, afterCursor bool, first, last string) {
	switch {
	case backward:
		cur.After = last
		if cur.HasMore {
			cur.Before = first
		}
	case afterCursor:
		cur.Before = first
		if cur.HasMore {
			cur.After = last
		}
	default:
		if cur.HasMore {
			cur.After = last
		}
	}
}
