package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// Expiry warning thresholds for the active certificate.
const (
	ExpiryWarnWithin   = 6 * 7 * 24 * time.Hour
	ExpiryUrgentWithin = 7 * 24 * time.Hour
)

// Expiry levels.
const (
	ExpiryWarning = "warning"
	ExpiryUrgent  = "urgent"
)

// Notification kinds for certificate expiry (one per certificate each).
const (
	NoticeExpiryWarning = "certificate.expiry_warning"
	NoticeExpiryUrgent  = "certificate.expiry_urgent"
)

// Expiry is a warning that the active certificate expires soon.
type Expiry struct {
	Level    string // ExpiryWarning or ExpiryUrgent
	KeyID    string
	Subject  string
	NotAfter time.Time
}

// Text says what expires when, for a banner or notification.
func (e Expiry) Text() string {
	return fmt.Sprintf("Your organisation's SMD certificate expires on %s. Install its replacement before then, or messages can no longer be sent or received.",
		e.NotAfter.Format("Monday 2 January 2006 at 15:04 MST"))
}

// Kind is the notification kind of e's level.
func (e Expiry) Kind() string {
	if e.Level == ExpiryUrgent {
		return NoticeExpiryUrgent
	}
	return NoticeExpiryWarning
}

// CheckExpiry returns the expiry warning for keys (one organisation's,
// newest active_from first) at now, or nil: the active certificate expires
// within six weeks (urgent within one) and no other certificate installed
// outlasts it (a replacement already installed, even scheduled, silences
// the warning).
func CheckExpiry(keys []store.OrgKey, now time.Time) *Expiry {
	activeID := ActiveKeyID(keys, now)
	if activeID == "" {
		return nil
	}
	var active store.OrgKey
	for _, k := range keys {
		if k.ID == activeID {
			active = k
		}
	}
	left := active.NotAfter.Sub(now)
	if left > ExpiryWarnWithin {
		return nil
	}
	for _, k := range keys {
		if k.ID != activeID && k.RetiredAt == nil && k.NotAfter.After(active.NotAfter) {
			return nil
		}
	}
	level := ExpiryWarning
	if left <= ExpiryUrgentWithin {
		level = ExpiryUrgent
	}
	return &Expiry{Level: level, KeyID: active.ID, Subject: active.Subject, NotAfter: active.NotAfter}
}

// OrgExpiry checks organisation orgID's certificates at now and, when a
// threshold is reached, records its notification the first time it is
// seen (once per certificate per threshold).
func OrgExpiry(ctx context.Context, st *store.Store, orgID string, now time.Time) (*Expiry, error) {
	keys, err := st.OrgKeys(ctx, orgID)
	if err != nil {
		return nil, err
	}
	e := CheckExpiry(keys, now)
	if e == nil {
		return nil, nil
	}
	_, err = st.AddNotificationOnce(ctx, store.Notification{OrganisationID: orgID, Kind: e.Kind(), Ref: e.KeyID,
		Text: e.Text(), Link: "/admin/certificates/" + e.KeyID})
	return e, err
}
