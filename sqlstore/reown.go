package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// reownEvents makes the outbox snapshots that merging moved from user from to user to name to
// where they named from: every field marked owner (snapshot.go) that holds from. The discarded
// user is gone, its data is the survivor's now: erasure, which clears the structs whose owner is
// the erased user, must reach it, and the webhooks render the user that exists. The events were
// moved to to (events.user_id) by the merge; only those mentioning from are read.
func (t tx) reownEvents(ctx context.Context, from, to string) error {
	evs, err := storedEvents(t.query(ctx, "SELECT id, data FROM events WHERE user_id = ? AND data LIKE ?", to, `%"`+from+`"%`))
	if err != nil {
		return err
	}
	for _, e := range evs {
		s, err := decodeSnapshot(e.data)
		if err != nil {
			return fmt.Errorf("reown event %s: %w", e.id, err)
		}
		if !reown(reflect.ValueOf(s).Elem(), from, to) {
			continue
		}
		data, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("reown event %s: %w", e.id, err)
		}
		if _, err := t.exec(ctx, "UPDATE events SET data = ? WHERE id = ?", string(data), e.id); err != nil {
			return err
		}
	}
	return nil
}

// reown sets every owner field of v (and of the structs in it) that holds from to to, and reports
// whether it changed anything.
func reown(v reflect.Value, from, to string) bool {
	switch v.Kind() {
	case reflect.Pointer:
		return !v.IsNil() && reown(v.Elem(), from, to)
	case reflect.Slice:
		changed := false
		for i := range v.Len() {
			changed = reown(v.Index(i), from, to) || changed
		}
		return changed
	case reflect.Struct:
	default:
		return false
	}
	p := scrubPlanOf(v.Type())
	changed := false
	if p.owner >= 0 && v.Field(p.owner).String() == from {
		v.Field(p.owner).SetString(to)
		changed = true
	}
	for _, i := range p.walk {
		changed = reown(v.Field(i), from, to) || changed
	}
	return changed
}
