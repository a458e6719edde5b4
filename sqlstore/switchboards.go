package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sunlamp/sunlamp"
)

const switchboardColumns = "id, app_id, enabled, default_id, created_at"

func scanSwitchboard(r scanner) (sunlamp.Switchboard, error) {
	var sb sunlamp.Switchboard
	var enabled int
	var def sql.NullString
	var created int64
	if err := r.Scan(&sb.ID, &sb.AppID, &enabled, &def, &created); err != nil {
		return sb, err
	}
	sb.Enabled, sb.DefaultSwitchboardIntegrationID = enabled != 0, def.String
	sb.CreatedAt = sunlamp.FromMillis(created)
	return sb, nil
}

const switchboardIntegrationColumns = "id, app_id, switchboard_id, name, integration_id, integration_type, deliver_standby_events, next_id, message_history_count, created_at"

func scanSwitchboardIntegration(r scanner) (sunlamp.SwitchboardIntegration, error) {
	var si sunlamp.SwitchboardIntegration
	var deliver int
	var next sql.NullString
	var history sql.NullInt64
	var created int64
	if err := r.Scan(&si.ID, &si.AppID, &si.SwitchboardID, &si.Name, &si.IntegrationID, &si.IntegrationType, &deliver, &next, &history, &created); err != nil {
		return si, err
	}
	si.DeliverStandbyEvents, si.NextSwitchboardIntegrationID = deliver != 0, next.String
	si.MessageHistoryCount = int(history.Int64)
	si.CreatedAt = sunlamp.FromMillis(created)
	return si, nil
}

// switchboard returns a switchboard of app, or ErrSwitchboardNotFound.
func (t tx) switchboard(ctx context.Context, appID, id string) (sunlamp.Switchboard, error) {
	sb, err := scanSwitchboard(t.queryRow(ctx, "SELECT "+switchboardColumns+" FROM switchboards WHERE app_id = ? AND id = ?", appID, id))
	if err != nil {
		return sb, notFound(err, sunlamp.ErrSwitchboardNotFound, "get switchboard")
	}
	return sb, nil
}

// appSwitchboard returns the switchboard of app, or ErrSwitchboardNotFound when it has none.
func (t tx) appSwitchboard(ctx context.Context, appID string) (sunlamp.Switchboard, error) {
	sb, err := scanSwitchboard(t.queryRow(ctx, "SELECT "+switchboardColumns+" FROM switchboards WHERE app_id = ?", appID))
	if err != nil {
		return sb, notFound(err, sunlamp.ErrSwitchboardNotFound, "get switchboard")
	}
	return sb, nil
}

// switchboardIntegrations returns the switchboard integrations of a switchboard in creation order.
func (t tx) switchboardIntegrations(ctx context.Context, appID, switchboardID string) ([]sunlamp.SwitchboardIntegration, error) {
	rows, err := t.query(ctx, "SELECT "+switchboardIntegrationColumns+" FROM switchboard_integrations WHERE app_id = ? AND switchboard_id = ? ORDER BY id", appID, switchboardID)
	if err != nil {
		return nil, fmt.Errorf("list switchboard integrations: %w", err)
	}
	defer rows.Close()
	var out []sunlamp.SwitchboardIntegration
	for rows.Next() {
		si, err := scanSwitchboardIntegration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, rows.Err()
}

func findSI(list []sunlamp.SwitchboardIntegration, id string) *sunlamp.SwitchboardIntegration {
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

// CreateSwitchboard creates the app's switchboard, disabled.
func (s *Store) CreateSwitchboard(ctx context.Context, appID string) (sunlamp.Switchboard, error) {
	sb := sunlamp.Switchboard{ID: sunlamp.NewID(), AppID: appID, CreatedAt: s.now()}
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, appID); err != nil {
			return err
		}
		_, err := t.exec(ctx, "INSERT INTO switchboards ("+switchboardColumns+") VALUES (?, ?, 0, NULL, ?)", sb.ID, appID, sb.CreatedAt.UnixMilli())
		if errors.Is(err, errUnique) {
			return sunlamp.ErrOneSwitchboardPerApp
		}
		return err
	})
	if err != nil {
		return sb, fmt.Errorf("create switchboard: %w", err)
	}
	return sb, nil
}

// Switchboards lists the app's switchboards.
func (s *Store) Switchboards(ctx context.Context, appID string) ([]sunlamp.Switchboard, error) {
	var out []sunlamp.Switchboard
	err := s.readTx(ctx, func(t tx) error {
		sb, err := t.appSwitchboard(ctx, appID)
		switch {
		case errors.Is(err, sunlamp.ErrSwitchboardNotFound):
			return nil
		case err != nil:
			return err
		}
		out = append(out, sb)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list switchboards: %w", err)
	}
	return out, nil
}

// UpdateSwitchboard applies u.
func (s *Store) UpdateSwitchboard(ctx context.Context, appID, id string, u sunlamp.SwitchboardUpdate) (sunlamp.Switchboard, error) {
	var sb sunlamp.Switchboard
	err := s.inTx(ctx, func(t tx) error {
		var err error
		if sb, err = t.switchboard(ctx, appID, id); err != nil {
			return err
		}
		if u.DefaultSwitchboardIntegrationID != nil {
			if def := *u.DefaultSwitchboardIntegrationID; def != "" {
				var one int
				err := t.queryRow(ctx, "SELECT 1 FROM switchboard_integrations WHERE app_id = ? AND switchboard_id = ? AND id = ?", appID, id, def).Scan(&one)
				if err != nil {
					return notFound(err, sunlamp.ErrSwitchboardIntegrationNotFound, "find default switchboard integration")
				}
			}
			sb.DefaultSwitchboardIntegrationID = *u.DefaultSwitchboardIntegrationID
		}
		if u.Enabled != nil {
			sb.Enabled = *u.Enabled
		}
		if sb.Enabled && sb.DefaultSwitchboardIntegrationID == "" {
			return sunlamp.ErrEnabledSwitchboardNeedsDefault
		}
		_, err = t.exec(ctx, "UPDATE switchboards SET enabled = ?, default_id = ? WHERE id = ?", boolInt(sb.Enabled), nullStr(sb.DefaultSwitchboardIntegrationID), id)
		return err
	})
	if err != nil {
		return sb, fmt.Errorf("update switchboard: %w", err)
	}
	return sb, nil
}

// DeleteSwitchboard removes the switchboard, its switchboard integrations and the conversations'
// switchboard state.
func (s *Store) DeleteSwitchboard(ctx context.Context, appID, id string) error {
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.switchboard(ctx, appID, id); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM conversation_switchboards WHERE switchboard_id = ?",
			"UPDATE switchboards SET default_id = NULL WHERE id = ?",
			"UPDATE switchboard_integrations SET next_id = NULL WHERE switchboard_id = ?",
			"DELETE FROM switchboard_integrations WHERE switchboard_id = ?",
			"DELETE FROM switchboards WHERE id = ?",
		} {
			if _, err := t.exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete switchboard: %w", err)
	}
	return nil
}

// linkIntegration resolves the integration a switchboard integration links: by id, or the app's
// only integration of a type.
func (t tx) linkIntegration(ctx context.Context, appID, integrationID, integrationType string) (sunlamp.Integration, error) {
	if integrationID != "" {
		return t.integration(ctx, appID, integrationID)
	}
	rows, err := t.query(ctx, "SELECT id, type FROM integrations WHERE app_id = ? AND type = ? ORDER BY id LIMIT 2", appID, integrationType)
	if err != nil {
		return sunlamp.Integration{}, fmt.Errorf("find integration by type: %w", err)
	}
	defer rows.Close()
	var found []sunlamp.Integration
	for rows.Next() {
		var in sunlamp.Integration
		if err := rows.Scan(&in.ID, &in.Type); err != nil {
			return in, err
		}
		found = append(found, in)
	}
	if err := rows.Err(); err != nil {
		return sunlamp.Integration{}, err
	}
	switch len(found) {
	case 0:
		return sunlamp.Integration{}, sunlamp.ErrIntegrationNotFound
	case 1:
		return found[0], nil
	}
	// A type links the app's only integration of that type (an OAuth client's id, once installed,
	// or a built-in such as zd:agentWorkspace); with several, the caller must say which.
	return sunlamp.Integration{}, sunlamp.Invalid("integrationType %s matches several integrations of the app: give integrationId instead", integrationType)
}

// checkSwitchboardIntegration checks si against the other switchboard integrations of its
// switchboard: a unique name, a unique integration, a next that exists.
func checkSwitchboardIntegration(si sunlamp.SwitchboardIntegration, others []sunlamp.SwitchboardIntegration) error {
	for _, o := range others {
		if o.ID == si.ID {
			continue
		}
		if o.Name == si.Name {
			return sunlamp.Invalid("name %s is already used by another switchboard integration of the switchboard", si.Name)
		}
		if o.IntegrationID == si.IntegrationID {
			return sunlamp.Invalid("integrationId %s is already linked to another switchboard integration of the switchboard", si.IntegrationID)
		}
	}
	if si.NextSwitchboardIntegrationID != "" && si.NextSwitchboardIntegrationID != si.ID && findSI(others, si.NextSwitchboardIntegrationID) == nil {
		return sunlamp.ErrSwitchboardIntegrationNotFound
	}
	return nil
}

// CreateSwitchboardIntegration stores a switchboard integration.
func (s *Store) CreateSwitchboardIntegration(ctx context.Context, si sunlamp.SwitchboardIntegration) (sunlamp.SwitchboardIntegration, error) {
	si.ID, si.CreatedAt = sunlamp.NewID(), s.now()
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.switchboard(ctx, si.AppID, si.SwitchboardID); err != nil {
			return err
		}
		if err := t.lockForCount(ctx, "switchboards", "id = ? AND app_id = ?", sunlamp.ErrSwitchboardNotFound, si.SwitchboardID, si.AppID); err != nil {
			return err
		}
		others, err := t.switchboardIntegrations(ctx, si.AppID, si.SwitchboardID)
		if err != nil {
			return err
		}
		if len(others) >= sunlamp.MaxSwitchboardIntegrations {
			return sunlamp.ErrTooManySwitchboardIntegrations
		}
		in, err := t.linkIntegration(ctx, si.AppID, si.IntegrationID, si.IntegrationType)
		if err != nil {
			return err
		}
		si.IntegrationID, si.IntegrationType = in.ID, in.Type
		if si.NextSwitchboardIntegrationID == si.ID {
			return sunlamp.ErrSwitchboardIntegrationNotFound
		}
		if err := checkSwitchboardIntegration(si, others); err != nil {
			return err
		}
		_, err = t.exec(ctx, "INSERT INTO switchboard_integrations ("+switchboardIntegrationColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			si.ID, si.AppID, si.SwitchboardID, si.Name, si.IntegrationID, si.IntegrationType, boolInt(si.DeliverStandbyEvents),
			nullStr(si.NextSwitchboardIntegrationID), nullInt(si.MessageHistoryCount), si.CreatedAt.UnixMilli())
		if errors.Is(err, errUnique) { // a concurrent create took the name or the integration
			return sunlamp.ErrBusy
		}
		return err
	})
	if err != nil {
		return si, fmt.Errorf("create switchboard integration: %w", err)
	}
	return si, nil
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// SwitchboardIntegrations lists a switchboard's integrations.
func (s *Store) SwitchboardIntegrations(ctx context.Context, appID, switchboardID string) ([]sunlamp.SwitchboardIntegration, error) {
	var out []sunlamp.SwitchboardIntegration
	err := s.readTx(ctx, func(t tx) error {
		if _, err := t.switchboard(ctx, appID, switchboardID); err != nil {
			return err
		}
		var err error
		out, err = t.switchboardIntegrations(ctx, appID, switchboardID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list switchboard integrations: %w", err)
	}
	return out, nil
}

// UpdateSwitchboardIntegration applies u.
func (s *Store) UpdateSwitchboardIntegration(ctx context.Context, appID, switchboardID, id string, u sunlamp.SwitchboardIntegrationUpdate) (sunlamp.SwitchboardIntegration, error) {
	var si sunlamp.SwitchboardIntegration
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.switchboard(ctx, appID, switchboardID); err != nil {
			return err
		}
		all, err := t.switchboardIntegrations(ctx, appID, switchboardID)
		if err != nil {
			return err
		}
		cur := findSI(all, id)
		if cur == nil {
			return sunlamp.ErrSwitchboardIntegrationNotFound
		}
		si = *cur
		if u.Name != nil {
			si.Name = *u.Name
		}
		if u.IntegrationID != nil || u.IntegrationType != nil {
			var byID, byType string
			if u.IntegrationID != nil {
				byID = *u.IntegrationID
			} else {
				byType = *u.IntegrationType
			}
			in, err := t.linkIntegration(ctx, appID, byID, byType)
			if err != nil {
				return err
			}
			si.IntegrationID, si.IntegrationType = in.ID, in.Type
		}
		if u.DeliverStandbyEvents != nil {
			si.DeliverStandbyEvents = *u.DeliverStandbyEvents
		}
		if u.NextSwitchboardIntegrationID != nil {
			si.NextSwitchboardIntegrationID = *u.NextSwitchboardIntegrationID
		}
		if u.MessageHistoryCount != nil {
			si.MessageHistoryCount = *u.MessageHistoryCount
		}
		if err := checkSwitchboardIntegration(si, all); err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE switchboard_integrations SET name = ?, integration_id = ?, integration_type = ?, deliver_standby_events = ?, next_id = ?, message_history_count = ? WHERE id = ?",
			si.Name, si.IntegrationID, si.IntegrationType, boolInt(si.DeliverStandbyEvents), nullStr(si.NextSwitchboardIntegrationID), nullInt(si.MessageHistoryCount), id)
		if errors.Is(err, errUnique) {
			return sunlamp.ErrBusy
		}
		return err
	})
	if err != nil {
		return si, fmt.Errorf("update switchboard integration: %w", err)
	}
	return si, nil
}

// DeleteSwitchboardIntegration removes a switchboard integration unless it is the default or
// another one's next. The conversations it controlled have no row any more, so the default is in
// control of them again: the spec's "re-selected following the default integration assignment".
func (s *Store) DeleteSwitchboardIntegration(ctx context.Context, appID, switchboardID, id string) error {
	err := s.inTxRetried(ctx, func(t tx) error {
		sb, err := t.switchboard(ctx, appID, switchboardID)
		if err != nil {
			return err
		}
		all, err := t.switchboardIntegrations(ctx, appID, switchboardID)
		if err != nil {
			return err
		}
		if findSI(all, id) == nil {
			return sunlamp.ErrSwitchboardIntegrationNotFound
		}
		if sb.DefaultSwitchboardIntegrationID == id {
			return sunlamp.ErrDeleteDefaultSwitchboardIntegration
		}
		for _, o := range all {
			if o.ID != id && o.NextSwitchboardIntegrationID == id {
				return sunlamp.ErrDeleteNextSwitchboardIntegration
			}
		}
		if _, err := t.exec(ctx, "DELETE FROM conversation_switchboards WHERE active_id = ?", id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE conversation_switchboards SET pending_id = NULL WHERE pending_id = ?", id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "UPDATE switchboard_integrations SET next_id = NULL WHERE id = ?", id); err != nil {
			return err
		}
		_, err = t.exec(ctx, "DELETE FROM switchboard_integrations WHERE id = ?", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete switchboard integration: %w", err)
	}
	return nil
}

// assignDefaultSwitchboard gives a new conversation's control to the default switchboard
// integration when the app's switchboard is enabled. insertConversation calls it before emitting
// conversation:create, so that the event is routed to the integration in control.
func (t tx) assignDefaultSwitchboard(ctx context.Context, appID, conversationID string) error {
	_, err := t.exec(ctx, `INSERT INTO conversation_switchboards (conversation_id, app_id, switchboard_id, active_id, pending_id, updated_at)
		SELECT ?, app_id, id, default_id, NULL, ? FROM switchboards WHERE app_id = ? AND enabled = 1 AND default_id IS NOT NULL`,
		conversationID, t.s.now().UnixMilli(), appID)
	if err != nil {
		return fmt.Errorf("assign default switchboard integration: %w", err)
	}
	return nil
}

// convState is the switchboard state of one conversation as ids ("" for none).
type convState struct {
	active, pending string
	hasRow          bool
}

// switchboardStates reads the state of conversations under sb: the row's values, or the default
// in control when the switchboard is enabled and the conversation has no row.
func (t tx) switchboardStates(ctx context.Context, sb sunlamp.Switchboard, ids []string) (map[string]convState, error) {
	out := make(map[string]convState, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := []any{sb.ID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := t.query(ctx, "SELECT conversation_id, active_id, pending_id FROM conversation_switchboards WHERE switchboard_id = ? AND conversation_id IN (?"+strings.Repeat(", ?", len(chunk)-1)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("read switchboard states: %w", err)
		}
		for rows.Next() {
			var id string
			var active, pending sql.NullString
			if err := rows.Scan(&id, &active, &pending); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = convState{active: active.String, pending: pending.String, hasRow: true}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if sb.Enabled && sb.DefaultSwitchboardIntegrationID != "" {
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				out[id] = convState{active: sb.DefaultSwitchboardIntegrationID}
			}
		}
	}
	return out, nil
}

// SwitchboardStates returns the switchboard state of conversations of the app. It is on the path
// of every conversation response, so it is one query on the read pool: an app without a switchboard
// costs one index lookup.
func (s *Store) SwitchboardStates(ctx context.Context, appID string, conversationIDs []string) (map[string]sunlamp.SwitchboardState, error) {
	out := map[string]sunlamp.SwitchboardState{}
	if len(conversationIDs) == 0 {
		return out, nil
	}
	hasRow := map[string]bool{}
	const siCols = "%[1]s.id, %[1]s.name, %[1]s.integration_id, %[1]s.integration_type"
	cols := fmt.Sprintf(siCols, "d") + ", " + fmt.Sprintf(siCols, "a") + ", " + fmt.Sprintf(siCols, "p")
	for start := 0; start < len(conversationIDs); start += 500 {
		chunk := conversationIDs[start:min(start+500, len(conversationIDs))]
		args := make([]any, 0, len(chunk)+1)
		for _, id := range chunk {
			args = append(args, id)
		}
		args = append(args, appID)
		rows, err := s.query(ctx, `SELECT sb.enabled, cs.conversation_id, `+cols+`
			FROM switchboards sb
			LEFT JOIN switchboard_integrations d ON d.id = sb.default_id
			LEFT JOIN conversation_switchboards cs ON cs.switchboard_id = sb.id AND cs.conversation_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)
			LEFT JOIN switchboard_integrations a ON a.id = cs.active_id
			LEFT JOIN switchboard_integrations p ON p.id = cs.pending_id
			WHERE sb.app_id = ?`, args...)
		if err != nil {
			return nil, fmt.Errorf("read switchboard states: %w", err)
		}
		var enabled int
		var def *sunlamp.SwitchboardIntegration
		for rows.Next() {
			var conv sql.NullString
			var d, a, p [4]sql.NullString
			if err := rows.Scan(&enabled, &conv, &d[0], &d[1], &d[2], &d[3], &a[0], &a[1], &a[2], &a[3], &p[0], &p[1], &p[2], &p[3]); err != nil {
				rows.Close()
				return nil, err
			}
			def = refOf(d)
			if conv.Valid {
				if st := (sunlamp.SwitchboardState{Active: refOf(a), Pending: refOf(p)}); st.Active != nil || st.Pending != nil {
					out[conv.String] = st
				}
				hasRow[conv.String] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read switchboard states: %w", err)
		}
		// Conversations without a row are the default's while the switchboard is enabled.
		for _, id := range chunk {
			if !hasRow[id] && enabled != 0 && def != nil {
				out[id] = sunlamp.SwitchboardState{Active: def}
			}
		}
	}
	return out, nil
}

// ConversationWithSwitchboardState returns a conversation of the app with its switchboard state.
// GetConversation answers with both, and reading the state apart cost more than the conversation
// itself; so the conversation's read also tells whether the app has a switchboard, and only then is
// the state read (with the joins of SwitchboardStates). Most apps have none: one query.
func (s *Store) ConversationWithSwitchboardState(ctx context.Context, appID, id string) (sunlamp.Conversation, sunlamp.SwitchboardState, error) {
	var switchboard sql.NullString
	c, err := scanConversation(scanFunc(func(dest ...any) error {
		// The app's switchboard (at most one) as a subquery: on SQLite the same LEFT JOIN took
		// three times as long (16 us against 5.8 us a query), a third of GetConversation's time.
		return s.queryRow(ctx, `SELECT c.id, c.app_id, c.type, c.default_user_id, c.display_name, c.description, c.icon_url, c.metadata,
			c.business_last_read, c.last_updated_at, c.created_at, c.message_count, (SELECT sb.id FROM switchboards sb WHERE sb.app_id = c.app_id)
			FROM conversations c WHERE c.id = ? AND c.app_id = ?`, id, appID).Scan(append(dest, &switchboard)...)
	}))
	if err != nil {
		return c, sunlamp.SwitchboardState{}, notFound(err, sunlamp.ErrConversationNotFound, "get conversation")
	}
	if !switchboard.Valid {
		return c, sunlamp.SwitchboardState{}, nil
	}
	states, err := s.SwitchboardStates(ctx, appID, []string{id})
	return c, states[id], err
}

// scanFunc is a scanner made of a function.
type scanFunc func(dest ...any) error

// Scan calls f.
func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// siID returns the id of si as a column value, NULL for none.
func siID(si *sunlamp.SwitchboardIntegration) any {
	if si == nil {
		return nil
	}
	return si.ID
}

// refOf returns the switchboard integration of id, name, integrationId and integrationType
// columns, nil when they are NULL.
func refOf(c [4]sql.NullString) *sunlamp.SwitchboardIntegration {
	if !c[0].Valid {
		return nil
	}
	return &sunlamp.SwitchboardIntegration{ID: c[0].String, Name: c[1].String, IntegrationID: c[2].String, IntegrationType: c[3].String}
}

// ApplySwitchboardAction loads the conversation's switchboard state, has the state machine
// (sunlamp.SwitchboardState.Apply) decide, and saves the new state with its event. Actions apply
// whether or not the switchboard is enabled (the spec does not say): the state is kept, shown on
// the conversation, and routes events once the switchboard is enabled.
func (s *Store) ApplySwitchboardAction(ctx context.Context, appID, conversationID string, a sunlamp.SwitchboardAction) error {
	var failed error // an error answered after its :failure event is committed
	err := s.inTx(ctx, func(t tx) error {
		c, err := t.conversation(ctx, appID, conversationID)
		if err != nil {
			return err
		}
		sb, err := t.appSwitchboard(ctx, appID)
		if err != nil {
			return err
		}
		// On PostgreSQL, take the row lock of the conversation's state before reading it, so that
		// concurrent actions on one conversation apply one after the other. (A conversation without
		// a row yet has its concurrent first actions met by the upsert's ON CONFLICT.)
		if _, err := t.exec(ctx, "UPDATE conversation_switchboards SET updated_at = updated_at WHERE conversation_id = ?", conversationID); err != nil {
			return err
		}
		all, err := t.switchboardIntegrations(ctx, appID, sb.ID)
		if err != nil {
			return err
		}
		states, err := t.switchboardStates(ctx, sb, []string{conversationID})
		if err != nil {
			return err
		}
		st := states[conversationID]
		ch, err := sunlamp.SwitchboardState{Active: findSI(all, st.active), Pending: findSI(all, st.pending)}.Apply(c, a, all)
		if ch.EventType == "" { // refused: nothing to keep, nothing to tell
			return err
		}
		if err == nil {
			_, err := t.exec(ctx, `INSERT INTO conversation_switchboards (conversation_id, app_id, switchboard_id, active_id, pending_id, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (conversation_id) DO UPDATE SET switchboard_id = excluded.switchboard_id, active_id = excluded.active_id,
					pending_id = excluded.pending_id, updated_at = excluded.updated_at`,
				conversationID, appID, sb.ID, siID(ch.State.Active), siID(ch.State.Pending), t.s.now().UnixMilli())
			if err != nil {
				return err
			}
		}
		failed = err // a failure of the state machine is answered once its event is committed
		return t.emit(ctx, sunlamp.Event{Type: ch.EventType, AppID: appID, ConversationID: conversationID, IntegrationID: a.CallerIntegrationID,
			Data: ch.Event})
	})
	if err != nil {
		return fmt.Errorf("%s: %w", a.Type, err)
	}
	if failed != nil {
		return fmt.Errorf("%s: %w", a.Type, failed)
	}
	return nil
}
