package api

import (
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// This file holds the wire shapes of users, clients and devices, and the validation of the user
// bodies (CreateUser, UpdateUser).

type userWire struct {
	ID           string         `json:"id"`
	ExternalID   string         `json:"externalId,omitempty"`
	BrandID      string         `json:"brandId,omitempty"`
	ZendeskID    string         `json:"zendeskId,omitempty"`
	SignedUpAt   string         `json:"signedUpAt"`
	ToBeRetained bool           `json:"toBeRetained,omitempty"` // the spec's examples leave it out when false
	Profile      profileWire    `json:"profile"`
	Metadata     map[string]any `json:"metadata"`
	Identities   []identityWire `json:"identities"`
}

type profileWire struct {
	GivenName string `json:"givenName,omitempty"`
	Surname   string `json:"surname,omitempty"`
	Email     string `json:"email,omitempty"`
	AvatarURL string `json:"avatarUrl,omitempty"`
	Locale    string `json:"locale,omitempty"`
}

type identityWire struct {
	Type         string `json:"type"`
	Value        string `json:"value"`
	Verification string `json:"verification,omitempty"`
}

func userOut(u sunlamp.User) userWire {
	w := userWire{
		ID: u.ID, ExternalID: u.ExternalID, BrandID: u.BrandID, ZendeskID: u.ZendeskID, SignedUpAt: formatTime(u.SignedUpAt),
		ToBeRetained: u.ToBeRetained, Profile: profileWire(u.Profile), Metadata: metadataOut(u.Metadata),
		Identities: []identityWire{},
	}
	for _, id := range u.Identities {
		w.Identities = append(w.Identities, identityWire(id))
	}
	return w
}

type clientWire struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Status        string         `json:"status"`
	IntegrationID string         `json:"integrationId,omitempty"`
	ExternalID    string         `json:"externalId,omitempty"`
	LastSeen      *string        `json:"lastSeen,omitempty"`
	LinkedAt      *string        `json:"linkedAt,omitempty"`
	DisplayName   string         `json:"displayName,omitempty"`
	AvatarURL     string         `json:"avatarUrl,omitempty"`
	Info          map[string]any `json:"info,omitempty"`
	Raw           map[string]any `json:"raw,omitempty"`
}

func clientOut(c sunlamp.Client) clientWire {
	return clientWire{
		ID: c.ID, Type: c.Type, Status: c.Status, IntegrationID: c.IntegrationID, ExternalID: c.ExternalID,
		LastSeen: formatTimePtr(c.LastSeen), LinkedAt: formatTimePtr(c.LinkedAt),
		DisplayName: c.DisplayName, AvatarURL: c.AvatarURL, Info: c.Info, Raw: c.Raw,
	}
}

type deviceWire struct {
	ID                    string         `json:"id"`
	GUID                  string         `json:"guid"`
	ClientID              string         `json:"clientId"`
	IntegrationID         string         `json:"integrationId,omitempty"`
	Type                  string         `json:"type"`
	Status                string         `json:"status"`
	Info                  map[string]any `json:"info,omitempty"`
	LastSeen              string         `json:"lastSeen"`
	PushNotificationToken string         `json:"pushNotificationToken,omitempty"`
	AppVersion            string         `json:"appVersion,omitempty"`
}

func deviceOut(d sunlamp.Device) deviceWire {
	return deviceWire{
		ID: d.ID, GUID: d.GUID, ClientID: d.ClientID, IntegrationID: d.IntegrationID, Type: d.Type, Status: d.Status,
		Info: d.Info, LastSeen: formatTime(d.LastSeen), PushNotificationToken: d.PushNotificationToken, AppVersion: d.AppVersion,
	}
}

// profileBody is the profile of a user body. Every field is nullable: null clears it (UpdateUser).
type profileBody struct {
	GivenName Nullable[string] `json:"givenName"`
	Surname   Nullable[string] `json:"surname"`
	Email     Nullable[string] `json:"email"`
	AvatarURL Nullable[string] `json:"avatarUrl"`
	Locale    Nullable[string] `json:"locale"`
}

// userBody is CreateUser's and UpdateUser's body; externalId and brandId are CreateUser's only
// (UpdateUser ignores them: "externalId cannot be changed").
type userBody struct {
	ExternalID   Nullable[string]         `json:"externalId"`
	BrandID      Nullable[string]         `json:"brandId"`
	SignedUpAt   Nullable[string]         `json:"signedUpAt"`
	ToBeRetained Nullable[bool]           `json:"toBeRetained"`
	Profile      Nullable[profileBody]    `json:"profile"`
	Metadata     Nullable[map[string]any] `json:"metadata"`
}

// userFields is a validated user body.
type userFields struct {
	externalID, brandID string
	signedUpAt          *time.Time
	toBeRetained        *bool
	profile             *sunlamp.ProfileUpdate
	metadata            *sunlamp.Metadata
}

// validate checks every field of the body and returns all the problems at once (a 400 may carry
// several errors), each title naming its field.
func (b userBody) validate(create bool) (userFields, error) {
	var f userFields
	var errs invalidErrors
	add := func(err error) {
		if err != nil {
			errs = append(errs, sunlamp.AsError(err))
		}
	}
	if create {
		switch {
		case b.ExternalID.Null:
			add(sunlamp.Invalid("externalId should be string"))
		case b.ExternalID.Set:
			add(checkLength("externalId", b.ExternalID.Value, 1, 1024))
			f.externalID = b.ExternalID.Value
		}
		if b.BrandID.Set && !b.BrandID.Null {
			add(checkLength("brandId", b.BrandID.Value, 1, 24))
			f.brandID = b.BrandID.Value
		}
	}
	switch {
	case b.SignedUpAt.Null:
		add(sunlamp.Invalid("signedUpAt should be string"))
	case b.SignedUpAt.Set:
		t, err := time.Parse(time.RFC3339Nano, b.SignedUpAt.Value)
		if err != nil {
			add(sunlamp.Invalid(`signedUpAt should match format "date-time" (YYYY-MM-DDThh:mm:ss.sssZ)`))
		} else {
			t = t.UTC().Truncate(time.Millisecond)
			f.signedUpAt = &t
		}
	}
	switch {
	case b.ToBeRetained.Null:
		add(sunlamp.Invalid("toBeRetained should be boolean"))
	case b.ToBeRetained.Set:
		f.toBeRetained = &b.ToBeRetained.Value
	}
	switch {
	case b.Profile.Null:
		// A null profile clears every field, as null does for each of them.
		empty := ""
		f.profile = &sunlamp.ProfileUpdate{GivenName: &empty, Surname: &empty, Email: &empty, AvatarURL: &empty, Locale: &empty}
	case b.Profile.Set:
		p := b.Profile.Value
		u := &sunlamp.ProfileUpdate{}
		profileField := func(name string, v Nullable[string], min, max int, check func(string, string) error) *string {
			if !v.Set {
				return nil
			}
			empty := ""
			if v.Null {
				return &empty
			}
			field := "profile." + name
			if err := checkLength(field, v.Value, min, max); err != nil {
				add(err)
				return nil
			}
			if check != nil {
				if err := check(field, v.Value); err != nil {
					add(err)
					return nil
				}
			}
			return &v.Value
		}
		u.GivenName = profileField("givenName", p.GivenName, 1, 128, nil)
		u.Surname = profileField("surname", p.Surname, 1, 128, nil)
		u.Email = profileField("email", p.Email, 1, 128, checkEmail)
		u.AvatarURL = profileField("avatarUrl", p.AvatarURL, 1, 2048, checkURI)
		u.Locale = profileField("locale", p.Locale, 1, 64, nil)
		f.profile = u
	}
	if b.Metadata.Set {
		m, err := validateMetadata("User", "metadata", b.Metadata.Value)
		add(err)
		f.metadata = &m // null clears
	}
	if len(errs) > 0 {
		return f, errs
	}
	return f, nil
}

// checkLength checks a string's length in characters with the spec validator's titles.
func checkLength(field, v string, min, max int) error {
	n := utf8.RuneCountInString(v)
	if n < min {
		return sunlamp.Invalid("%s should NOT be shorter than %d characters", field, min)
	}
	if max > 0 && n > max {
		return sunlamp.Invalid("%s should NOT be longer than %d characters", field, max)
	}
	return nil
}

// emailFormat is the `email` format of the service's validator (AJV).
var emailFormat = regexp.MustCompile(`(?i)^[a-z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$`)

func checkEmail(field, v string) error {
	if !emailFormat.MatchString(v) {
		return sunlamp.Invalid("%s should match format \"email\"", field)
	}
	return nil
}

// checkURI checks the `uri` format: an absolute URI without spaces.
func checkURI(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || strings.ContainsAny(v, " \t\n") || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		return sunlamp.Invalid("%s should match format \"uri\"", field)
	}
	return nil
}
