package client

import (
	"context"
	"iter"
)

// pageFunc fetches one page: its items and its meta.
type pageFunc[T any] func(ctx context.Context, p Page) ([]T, Meta, error)

// forward iterates over every item from p onwards, following afterCursor while hasMore is true.
// An error is yielded once, as the last pair.
func forward[T any](ctx context.Context, p Page, fetch pageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, meta, err := fetch(ctx, p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !meta.HasMore || meta.AfterCursor == "" || meta.AfterCursor == p.After {
				return
			}
			p = Page{After: meta.AfterCursor, Size: p.Size}
		}
	}
}

// backward iterates from p towards older records, following beforeCursor while hasMore is true
// (ListMessages pages backwards from the most recent page). Within a page items keep the server's order.
func backward[T any](ctx context.Context, p Page, fetch pageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, meta, err := fetch(ctx, p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !meta.HasMore || meta.BeforeCursor == "" || meta.BeforeCursor == p.Before {
				return
			}
			p = Page{Before: meta.BeforeCursor, Size: p.Size}
		}
	}
}
