package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunlamp/sunlamp"
)

// Conversation retention (issue 17): the messages of a conversation inactive for longer than its
// app's conversationRetentionSeconds are deleted, as Delete All Messages deletes them (the
// conversation stays, empty; see sunlamp.AppSettings.RetentionPeriod for the rule and its source).
// The removal has Delete User's guarantees: small transactions, attachments' files through
// attachment_trash and the media janitor, and SQLite's write-ahead log scrubbed after each app's sweep.

const (
	// retentionBatch is how many messages (or outbox events) one sweep transaction removes: small
	// enough that other writers wait a few milliseconds at most between two batches.
	retentionBatch = 500
	// retentionEvery is how often, in the store's clock time, the sweeper looks for expired
	// conversations when nobody wakes it.
	retentionEvery = time.Minute
	// retentionPoll is how often, in real time, the sweeper reads the store's clock to notice that
	// a minute of clock time has passed, or that the clock jumped (the emulator's virtual clock
	// moved): a clock read, no query.
	retentionPoll = time.Second
)

// retentionState is the background sweeper of expired conversations.
type retentionState struct {
	disabled bool // WithoutBackgroundRetention
	job      *job
}

// WithoutBackgroundRetention keeps the store from sweeping expired conversations in the background
// (tests and benchmarks call SweepRetention themselves).
func WithoutBackgroundRetention() Option { return func(s *Store) { s.retention.disabled = true } }

// startRetention starts the sweeper, which sweeps at once (what expired while no process ran), then
// every retentionEvery of the store's clock, at once when that clock jumps forward, and when woken.
func (s *Store) startRetention() {
	if s.retention.disabled {
		return
	}
	s.retention.job = startJob(func(ctx context.Context, wake <-chan struct{}) {
		sweep := func() {
			if _, err := s.SweepRetention(ctx); err != nil && ctx.Err() == nil {
				s.auditLog().Warn("conversation retention sweep failed", "error", err.Error())
			}
		}
		tick := time.NewTicker(retentionPoll)
		defer tick.Stop()
		lastSweep := s.clock.Now()
		lastReal, lastClock := time.Now(), lastSweep
		sweep()
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-tick.C:
				real, clock := time.Now(), s.clock.Now()
				// The clock ran more than a poll's worth ahead of real time: it was moved.
				jumped := clock.Sub(lastClock)-real.Sub(lastReal) > retentionPoll/2
				lastReal, lastClock = real, clock
				if !jumped && clock.Sub(lastSweep) < retentionEvery {
					continue
				}
			}
			lastSweep = s.clock.Now()
			sweep()
			lastReal, lastClock = time.Now(), s.clock.Now()
		}
	})
}

// stopRetention stops the sweeper and waits for it; what it did not remove yet is found again by the
// next sweep (of this process or the next).
func (s *Store) stopRetention() { s.retention.job.stop() }

// WakeRetention asks the sweeper for a sweep now (after the emulator's clock moved, for one); it does
// nothing when the sweeper is off.
func (s *Store) WakeRetention() { s.retention.job.wake() }

// RetentionSweep is what one SweepRetention removed in one app.
type RetentionSweep struct {
	AppID                string
	MessagesRemoved      int64 // messages deleted
	ConversationsEmptied int64 // conversations emptied (they stay, as after Delete All Messages)
	FilesRemoved         int64 // attachments of those messages (their bytes go with them)
	EventsRemoved        int64 // outbox events of the emptied conversations
}

// SweepRetention deletes, in every app whose conversationRetentionSeconds is set, the messages of
// the conversations inactive (no message) for longer than that by the store's clock, with their
// attachments and their outbox events of that time, retentionBatch rows a
// transaction. Each conversation is emptied as Delete All Messages empties it (message count and
// unread counts 0, lastUpdatedAt back to its creation). A conversation that becomes active during
// the sweep keeps what the sweep had not removed yet. Each app's sweep that removed something is
// recorded in the audit trail (retentionSweep, actor "system") and is followed by the media
// janitor and eraseLogs (SQLite's write-ahead log truncated; PostgreSQL's vacuum requested). It
// returns the apps' sweeps that removed something; the background sweeper calls it, tests call it
// to wait for a sweep.
func (s *Store) SweepRetention(ctx context.Context) ([]RetentionSweep, error) {
	apps, err := s.appsWithRetention(ctx)
	if err != nil {
		return nil, fmt.Errorf("sweep retention: %w", err)
	}
	var out []RetentionSweep
	var errs []error
	for _, a := range apps {
		sw, err := s.sweepApp(ctx, a.id, a.period)
		if sw.MessagesRemoved > 0 || sw.EventsRemoved > 0 {
			out = append(out, sw)
			s.wakeMediaJanitor() // the files of the removed attachments, which the cascade trashed
			s.eraseLogsOf(ctx, retentionTables)
			counts := map[string]int64{
				sunlamp.CountMessagesRemoved:      sw.MessagesRemoved,
				sunlamp.CountConversationsRemoved: 0, // the service deletes messages, not conversations
				sunlamp.CountFilesRemoved:         sw.FilesRemoved,
			}
			// A sweep that failed part-way records what it removed, with the error's code; the
			// next sweep removes the rest.
			outcome := sunlamp.AuditOK
			if err != nil {
				outcome = sunlamp.AsError(err).Code
			}
			if aerr := s.RecordAudit(context.WithoutCancel(ctx), sunlamp.AuditEntry{AppID: a.id, Operation: sunlamp.AuditRetentionSweep,
				KeyID: sunlamp.AuditSystemActor, Outcome: outcome, Counts: counts}); aerr != nil {
				errs = append(errs, aerr)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep retention of app %s: %w", a.id, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return out, errors.Join(errs...)
}

type appRetention struct {
	id     string
	period time.Duration
}

// appsWithRetention returns the apps whose settings give a retention period. The apps are few and
// their settings short: the filter reads them all, and only those that name the setting are decoded.
func (s *Store) appsWithRetention(ctx context.Context) ([]appRetention, error) {
	rows, err := s.query(ctx, "SELECT id, settings FROM apps WHERE LOWER(settings) LIKE '%conversationretentionseconds%' ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []appRetention
	for rows.Next() {
		var id string
		var settings sql.NullString
		if err := rows.Scan(&id, &settings); err != nil {
			return nil, err
		}
		var st sunlamp.AppSettings
		if err := fromJSON(settings, &st); err != nil {
			return nil, fmt.Errorf("settings of app %s: %w", id, err)
		}
		if d, ok := st.RetentionPeriod(); ok {
			out = append(out, appRetention{id, d})
		}
	}
	return out, rows.Err()
}

// sweepApp removes the messages of appID's conversations inactive since before now - period, one
// bounded step a transaction, until none is left. The cutoff is fixed at its start, so that a sweep
// ends even while the clock runs.
func (s *Store) sweepApp(ctx context.Context, appID string, period time.Duration) (RetentionSweep, error) {
	sw := RetentionSweep{AppID: appID}
	cutoff := s.now().Add(-period).UnixMilli()
	busy := 0
	for {
		if err := ctx.Err(); err != nil {
			return sw, err
		}
		start := time.Now()
		done, err := s.retentionStep(ctx, appID, cutoff, &sw)
		switch {
		case sunlamp.KindOf(err) == sunlamp.KindRateLimited && busy < retentionBusyRetries:
			// A step that lost a deadlock (PostgreSQL: against the webhook dispatcher finishing a
			// delivery the step removes) or found the database busy rolled back whole: again.
			busy++
		case err != nil || done:
			return sw, err
		default:
			busy = 0
		}
		// Let the writers that queued behind the step go first: the sweep takes at most about half
		// of the write path's time, however long it runs.
		pause := time.Since(start)
		if pause > retentionMaxPause {
			pause = retentionMaxPause
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// retentionMaxPause bounds the pause between two steps of a sweep; retentionBusyRetries is how many
// times in a row a step that lost a deadlock or found the database busy is tried again.
const (
	retentionMaxPause    = 50 * time.Millisecond
	retentionBusyRetries = 5
)

// retentionPickQuery finds an expired conversation of an app (app id, the cutoff's hour, cutoff),
// among those of the oldest hour of last activity, through conversations_expiring (migration 0023:
// by hour, so that the index changes once an hour per conversation, not with every message), whose
// condition (activity_hour IS NOT NULL: the conversation holds messages) it repeats so that both
// databases may use that partial index. Within the cutoff's own hour it checks last_updated_at: the
// scan goes over at most that hour's conversations not yet expired.
const retentionPickQuery = "SELECT id FROM conversations WHERE app_id = ? AND activity_hour IS NOT NULL AND activity_hour <= ? AND last_updated_at < ? ORDER BY activity_hour LIMIT 1"

// hourOf is the activity_hour of a time in Unix milliseconds (migration 0023).
func hourOf(ms int64) int64 { return ms / 3600000 }

// retentionStep does one bounded piece of an app's sweep and reports whether nothing is left: it
// takes an expired conversation of the oldest hour of activity (conversations_expiring), under the
// conversation's lock (which PostMessage's batches take too, so that no message commits into it
// meanwhile), and removes first its outbox events of that time (they hold the messages' text),
// then its messages, oldest first, and last empties it.
func (s *Store) retentionStep(ctx context.Context, appID string, cutoff int64, sw *RetentionSweep) (done bool, err error) {
	var counted RetentionSweep
	err = s.inTx(ctx, func(t tx) error {
		counted = RetentionSweep{}
		var convID string
		err := t.queryRow(ctx, retentionPickQuery, appID, hourOf(cutoff), cutoff).Scan(&convID)
		if errors.Is(err, sql.ErrNoRows) {
			done = true
			return nil
		}
		if err != nil {
			return err
		}
		c, err := t.conversationLocked(ctx, appID, convID)
		if errors.Is(err, sunlamp.ErrConversationNotFound) {
			return nil // deleted meanwhile: look again
		}
		if err != nil {
			return err
		}
		if c.MessageCount == 0 || c.LastUpdatedAt.UnixMilli() >= cutoff {
			return nil // emptied or active again meanwhile: it no longer matches; look again
		}
		// Its outbox events from before the cutoff (conversation:message events' created_at is the
		// message's received time, before the cutoff like every message of the conversation;
		// postbacks, activities and delivery receipts of that time go too, since they quote the
		// messages), with their deliveries (ON DELETE CASCADE) and what the webhook flight recorder
		// kept of them (the payloads as sent hold the text).
		events, err := t.retentionEvents(ctx, convID, cutoff)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			in := placeholders(len(events))
			if _, err := t.exec(ctx, "DELETE FROM delivery_attempts WHERE event_id IN ("+in+")", events...); err != nil {
				return err
			}
			res, err := t.exec(ctx, "DELETE FROM events WHERE id IN ("+in+")", events...)
			if err != nil {
				return err
			}
			t.outboxChanged() // the deliveries queued behind a removed one may now be due
			counted.EventsRemoved, _ = res.RowsAffected()
			return nil
		}
		// The oldest retentionBatch messages: up to the last id among them, by the primary key.
		var last sql.NullString
		if err := t.queryRow(ctx, "SELECT MAX(id) FROM (SELECT id FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ?) b",
			convID, retentionBatch).Scan(&last); err != nil {
			return err
		}
		if last.Valid {
			// Their attachments, which the foreign key deletes with them and whose deletion puts
			// them in attachment_trash (files: the janitor removes them; PostgreSQL: their chunks
			// go by cascade). Those of earlier batches are gone, so "up to last" is this batch's.
			var files int64
			if err := t.queryRow(ctx, "SELECT COUNT(*) FROM attachments WHERE conversation_id = ? AND message_id <= ?", convID, last.String).Scan(&files); err != nil {
				return err
			}
			res, err := t.exec(ctx, "DELETE FROM messages WHERE conversation_id = ? AND id <= ?", convID, last.String)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			counted.MessagesRemoved, counted.FilesRemoved = n, files
			if n == retentionBatch {
				// More may be left: keep the count right for the messages that stay meanwhile.
				_, err := t.exec(ctx, "UPDATE conversations SET message_count = CASE WHEN message_count > ? THEN message_count - ? ELSE 1 END WHERE id = ?", n, n, convID)
				return err
			}
		}
		// None left: the conversation is emptied as Delete All Messages empties it, which takes it
		// out of conversations_expiring.
		if _, err := t.exec(ctx, "UPDATE participants SET unread_count = 0 WHERE conversation_id = ?", convID); err != nil {
			return err
		}
		counted.ConversationsEmptied = 1
		_, err = t.exec(ctx, "UPDATE conversations SET message_count = 0, last_updated_at = created_at WHERE id = ?", convID)
		return err
	})
	if err != nil {
		return false, err
	}
	sw.MessagesRemoved += counted.MessagesRemoved
	sw.FilesRemoved += counted.FilesRemoved
	sw.EventsRemoved += counted.EventsRemoved
	sw.ConversationsEmptied += counted.ConversationsEmptied
	return done, nil
}

// retentionEvents returns the ids of up to retentionBatch outbox events of convID created before
// cutoff (through events_by_conversation).
func (t tx) retentionEvents(ctx context.Context, convID string, cutoff int64) ([]any, error) {
	return t.ids(ctx, "SELECT id FROM events WHERE conversation_id = ? AND created_at < ? LIMIT ?", convID, cutoff, retentionBatch)
}

// retentionTables are the tables a retention sweep removes rows from, which PostgreSQL vacuums
// after it (postgresVacuum).
var retentionTables = []string{"messages", "attachments", "attachment_chunks", "events", "deliveries", "delivery_attempts"}
