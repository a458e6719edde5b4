package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/sunlamp/sunlamp/client"
)

// `sunlamp dsr delete --wait` (issue 17): Delete User answers {} at once and removes the user's
// history in the background; with --wait, the command then follows each deletion's receipt
// (GET /_sunlamp/v1/apps/{appId}/deletions/{userId}, Sunlamp only) until it is complete or the
// timeout passes, and reports what each deletion removed.

// waitConfig is the configuration of --wait.
type waitConfig struct {
	on      bool
	timeout time.Duration
	poll    time.Duration
}

func (w *waitConfig) flags(fs *flag.FlagSet) {
	fs.BoolVar(&w.on, "wait", false, "after deleting, wait until each deletion is complete (Sunlamp only: its deletion receipts) and report what it removed")
	fs.DurationVar(&w.timeout, "wait-timeout", 10*time.Minute, "with --wait, how long to wait for the deletions to complete")
	fs.DurationVar(&w.poll, "wait-poll", time.Second, "with --wait, how often to ask for the deletions still pending")
}

func (w *waitConfig) check() error {
	switch {
	case !w.on:
		return nil
	case w.timeout <= 0:
		return fmt.Errorf("--wait-timeout %s: want a positive duration such as 10m", w.timeout)
	case w.poll <= 0:
		return fmt.Errorf("--wait-poll %s: want a positive duration such as 1s", w.poll)
	}
	return nil
}

// deleteResolving is DeleteUser for --wait: it first asks GetUser for the user's internal id (the id
// the receipt is kept under; an externalId is freed by the deletion), then deletes that id. A user
// not found is reported as DeleteUser's 404 would be.
func deleteResolving(ctx context.Context, r *dsrRunner, user string) (int, string, error) {
	resp, err := r.client.Do(ctx, http.MethodGet, client.UserPath(r.cfg.conn.app, user), nil, nil)
	if err != nil {
		return 0, "", err
	}
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.User.ID == "" {
		return 0, "", errors.New("GetUser answered no user id")
	}
	status, _, err := deleteCall("")(ctx, r, out.User.ID)
	if err != nil {
		return 0, "", err
	}
	r.resolved.Store(user, out.User.ID)
	return status, "userId " + out.User.ID, nil
}

// deletionReceipt is a deletion receipt as the server answers it.
type deletionReceipt struct {
	UserID               string `json:"userId"`
	Status               string `json:"status"`
	MessagesRemoved      int64  `json:"messagesRemoved"`
	ConversationsRemoved int64  `json:"conversationsRemoved"`
	FilesRemoved         int64  `json:"filesRemoved"`
}

func (r *dsrRunner) deletion(ctx context.Context, userID string) (deletionReceipt, error) {
	var out struct {
		Deletion deletionReceipt `json:"deletion"`
	}
	path := "/_sunlamp/v1/apps/" + url.PathEscape(r.cfg.conn.app) + "/deletions/" + url.PathEscape(userID)
	resp, err := r.client.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return out.Deletion, err
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.Deletion.Status == "" {
		return out.Deletion, fmt.Errorf("the deletion receipt is not JSON of the expected shape")
	}
	return out.Deletion, nil
}

// waitDeletions follows the receipts of the users this run deleted until all are complete, the
// timeout passes or ctx ends (Ctrl-C), adds the outcome to each user's report detail, and prints a
// summary line. It returns errReported when a deletion was not seen complete.
func (r *dsrRunner) waitDeletions(ctx context.Context, stdout io.Writer) error {
	type waiting struct {
		idx int
		id  string
	}
	var pending []waiting
	for _, idx := range r.todo {
		if r.rows[idx].Outcome != outDeleted {
			continue
		}
		if id, ok := r.resolved.Load(r.rows[idx].User); ok {
			pending = append(pending, waiting{idx, id.(string)})
		}
	}
	if len(pending) == 0 {
		return nil
	}
	fmt.Fprintf(r.stderr, "%s: waiting for %d deletions to complete (up to %s)\n", r.label, len(pending), r.cfg.wait.timeout)
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, r.cfg.wait.timeout)
	defer cancel()
	var complete, noReceipt int
	var messages, conversations, files int64
	// Most purges end within milliseconds: ask again soon, then every --wait-poll.
	wait := min(100*time.Millisecond, r.cfg.wait.poll)
	for len(pending) > 0 && wctx.Err() == nil {
		next := pending[:0]
		for _, w := range pending {
			d, err := r.deletion(wctx, w.id)
			var apiErr *client.Error
			switch {
			case err == nil && d.Status == "complete":
				complete++
				messages, conversations, files = messages+d.MessagesRemoved, conversations+d.ConversationsRemoved, files+d.FilesRemoved
				r.rows[w.idx].Detail += fmt.Sprintf("; deletion complete: %d messages, %d conversations, %d files removed", d.MessagesRemoved, d.ConversationsRemoved, d.FilesRemoved)
			case err == nil || wctx.Err() != nil:
				next = append(next, w)
			case errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests:
				// No receipt to follow (a server other than Sunlamp answers 404): asking again
				// would not help.
				noReceipt++
				r.rows[w.idx].Detail += fmt.Sprintf("; no deletion receipt: %d %s", apiErr.Status, apiErr.Code())
			default:
				next = append(next, w) // a network error or 5xx that outlived the retries: ask again
			}
		}
		pending = next
		if len(pending) == 0 {
			break
		}
		select {
		case <-wctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, r.cfg.wait.poll)
	}
	why := fmt.Sprintf("after %s (--wait-timeout)", r.cfg.wait.timeout)
	if ctx.Err() != nil {
		why = "when interrupted"
	}
	for _, w := range pending {
		r.rows[w.idx].Detail += "; deletion still pending " + why
	}
	fmt.Fprintf(stdout, "%s --wait: %d deletions complete in %s (%d messages, %d conversations, %d files removed), %d still pending, %d without a receipt\n",
		r.label, complete, time.Since(start).Round(time.Millisecond), messages, conversations, files, len(pending), noReceipt)
	switch {
	case len(pending) > 0:
		fmt.Fprintf(r.stderr, "%s: %d deletions still pending %s: the users are gone for the API and their history is still being removed; follow each with GET /_sunlamp/v1/apps/%s/deletions/USERID (the ids are in --report)\n",
			r.label, len(pending), why, r.cfg.conn.app)
		return errReported
	case noReceipt > 0:
		fmt.Fprintf(r.stderr, "%s: %d deletions have no receipt to follow (--wait needs a Sunlamp server)\n", r.label, noReceipt)
		return errReported
	}
	return nil
}
