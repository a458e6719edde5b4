package sunlamp

// Client is a user's presence on one channel. (Owned by the users work: issue 3.)
type Client struct {
	ID     string
	UserID string
}

// Device is a device of an SDK client. (Owned by the users work: issue 3.)
type Device struct {
	ID       string
	ClientID string
}
