package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// The data-subject export (issue 17): ExportUser reads what the store holds about a user in pages,
// each one query on the read pool, so that the export streams at the speed of one index range scan
// per page and never holds a snapshot while the caller writes a page to a slow client.

// Page sizes of the export: a page of messages is a few hundred kilobytes at most.
// A recorded attempt holds a payload and up to 64 kB of response, and interactive data a form's
// answers: smaller pages keep one page in flight a few megabytes at most.
const (
	exportPageSize    = 100
	exportMessagePage = 500
	exportLargePage   = 50
)

// ExportUser hands what the store holds about a user to x; see sunlamp.ExportStore.
func (s *Store) ExportUser(ctx context.Context, appID, idOrExternalID string, x sunlamp.UserExport) error {
	u, err := s.User(ctx, appID, idOrExternalID)
	if err != nil {
		return err
	}
	if err := x.User(u); err != nil {
		return err
	}
	uid := u.ID

	err = exportPages(ctx, s, "SELECT "+clientColumns+" FROM clients WHERE user_id = ? AND app_id = ? AND id > ? ORDER BY id LIMIT ?",
		[]any{uid, appID}, "", exportPageSize, scanClient, func(c sunlamp.Client) any { return c.ID }, x.Clients)
	if err != nil {
		return fmt.Errorf("export clients: %w", err)
	}
	// A user has a handful of devices: one page, in ListDevices' order.
	devices, err := scanAll(ctx, s, "SELECT "+deviceColumns+" FROM devices WHERE user_id = ? AND app_id = ? ORDER BY last_seen DESC, id DESC", []any{uid, appID}, scanDevice)
	if err != nil {
		return fmt.Errorf("export devices: %w", err)
	}
	if err := x.Devices(devices); err != nil {
		return err
	}

	// The conversations they take part in, in id order, then those they wrote in and have left.
	after := ""
	for {
		convs, err := scanAll(ctx, s, "SELECT c.id, c.app_id, c.type, c.default_user_id, c.display_name, c.description, c.icon_url, c.metadata, c.business_last_read, c.last_updated_at, c.created_at, c.message_count"+
			" FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = ? AND p.app_id = ? AND p.conversation_id > ? ORDER BY p.conversation_id LIMIT ?",
			[]any{uid, appID, after, exportPageSize}, scanConversation)
		if err != nil {
			return fmt.Errorf("export conversations: %w", err)
		}
		for _, c := range convs {
			if err := s.exportConversation(ctx, c, uid, c.Type == sunlamp.ConversationPersonal, x); err != nil {
				return err
			}
		}
		if len(convs) < exportPageSize {
			break
		}
		after = convs[len(convs)-1].ID
	}
	left, err := scanAll(ctx, s, "SELECT DISTINCT m.conversation_id FROM messages m WHERE m.author_user_id = ? AND m.app_id = ?"+
		" AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id = ?) ORDER BY m.conversation_id",
		[]any{uid, appID, uid}, func(r scanner) (id string, err error) { return id, r.Scan(&id) })
	if err != nil {
		return fmt.Errorf("export conversations left: %w", err)
	}
	for _, id := range left {
		c, err := s.Conversation(ctx, appID, id)
		if sunlamp.KindOf(err) == sunlamp.KindNotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("export conversations left: %w", err)
		}
		if err := s.exportConversation(ctx, c, uid, false, x); err != nil {
			return err
		}
	}
	if err := x.ConversationsDone(); err != nil {
		return err
	}

	// Attachments tied to the user: uploaded for their personal conversation, or used first by a
	// message they wrote (each branch an index: attachments_by_message, attachments_by_user).
	err = exportPages(ctx, s, "SELECT "+attachmentColumns+" FROM attachments WHERE app_id = ? AND id > ? AND (user_id = ? OR conversation_id IN"+
		" (SELECT p.conversation_id FROM participants p JOIN conversations c ON c.id = p.conversation_id WHERE p.user_id = ? AND c.type = 'personal'))"+
		" ORDER BY id LIMIT ?",
		nil, "", exportPageSize, scanAttachment, func(a sunlamp.Attachment) any { return a.ID }, x.Attachments,
		func(cursor any) []any { return []any{appID, cursor, uid, uid} })
	if err != nil {
		return fmt.Errorf("export attachments: %w", err)
	}

	// The outbox events about them that a webhook has still to receive (events_by_user).
	err = exportPages(ctx, s, `SELECT e.seq, e.id, e.app_id, e.type, e.conversation_id, e.user_id, e.integration_id, e.data, e.created_at,
			(SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
		FROM events e WHERE e.user_id = ? AND e.app_id = ? AND e.seq > ?
			AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
		ORDER BY e.seq LIMIT ?`,
		[]any{uid, appID}, int64(0), exportPageSize, scanPendingEvent, func(e seqEvent) any { return e.seq },
		func(page []seqEvent) error {
			out := make([]sunlamp.PendingEvent, len(page))
			for i := range page {
				out[i] = page[i].PendingEvent
			}
			return x.PendingEvents(out)
		})
	if err != nil {
		return fmt.Errorf("export pending events: %w", err)
	}

	// The webhook flight recorder's attempts of events about them, payloads as sent (scrubbed when
	// the user was erased since: emulator_recorder.go). No app_id term: a user id is the app's
	// already (ids are unique across apps, and uid was found in appID), and with one both databases
	// walk delivery_attempts_by_app, every attempt of the app, in id order to skip the sort.
	// delivery_attempts_by_user is on user_id alone, so each page sorts the user's attempts of the
	// recorder's last 24 hours by id; a (user_id, id) index would make a page one range scan.
	err = exportPages(ctx, s, "SELECT "+attemptColumns+" FROM delivery_attempts WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?",
		[]any{uid}, "", exportLargePage, scanAttempt, func(a sunlamp.DeliveryAttempt) any { return a.ID }, x.DeliveryAttempts)
	if err != nil {
		return fmt.Errorf("export delivery attempts: %w", err)
	}

	// Conversion events of the conversations they take part in (participants_by_user, then
	// conversion_events_by_conversation): all of a personal conversation's, which are about them,
	// and in another those attributed to the integration of one of their clients (the event went
	// to "the conversation's client on the channel", a participant's: see RecordConversionEvent)
	// when no other participant has a client of that integration: the store does not record which
	// client an event went to, and another person's data must not be in this one's export.
	// Keyset on (conversation, id), in participants_by_user's order (SQLite sorts each
	// conversation's events only).
	err = exportPages(ctx, s, `SELECT e.id, e.app_id, e.conversation_id, e.channel, e.integration_id, e.dataset_id, e.payload, e.events_received, e.created_at
		FROM participants p JOIN conversations c ON c.id = p.conversation_id JOIN conversion_events e ON e.conversation_id = p.conversation_id
		WHERE p.user_id = ? AND p.app_id = ? AND p.conversation_id >= ? AND (e.conversation_id, e.id) > (?, ?)
			AND (c.type = 'personal' OR EXISTS (SELECT 1 FROM clients cl WHERE cl.user_id = ? AND cl.integration_id = e.integration_id)
				AND NOT EXISTS (SELECT 1 FROM participants p2 JOIN clients cl2 ON cl2.user_id = p2.user_id
					WHERE p2.conversation_id = e.conversation_id AND p2.user_id <> ? AND cl2.integration_id = e.integration_id))
		ORDER BY p.conversation_id, e.id LIMIT ?`,
		nil, convKey{}, exportPageSize, scanConversionEvent, func(e sunlamp.ConversionEvent) any { return convKey{e.ConversationID, e.ID} }, x.ConversionEvents,
		func(cursor any) []any {
			k := cursor.(convKey)
			return []any{uid, appID, k.conv, k.conv, k.id, uid, uid}
		})
	if err != nil {
		return fmt.Errorf("export conversion events: %w", err)
	}

	// Apple interactive data recorded for them (interactive_data_refs_by_user), without the
	// reference's key and signature.
	err = exportPages(ctx, s, "SELECT id, app_id, integration_id, user_id, url, bid, owner, content, created_at FROM interactive_data_refs WHERE user_id = ? AND app_id = ? AND id > ? ORDER BY id LIMIT ?",
		[]any{uid, appID}, "", exportLargePage, scanExportInteractiveData, func(d sunlamp.InteractiveData) any { return d.ID }, x.InteractiveData)
	if err != nil {
		return fmt.Errorf("export interactive data: %w", err)
	}

	// Their web messenger sessions (visitor_sessions_by_user), without the secret's hash.
	err = exportPages(ctx, s, "SELECT id, app_id, integration_id, user_id, created_at FROM visitor_sessions WHERE user_id = ? AND app_id = ? AND id > ? ORDER BY id LIMIT ?",
		[]any{uid, appID}, "", exportPageSize, scanExportVisitorSession, func(v sunlamp.VisitorSession) any { return v.ID }, x.VisitorSessions)
	if err != nil {
		return fmt.Errorf("export visitor sessions: %w", err)
	}

	// The audit trail about them (audit_by_user).
	err = exportPages(ctx, s, "SELECT "+auditColumns+" FROM audit_entries WHERE app_id = ? AND user_id = ? AND id > ? ORDER BY id LIMIT ?",
		[]any{appID, uid}, "", exportPageSize, scanAudit, func(e sunlamp.AuditEntry) any { return e.ID }, x.AuditEntries)
	if err != nil {
		return fmt.Errorf("export audit entries: %w", err)
	}
	return nil
}

// exportConversation hands c and its messages that are the user's to x: all of them, or those the
// user wrote. Each page is a range of the primary key (conversation_id, id), written as row-value
// bounds as Messages does (see there why).
func (s *Store) exportConversation(ctx context.Context, c sunlamp.Conversation, userID string, all bool, x sunlamp.UserExport) error {
	if err := x.Conversation(c, all); err != nil {
		return err
	}
	q := messageSelect + " WHERE (m.conversation_id, m.id) > (?, ?) AND (m.conversation_id, m.id) < (?, 'g') AND m.app_id = ?"
	args := func(cursor any) []any { return []any{c.ID, cursor, c.ID, c.AppID} }
	if !all {
		q += " AND m.author_user_id = ? AND m.author_type = 'user'"
		args = func(cursor any) []any { return []any{c.ID, cursor, c.ID, c.AppID, userID} }
	}
	q += " ORDER BY m.conversation_id, m.id LIMIT ?"
	err := exportPages(ctx, s, q, nil, "", exportMessagePage, scanMessage, func(m sunlamp.Message) any { return m.ID }, x.Messages, args)
	if err != nil {
		return fmt.Errorf("export messages: %w", err)
	}
	return nil
}

// convKey is the export's cursor of conversion events: a conversation and an event id in it.
type convKey struct{ conv, id string }

func scanExportInteractiveData(r scanner) (sunlamp.InteractiveData, error) {
	var d sunlamp.InteractiveData
	var content string
	var created int64
	if err := r.Scan(&d.ID, &d.AppID, &d.IntegrationID, &d.UserID, &d.Ref.URL, &d.Ref.Bid, &d.Ref.Owner, &content, &created); err != nil {
		return d, err
	}
	d.Content, d.CreatedAt = []byte(content), sunlamp.FromMillis(created)
	return d, nil
}

func scanExportVisitorSession(r scanner) (sunlamp.VisitorSession, error) {
	var v sunlamp.VisitorSession
	var created int64
	if err := r.Scan(&v.ID, &v.AppID, &v.IntegrationID, &v.UserID, &created); err != nil {
		return v, err
	}
	v.CreatedAt = sunlamp.FromMillis(created)
	return v, nil
}

// seqEvent is a pending event with its outbox position, the export's cursor.
type seqEvent struct {
	sunlamp.PendingEvent
	seq int64
}

func scanPendingEvent(r scanner) (seqEvent, error) {
	var e seqEvent
	var conv, user, integ sql.NullString
	var data string
	var created int64
	if err := r.Scan(&e.seq, &e.ID, &e.AppID, &e.Type, &conv, &user, &integ, &data, &created, &e.PendingDeliveries); err != nil {
		return e, err
	}
	e.ConversationID, e.UserID, e.IntegrationID = conv.String, user.String, integ.String
	e.CreatedAt = sunlamp.FromMillis(created)
	var err error
	if e.Data, err = decodeEventData(data); err != nil {
		return e, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return e, nil
}

// exportPages reads q page after page and hands each page to hand. q ends in "ORDER BY key LIMIT ?"
// and bounds the key by the cursor: its arguments are args, the cursor and the limit, or, when argsOf
// is given, argsOf(cursor) and the limit. The first cursor is first; each next one is the key of the
// page's last row. A short page is the last.
func exportPages[T any](ctx context.Context, s *Store, q string, args []any, first any, size int,
	scan func(scanner) (T, error), key func(T) any, hand func([]T) error, argsOf ...func(cursor any) []any) error {
	cursor := first
	page := make([]T, 0, size)
	for {
		var a []any
		if len(argsOf) > 0 {
			a = append(argsOf[0](cursor), size)
		} else {
			a = append(append(append(a, args...), cursor), size)
		}
		var err error
		page, err = scanInto(ctx, s, q, a, scan, page[:0])
		if err != nil {
			return err
		}
		if len(page) > 0 || cursor == first {
			if err := hand(page); err != nil {
				return err
			}
		}
		if len(page) < size {
			return nil
		}
		cursor = key(page[len(page)-1])
	}
}

// scanAll runs a read and scans every row.
func scanAll[T any](ctx context.Context, s *Store, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	return scanInto(ctx, s, q, args, scan, []T{})
}

// scanInto runs a read and appends every row to list.
func scanInto[T any](ctx context.Context, s *Store, q string, args []any, scan func(scanner) (T, error), list []T) ([]T, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return list, err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return list, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}
