package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sunlamp/sunlamp/client"
)

// Erase a user's personal information, against Sunlamp or the real service.
func ExampleClient_DeleteUserPersonalInformation() {
	c, err := client.New("http://127.0.0.1:8090", client.Basic("app_5d8cff3cd55b040010928b5b", "secret"))
	if err != nil {
		log.Fatal(err)
	}
	user, err := c.DeleteUserPersonalInformation(context.Background(), "5d8cff3cd55b040010928b5b", "customer-42")
	switch {
	case client.CodeOf(err) == "user_not_found":
		fmt.Println("no such user")
	case err != nil:
		log.Fatal(err) // e.g. "DELETE /v2/apps/...: 403 Forbidden; forbidden: Forbidden"
	default:
		fmt.Println("erased", user.ID)
	}
}

// Page through every app of the account.
func ExampleClient_Apps() {
	auth, err := client.JWT("act_5d8cff3cd55b040010928b5b", "secret", client.ScopeAccount, "")
	if err != nil {
		log.Fatal(err)
	}
	c, _ := client.New("https://api.smooch.io", auth)
	for app, err := range c.Apps(context.Background(), client.Page{Size: 100}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(app.ID, app.DisplayName)
	}
}

// Share one pacer between clients so that a 429 seen by one slows all of them down.
func ExampleWithPacer() {
	pacer := client.NewPacer()
	policy := client.DefaultRetryPolicy()
	policy.MaxAttempts = 10
	a, _ := client.New("http://127.0.0.1:8090", client.Basic("app_a", "secret"), client.WithPacer(pacer), client.WithRetry(policy))
	b, _ := client.New("http://127.0.0.1:8090", client.Basic("app_b", "secret"), client.WithPacer(pacer), client.WithRetry(policy))
	_, _ = a, b
}
