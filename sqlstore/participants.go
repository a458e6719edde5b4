package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// sdkClientOf returns the user's SDK client, creating an active one when the user has none: the
// spec's subscribeSDKClient says "An SDK client will be created for users that don't already have
// one." It emits client:add for a client it creates, as the SDK's login would.
func (t tx) sdkClientOf(ctx context.Context, u sunlamp.User) (sunlamp.Client, error) {
	c, err := scanClient(t.queryRow(ctx, "SELECT "+clientColumns+" FROM clients WHERE app_id = ? AND user_id = ? AND type = ? ORDER BY id LIMIT 1",
		u.AppID, u.ID, sunlamp.ClientTypeSDK))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("find sdk client: %w", err)
	}
	now := t.s.now()
	c = sunlamp.Client{ID: sunlamp.NewID(), AppID: u.AppID, UserID: u.ID, Type: sunlamp.ClientTypeSDK, Status: sunlamp.ClientActive, LinkedAt: now}
	if err := t.insertClient(ctx, c); err != nil {
		return c, err
	}
	return c, t.emitClientEvent(ctx, "client:add", u, c, "sdkLogin")
}

// subscribeSDK makes the user's SDK client (created if need be) the first client association of
// participant p.
func (t tx) subscribeSDK(ctx context.Context, p *sunlamp.Participant, u sunlamp.User) error {
	c, err := t.sdkClientOf(ctx, u)
	if err != nil {
		return err
	}
	out := []sunlamp.ClientAssociation{{Type: c.Type, ClientID: c.ID}}
	for _, a := range p.ClientAssociations {
		if a.ClientID != c.ID {
			out = append(out, a)
		}
	}
	data, err := toJSON(out)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, "UPDATE participants SET client_associations = ? WHERE id = ?", data, p.ID); err != nil {
		return err
	}
	p.ClientAssociations = out
	return nil
}
