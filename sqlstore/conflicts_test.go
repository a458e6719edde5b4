package sqlstore_test

import (
	"context"
	"testing"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
)

// TestExpectedConflictsRaiseNoViolation: a taken externalId or channel id is answered with the
// domain's conflict without the database raising a unique violation, which PostgreSQL would write
// to its log together with the values (personal data that no erasure reaches).
func TestExpectedConflictsRaiseNoViolation(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := openStore(t, name)
			appID := mustApp(t, st)
			a, err := st.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: "jane@example.org"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: "jane@example.org"}); sunlamp.AsError(err).Code != sunlamp.ErrUserExists.Code {
				t.Fatalf("duplicate CreateUser: got %v, want %s", err, sunlamp.ErrUserExists.Code)
			}
			b, err := st.CreateUser(ctx, sunlamp.User{AppID: appID, ExternalID: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			phone := sunlamp.Client{Type: "whatsapp", ExternalID: "+15145550199"}
			if _, err := st.CreateClient(ctx, appID, a.ID, phone); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateClient(ctx, appID, b.ID, phone); sunlamp.KindOf(err) != sunlamp.KindConflict {
				t.Fatalf("CreateClient with another user's channel id: got %v, want a conflict", err)
			}
			if got := st.UniqueViolations(); got != 0 {
				t.Fatalf("got %d unique violations raised by the database, want 0", got)
			}
		})
	}
}
