package sunlamp

// Integration is a channel or custom integration of an app. (Owned by the integrations work: issue 5.)
type Integration struct {
	ID    string
	AppID string
	Type  string
}

// IntegrationStore keeps integrations, their keys and webhooks, and the delivery state of events.
type IntegrationStore interface {
	// filled by the integrations work (issue 5)
}
