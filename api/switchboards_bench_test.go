package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// BenchmarkSwitchboard measures what switchboards add, over real HTTP on loopback, on every store:
// GetConversation of an app without a switchboard and of one whose conversation has an active and a
// pending switchboard integration (compare their req/s: the state is one more query), and
// passControl handoffs back and forth from 8 concurrent clients, each on its own conversation.
//
//	SUNLAMP_TEST_POSTGRES_URL=... go test ./api -run '^$' -bench Switchboard -benchtime 2s
func BenchmarkSwitchboard(b *testing.B) {
	for _, store := range apitest.Stores() {
		b.Run(store, func(b *testing.B) {
			e := apitest.NewEnv(b, store)
			appID, auth, convs := benchApp(b, e, 8)
			b.Run("GetConversation/none", func(b *testing.B) {
				benchGET(b, e.URL+"/v2/apps/"+appID+"/conversations/"+convs[0], auth)
			})

			key := apitest.KeyAuth(e.MustCreateAppKey(b, appID))
			app := "/v2/apps/" + appID
			sbID := createSwitchboardB(b, e, app, key)
			sis := app + "/switchboards/" + sbID + "/switchboardIntegrations"
			var ids []string
			for _, name := range []string{"bot", "agent"} {
				r := e.Do(b, "POST", app+"/integrations", key, map[string]any{"type": "custom",
					"webhooks": []any{map[string]any{"target": "https://example.com/" + name, "triggers": []string{"switchboard:passControl"}}}})
				integrationID := r.JSON(b)["integration"].(map[string]any)["id"].(string)
				r = e.Do(b, "POST", sis, key, map[string]any{"name": name, "integrationId": integrationID})
				ids = append(ids, r.JSON(b)["switchboardIntegration"].(map[string]any)["id"].(string))
			}
			apitest.MustStatus(b, e.Do(b, "PATCH", app+"/switchboards/"+sbID, key, map[string]any{"enabled": true, "defaultSwitchboardIntegrationId": ids[0]}), http.StatusOK)
			apitest.MustStatus(b, e.Do(b, "POST", app+"/conversations/"+convs[0]+"/offerControl", key, map[string]any{"switchboardIntegration": "agent"}), http.StatusOK)
			b.Run("GetConversation/active+pending", func(b *testing.B) {
				benchGET(b, e.URL+"/v2/apps/"+appID+"/conversations/"+convs[0], auth)
			})

			b.Run("PassControl", func(b *testing.B) {
				tr := &http.Transport{MaxIdleConnsPerHost: 64}
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr}
				next := make(chan string, len(convs))
				for _, c := range convs {
					next <- c
				}
				b.SetParallelism(max(1, 8/runtimeProcs()))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					url := e.URL + app + "/conversations/" + <-next + "/passControl"
					bodies := [][]byte{[]byte(`{"switchboardIntegration":"agent"}`), []byte(`{"switchboardIntegration":"bot"}`)}
					for i := 0; pb.Next(); i++ {
						req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i%2]))
						req.Header.Set("Authorization", auth)
						req.Header.Set("Content-Type", "application/json")
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Errorf("got status %d", resp.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handoffs/s")
			})
		})
	}
}

func createSwitchboardB(b *testing.B, e *apitest.Env, app string, auth apitest.Auth) string {
	b.Helper()
	r := e.Do(b, "POST", app+"/switchboards", auth, nil)
	apitest.MustStatus(b, r, http.StatusCreated)
	return r.JSON(b)["switchboard"].(map[string]any)["id"].(string)
}
