package sunlamp

// The settings that change what Sunlamp does with customers' messages and users, each with the
// service's default for an app that never set it (CreateApp answers maskCreditCardNumbers true,
// echoPostback, useAnimalNames and multiConvoEnabled false).

// MasksCardNumbers reports whether card numbers in user-sent text are masked before they are
// stored (MaskCardNumbers); on unless set off.
func (s AppSettings) MasksCardNumbers() bool {
	return s.MaskCreditCardNumbers == nil || *s.MaskCreditCardNumbers
}

// EchoesPostbacks reports whether a postback also adds a user message with the button's text to
// the conversation; off unless set on.
func (s AppSettings) EchoesPostbacks() bool { return s.EchoPostback != nil && *s.EchoPostback }

// GivesAnimalNames reports whether users that a channel creates without a name get one
// (AnimalName); off unless set on.
func (s AppSettings) GivesAnimalNames() bool { return s.UseAnimalNames != nil && *s.UseAnimalNames }

// AllowsManyConversations reports whether a user may take part in several conversations
// (multiConvoEnabled); off unless set on.
func (s AppSettings) AllowsManyConversations() bool {
	return s.MultiConvoEnabled != nil && *s.MultiConvoEnabled
}
