package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

func TestApps(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		acct := e.Account()
		r := e.Do(t, "POST", "/v2/apps", acct, map[string]any{
			"displayName": "My App",
			"settings":    map[string]any{"useAnimalNames": true, "conversationRetentionSeconds": 3600},
			"metadata":    map[string]any{"plan": "gold", "seats": 12, "trial": false},
		})
		e.MustJSON(t, r, http.StatusCreated, `{"app":{"id":"ID","displayName":"My App",
			"settings":{"conversationRetentionSeconds":3600,"maskCreditCardNumbers":true,"useAnimalNames":true,
				"echoPostback":false,"multiConvoEnabled":false,"appLocalizationEnabled":false},
			"metadata":{"plan":"gold","seats":12,"trial":false}}}`)
		appID := r.JSON(t)["app"].(map[string]any)["id"].(string)

		t.Run("get", func(t *testing.T) {
			// GetApp answers the spec's appResponseWithSubdomain: the subdomain is the app's id.
			r := e.Do(t, "GET", "/v2/apps/"+appID, acct, nil)
			e.MustJSON(t, r, http.StatusOK, `{"app":{"id":"ID","displayName":"My App",
				"settings":{"conversationRetentionSeconds":3600,"maskCreditCardNumbers":true,"useAnimalNames":true,
					"echoPostback":false,"multiConvoEnabled":false,"appLocalizationEnabled":false},
				"metadata":{"plan":"gold","seats":12,"trial":false},"subdomain":"ID"}}`)
			if sub := r.JSON(t)["app"].(map[string]any)["subdomain"]; sub != appID {
				t.Errorf("subdomain %v, want the app's id %s", sub, appID)
			}
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps/5d8cff3cd55b040010928b5b", acct, nil), 404, "app_not_found", "App not found")
		})

		t.Run("update", func(t *testing.T) {
			r := e.Do(t, "PATCH", "/v2/apps/"+appID, acct, map[string]any{
				"displayName": "Renamed", "settings": map[string]any{"multiConvoEnabled": true}, "metadata": nil,
			})
			e.MustJSON(t, r, http.StatusOK, `{"app":{"id":"ID","displayName":"Renamed",
				"settings":{"conversationRetentionSeconds":3600,"maskCreditCardNumbers":true,"useAnimalNames":true,
					"echoPostback":false,"multiConvoEnabled":true,"appLocalizationEnabled":false},
				"metadata":{}}}`)
			r = e.Do(t, "PATCH", "/v2/apps/"+appID, acct, map[string]any{"settings": map[string]any{"multiConvoEnabled": false}})
			apitest.MustError(t, r, 400, "bad_request", "multiConvoEnabled cannot be disabled once it is enabled")
			big := map[string]any{"k": strings.Repeat("x", 4100)}
			r = e.Do(t, "PATCH", "/v2/apps/"+appID, acct, map[string]any{"metadata": big})
			apitest.MustError(t, r, 400, "bad_request", "App metadata is limited to 4096 bytes in size.")
			r = e.Do(t, "PATCH", "/v2/apps/"+appID, acct, map[string]any{"metadata": map[string]any{"nested": map[string]any{"a": 1}}})
			apitest.MustError(t, r, 400, "bad_request", "")
			r = e.Do(t, "GET", "/v2/apps/"+appID, acct, nil)
			if got := r.JSON(t)["app"].(map[string]any)["displayName"]; got != "Renamed" {
				t.Errorf("got displayName %v after refused updates, want Renamed", got)
			}
		})

		t.Run("validation", func(t *testing.T) {
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps", acct, map[string]any{}), 400, "bad_request", "should have required property 'displayName'")
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps", acct, map[string]any{"displayName": nil}), 400, "bad_request", "displayName should be string")
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps", acct, map[string]any{"displayName": 12}), 400, "bad_request", "displayName should be string")
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps", acct, map[string]any{"displayName": strings.Repeat("a", 101)}), 400, "bad_request", "displayName should be a string of 1 to 100 characters")
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps", acct, map[string]any{"displayName": "x", "settings": map[string]any{"useAnimalNames": "yes"}}), 400, "bad_request", "settings.useAnimalNames should be boolean")
			apitest.MustError(t, e.Do(t, "POST", "/v2/apps", acct, `{"displayName":`), 400, "bad_request", "Malformed JSON body")
			// Unknown fields are ignored.
			apitest.MustStatus(t, e.Do(t, "POST", "/v2/apps", acct, map[string]any{"displayName": "x", "unknown": 1}), 201)
		})

		t.Run("delete", func(t *testing.T) {
			id := e.MustCreateApp(t, "Doomed")
			key := e.MustCreateAppKey(t, id)
			apitest.MustStatus(t, e.Do(t, "GET", "/v2/apps/"+id, apitest.KeyAuth(key), nil), 200)
			e.MustJSON(t, e.Do(t, "DELETE", "/v2/apps/"+id, acct, nil), 200, `{}`)
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+id, acct, nil), 404, "app_not_found", "App not found")
			apitest.MustError(t, e.Do(t, "DELETE", "/v2/apps/"+id, acct, nil), 404, "app_not_found", "App not found")
			// The app's keys went with it.
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps/"+id, apitest.KeyAuth(key), nil), 401, "unauthorized", "")
		})
	})
}

func TestListAppsPagination(t *testing.T) {
	apitest.ForEachStore(t, func(t *testing.T, e *apitest.Env) {
		acct := e.Account()
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, e.MustCreateApp(t, "App "+string(rune('A'+i))))
		}
		type list struct {
			Apps []struct{ ID string }
			Meta struct {
				HasMore      bool
				AfterCursor  string
				BeforeCursor string
			}
			Links struct{ Prev, Next string }
		}
		get := func(query string) list {
			t.Helper()
			r := e.Do(t, "GET", "/v2/apps"+query, acct, nil)
			apitest.MustStatus(t, r, 200)
			var l list
			r.Decode(t, &l)
			return l
		}
		idsOf := func(l list) string {
			var s []string
			for _, a := range l.Apps {
				s = append(s, a.ID)
			}
			return strings.Join(s, ",")
		}
		all := get("")
		if got, want := idsOf(all), strings.Join(ids, ","); got != want {
			t.Fatalf("got apps %s, want %s in creation order", got, want)
		}
		if all.Meta.HasMore || all.Links.Next != "" || all.Links.Prev != "" {
			t.Errorf("got meta %+v links %+v for a complete list, want hasMore false and no links", all.Meta, all.Links)
		}
		p1 := get("?page[size]=2")
		if idsOf(p1) != strings.Join(ids[:2], ",") || !p1.Meta.HasMore || p1.Meta.AfterCursor != ids[1] || p1.Meta.BeforeCursor != "" {
			t.Fatalf("page 1: got %s %+v", idsOf(p1), p1.Meta)
		}
		if want := e.URL + "/v2/apps?page[after]=" + ids[1] + "&page[size]=2"; p1.Links.Next != want {
			t.Errorf("got links.next %q, want %q", p1.Links.Next, want)
		}
		// Follow links.next as a client would, with the brackets percent-encoded.
		p2 := get("?page%5Bafter%5D=" + ids[1] + "&page%5Bsize%5D=2")
		if idsOf(p2) != strings.Join(ids[2:4], ",") || !p2.Meta.HasMore || p2.Meta.BeforeCursor != ids[2] || p2.Meta.AfterCursor != ids[3] {
			t.Fatalf("page 2: got %s %+v", idsOf(p2), p2.Meta)
		}
		p3 := get("?page[after]=" + ids[3] + "&page[size]=2")
		if idsOf(p3) != ids[4] || p3.Meta.HasMore || p3.Meta.AfterCursor != "" || p3.Links.Next != "" || p3.Meta.BeforeCursor != ids[4] {
			t.Fatalf("page 3: got %s %+v %+v", idsOf(p3), p3.Meta, p3.Links)
		}
		back := get("?page[before]=" + ids[4] + "&page[size]=2")
		if idsOf(back) != strings.Join(ids[2:4], ",") || !back.Meta.HasMore || back.Meta.BeforeCursor != ids[2] || back.Meta.AfterCursor != ids[3] {
			t.Fatalf("before page: got %s %+v", idsOf(back), back.Meta)
		}
		first := get("?page[before]=" + ids[2] + "&page[size]=2")
		if idsOf(first) != strings.Join(ids[:2], ",") || first.Meta.HasMore || first.Meta.BeforeCursor != "" || first.Links.Prev != "" {
			t.Fatalf("first page backwards: got %s %+v %+v", idsOf(first), first.Meta, first.Links)
		}
		for _, q := range []string{"?page[after]=" + ids[0] + "&page[before]=" + ids[1], "?page[size]=0", "?page[size]=101", "?page[size]=x", "?page[after]=short"} {
			apitest.MustError(t, e.Do(t, "GET", "/v2/apps"+q, acct, nil), 400, "bad_request", "Invalid page query parameters")
		}
		// Unknown query parameters (the official client's cache buster) are ignored.
		if got := idsOf(get("?_=1700000000000&page[size]=100")); got != strings.Join(ids, ",") {
			t.Errorf("got %s with an unknown parameter", got)
		}
		// No service account exists, so a serviceAccountId filter lists nothing.
		if l := get("?filter[serviceAccountId]=5e4af71a81966c000f9d7d3a"); len(l.Apps) != 0 {
			t.Errorf("got %d apps for a service account filter, want 0", len(l.Apps))
		}
	})
}
