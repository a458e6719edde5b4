package webhook_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/internal/apitest"
	"github.com/sunlamp/sunlamp/internal/webhooktest"
)

// claimIDs claims what is due and returns the events' ids, sorted.
func claimIDs(t *testing.T, f *fixture) ([]string, []sunlamp.Delivery) {
	t.Helper()
	ds, err := f.store.ClaimDeliveries(context.Background(), "test", f.clock.Now(), time.Minute, 64)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.Event.ID)
	}
	slices.Sort(ids)
	return ids, ds
}

func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// TestQueueMovesOnWhenItsHeadLeaves: of a conversation's queue only the first pending delivery can be
// claimed, and the next one can as soon as the first leaves the queue, however it leaves: delivered,
// given up, or deleted with its event (here by deleting its message).
func TestQueueMovesOnWhenItsHeadLeaves(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, name, "http://127.0.0.1:1/unused", []string{"conversation:remove", "conversation:message"}, nil)
			a1, a2, a3 := f.emit(t, "conversation:remove", "convA"), f.emit(t, "conversation:remove", "convA"), f.emit(t, "conversation:remove", "convA")
			b1 := f.emit(t, "conversation:remove", "convB")
			got, ds := claimIDs(t, f)
			if diff := cmp.Diff(sorted(a1.ID, b1.ID), got); diff != "" {
				t.Fatalf("first claim: only each queue's head (-want +got):\n%s", diff)
			}
			if got, _ := claimIDs(t, f); len(got) != 0 {
				t.Fatalf("claimed %v while the heads are in flight, want nothing", got)
			}
			finish := func(d sunlamp.Delivery, o sunlamp.DeliveryOutcome) {
				t.Helper()
				if err := f.store.FinishDeliveries(ctx, f.clock.Now(), []sunlamp.DeliveryResult{{ID: d.ID, ClaimedBy: d.ClaimedBy, Attempt: d.Attempt, Outcome: o, Status: 200}}); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range ds {
				if d.Event.ID == a1.ID {
					finish(d, sunlamp.Delivered)
				}
			}
			got, ds = claimIDs(t, f)
			if diff := cmp.Diff([]string{a2.ID}, got); diff != "" {
				t.Fatalf("after the head was delivered (-want +got):\n%s", diff)
			}
			finish(ds[0], sunlamp.GiveUp)
			if got, _ = claimIDs(t, f); !slices.Equal(got, []string{a3.ID}) {
				t.Fatalf("after the head was given up: got %v, want [%s]", got, a3.ID)
			}

			// A queue of messages whose head is deleted with its message.
			c, err := f.store.CreateConversation(ctx, sunlamp.Conversation{AppID: f.app, Type: sunlamp.ConversationSDKGroup}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []sunlamp.Message
			for range 3 {
				m, err := f.store.PostMessage(ctx, sunlamp.Message{AppID: f.app, ConversationID: c.ID, Author: sunlamp.Author{Type: sunlamp.AuthorBusiness},
					Content: sunlamp.TextContent("hi"), Source: sunlamp.Source{Type: sunlamp.SourceAPI}})
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, m)
			}
			_, ds = claimIDs(t, f)
			if len(ds) != 1 || ds[0].Event.ConversationID != c.ID {
				t.Fatalf("claimed %d deliveries, want the first message's", len(ds))
			}
			if err := f.store.DeleteMessage(ctx, f.app, c.ID, msgs[0].ID); err != nil {
				t.Fatal(err)
			}
			_, ds = claimIDs(t, f)
			if len(ds) != 1 || (ds[0].Event.Data.Message == nil || ds[0].Event.Data.Message.ID != msgs[1].ID) {
				t.Fatalf("after the head's message was deleted: claimed %d deliveries, want the second message's", len(ds))
			}
		})
	}
}

// TestQueueNeverStalls: deliveries joining their queues while the heads are being finished, from
// concurrent transactions (two writers per conversation, and the dispatcher), are all delivered in
// the end, each conversation's in the order they were written: none is left waiting behind a delivery
// that is gone.
func TestQueueNeverStalls(t *testing.T) {
	for _, name := range apitest.Stores() {
		t.Run(name, func(t *testing.T) {
			rc := webhooktest.NewReceiver(t, nil)
			f := newFixture(t, name, rc.URL, []string{"conversation:remove"}, nil)
			const n = 300
			var wg sync.WaitGroup
			stop := make(chan struct{})
			wg.Add(1)
			go func() { // deliver while events arrive
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := f.d.DeliverDue(context.Background()); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			// Events are written by four writers, two per conversation; each records the order in
			// which its conversation's events committed (under the conversation's mutex).
			var mu [2]sync.Mutex
			var written [2][]string
			var writers sync.WaitGroup
			for w := range 4 {
				writers.Add(1)
				go func() {
					defer writers.Done()
					c := w % 2
					conv := []string{"convA", "convB"}[c]
					data := sunlamp.EventData{Conversation: &sunlamp.Conversation{ID: conv, AppID: f.app, Type: sunlamp.ConversationSDKGroup}}
					for range n / 4 {
						ev := sunlamp.Event{ID: sunlamp.NewID(), AppID: f.app, Type: "conversation:remove", ConversationID: conv, Data: data, CreatedAt: f.clock.Now()}
						mu[c].Lock()
						err := f.store.Emit(context.Background(), ev)
						if err == nil {
							written[c] = append(written[c], ev.ID)
						}
						mu[c].Unlock()
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			writers.Wait()
			close(stop)
			wg.Wait()
			for f.deliverDue(t) > 0 {
			}
			if pending, err := f.store.PendingDeliveries(context.Background()); err != nil || pending != 0 {
				t.Fatalf("%d deliveries still pending with nothing due (err %v): a queue stalled", pending, err)
			}
			convOf := map[string]int{}
			for c := range written {
				for _, id := range written[c] {
					convOf[id] = c
				}
			}
			var got [2][]string
			for _, id := range rc.IDs() {
				if c := convOf[id]; len(got[c]) == 0 || got[c][len(got[c])-1] != id { // a repeat is an at-least-once retry
					got[c] = append(got[c], id)
				}
			}
			for c := range written {
				if diff := cmp.Diff(written[c], got[c]); diff != "" {
					t.Errorf("conversation %d: delivered events in order (-want +got):\n%s", c, diff)
				}
			}
		})
	}
}
