// Package chrome carries the per-request values every page shell needs
// (signed-in user, CSRF token, flash messages, request ID) through the
// context, so page components take only their own typed props.
package chrome

import "context"

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind string // "success", "info" or "error"
	Text string
}

// Chrome is what the layout shows around every page.
type Chrome struct {
	UserName  string
	Role      string // "" when signed out
	OrgName   string
	CSRFToken string
	RequestID string
	Flashes   []Flash
	Path      string // current path, for marking the active nav item
	// Banners are shown on every page above the content (certificate
	// expiry for administrators).
	Banners []Banner
	// Unread counts the organisation's unread inbox messages (nav badge).
	Unread int
}

// Banner is a standing notice with a link to act on it.
type Banner struct {
	Level    string // "warning" or "urgent"
	Text     string
	Link     string
	LinkText string
}

// SignedIn reports whether a fully authenticated user is present.
func (c Chrome) SignedIn() bool { return c.Role != "" }

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c Chrome) context.Context { return context.WithValue(ctx, key{}, c) }

// From returns the Chrome in ctx (zero when absent).
func From(ctx context.Context) Chrome {
	c, _ := ctx.Value(key{}).(Chrome)
	return c
}
