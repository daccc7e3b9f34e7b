package web

import (
	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/store"
)

// Access says who may call a route.
type Access int

// Access levels, from open to closed.
const (
	Public    Access = iota // anyone, signed in or not
	Pending                 // password accepted, second factor outstanding
	SignedIn                // any role of a signed-in user
	AdminOnly               // administrators of the user's organisation
	// OperatorOnly admits administrators of an operator organisation:
	// provider-wide settings every hosted organisation depends on.
	OperatorOnly
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Handler func(*Handler, echo.Context) error
}

// Routes is the portal's one route table: every path, method, access level
// and handler. Tests iterate it to check authorisation for every route.
func Routes() []Route {
	return []Route{
		{"GET", "/healthz", Public, (*Handler).healthz},
		{"GET", "/readyz", Public, (*Handler).readyz},
		{"GET", "/", Public, (*Handler).showHome},
		{"GET", "/setup", Public, (*Handler).showSetup},
		{"POST", "/setup", Public, (*Handler).createSetup},
		{"POST", "/demo", Public, (*Handler).loadDemoNetwork},
		{"GET", "/login", Public, (*Handler).showLogin},
		{"POST", "/login", Public, (*Handler).login},
		{"GET", "/login/totp", Pending, (*Handler).showTOTP},
		{"POST", "/login/totp", Pending, (*Handler).verifyTOTP},
		{"POST", "/logout", Public, (*Handler).logout},
		// Enrolment is reachable half-signed-in: administrators must enrol
		// before their first full session.
		{"GET", "/account/mfa/enrol", Pending, (*Handler).showEnrol},
		{"POST", "/account/mfa/enrol", Pending, (*Handler).confirmEnrol},
		{"GET", "/account/mfa", SignedIn, (*Handler).showMFA},
		{"GET", "/dashboard", SignedIn, (*Handler).showDashboard},
		{"GET", "/account/sessions", SignedIn, (*Handler).showAccountSessions},
		{"POST", "/account/sessions/:sid/revoke", SignedIn, (*Handler).revokeAccountSession},
		{"POST", "/account/sessions/logout-others", SignedIn, (*Handler).logoutOtherSessions},
		{"GET", "/invite/:token", Public, (*Handler).showAcceptInvite},
		{"POST", "/invite/:token", Public, (*Handler).acceptInvite},
		{"GET", "/inbox", SignedIn, (*Handler).listInbox},
		{"GET", "/inbox/rows", SignedIn, (*Handler).listInboxRows},
		{"GET", "/inbox/:id", SignedIn, (*Handler).showInboxMessage},
		{"GET", "/inbox/:id/attachments/:n", SignedIn, (*Handler).showAttachment},
		{"GET", "/inbox/:id/source", SignedIn, (*Handler).showSource},
		{"GET", "/inbox/:id/print", SignedIn, (*Handler).printMessage},
		{"POST", "/inbox/:id/respond", SignedIn, (*Handler).respondMessage},
		{"POST", "/inbox/:id/reply", SignedIn, (*Handler).replyMessage},
		{"POST", "/inbox/:id/forward", SignedIn, (*Handler).forwardMessage},
		{"POST", "/inbox/:id/assign", SignedIn, (*Handler).assignMessage},
		{"POST", "/inbox/:id/archive", SignedIn, (*Handler).archiveMessage},
		{"POST", "/inbox/:id/replies/:rid/retry", SignedIn, (*Handler).retryReply},
		{"GET", "/compose", SignedIn, (*Handler).showCompose},
		{"POST", "/compose", SignedIn, (*Handler).createCompose},
		{"GET", "/compose/recipients", SignedIn, (*Handler).listRecipients},
		{"GET", "/drafts", SignedIn, (*Handler).listDrafts},
		{"GET", "/drafts/:id", SignedIn, (*Handler).showDraft},
		{"POST", "/drafts/:id", SignedIn, (*Handler).updateDraft},
		{"POST", "/drafts/:id/delete", SignedIn, (*Handler).deleteDraft},
		{"POST", "/drafts/:id/attachments/:aid/remove", SignedIn, (*Handler).removeDraftFile},
		{"GET", "/sent", SignedIn, (*Handler).listSent},
		{"GET", "/sent/rows", SignedIn, (*Handler).listSentRows},
		{"GET", "/sent/:id", SignedIn, (*Handler).showSent},
		{"GET", "/sent/:id/timeline", SignedIn, (*Handler).showSentTimeline},
		{"GET", "/sent/:id/print", SignedIn, (*Handler).printSent},
		{"POST", "/sent/:id/retry", SignedIn, (*Handler).retrySent},
		{"GET", "/admin/users", AdminOnly, (*Handler).listUsers},
		{"GET", "/admin/users/invite", AdminOnly, (*Handler).showInvite},
		{"POST", "/admin/users/invite", AdminOnly, (*Handler).createInvite},
		{"POST", "/admin/invites/:id/cancel", AdminOnly, (*Handler).cancelInvite},
		{"GET", "/admin/users/:id", AdminOnly, (*Handler).showUser},
		{"POST", "/admin/users/:id/role", AdminOnly, (*Handler).changeRole},
		{"POST", "/admin/users/:id/deactivate", AdminOnly, (*Handler).deactivateUser},
		{"POST", "/admin/users/:id/reactivate", AdminOnly, (*Handler).reactivateUser},
		{"POST", "/admin/users/:id/reset-mfa", AdminOnly, (*Handler).resetUserMFA},
		{"POST", "/admin/users/:id/logout", AdminOnly, (*Handler).logoutUser},
		{"POST", "/admin/users/:id/sessions/:sid/revoke", AdminOnly, (*Handler).revokeUserSession},
		{"GET", "/admin/organisation", AdminOnly, (*Handler).showOrgSettings},
		{"POST", "/admin/organisation", AdminOnly, (*Handler).saveOrgSettings},
		{"GET", "/admin/audit", AdminOnly, (*Handler).listAudit},
		{"POST", "/admin/audit/verify", AdminOnly, (*Handler).verifyAudit},
		{"GET", "/directory", SignedIn, (*Handler).showDirectory},
		{"GET", "/directory/:id", SignedIn, (*Handler).showListing},
		// Copies an organisation a configured directory publishes; audited
		// by the import, so any signed-in staff member may.
		{"POST", "/directory/remote", SignedIn, (*Handler).addRemote},
		{"POST", "/directory/:id/favourite", SignedIn, (*Handler).addFavourite},
		{"POST", "/directory/:id/unfavourite", SignedIn, (*Handler).removeFavourite},
		{"GET", "/admin/directory/import", AdminOnly, (*Handler).showDirectoryImport},
		{"POST", "/admin/directory/import", AdminOnly, (*Handler).importDirectory},
		// The provider directory other providers read (HL7 AU PD, FHIR
		// R4 JSON): read-only and public, like any published directory.
		{"GET", "/fhir/:type", Public, (*Handler).fhirSearch},
		{"GET", "/fhir/:type/:id", Public, (*Handler).fhirRead},
		{"GET", "/admin/audit/export", AdminOnly, (*Handler).exportAudit},
		{"GET", "/admin/certificates", AdminOnly, (*Handler).listCertificates},
		{"POST", "/admin/certificates/import", AdminOnly, (*Handler).importCertificate},
		{"POST", "/admin/certificates/csr", AdminOnly, (*Handler).createCSR},
		{"GET", "/admin/certificates/csr/:id", AdminOnly, (*Handler).downloadCSR},
		{"POST", "/admin/certificates/install", AdminOnly, (*Handler).installCertificate},
		{"GET", "/admin/certificates/:id", AdminOnly, (*Handler).showCertificate},
		{"POST", "/admin/certificates/:id/schedule", AdminOnly, (*Handler).scheduleCertificate},
		{"POST", "/admin/certificates/:id/retire", AdminOnly, (*Handler).retireCertificate},
		{"POST", "/admin/notifications/:id/dismiss", AdminOnly, (*Handler).dismissNotification},
		{"GET", "/admin/trust", AdminOnly, (*Handler).listTrust},
		{"POST", "/admin/trust", OperatorOnly, (*Handler).addTrustAnchor},
		{"POST", "/admin/trust/crls", OperatorOnly, (*Handler).addCRL},
		{"GET", "/admin/trust/:id/remove", OperatorOnly, (*Handler).confirmRemoveTrust},
		{"POST", "/admin/trust/:id/remove", OperatorOnly, (*Handler).removeTrust},
	}
}

// Register adds every route of the table to e with its access guard.
func (h *Handler) Register(e *echo.Echo) {
	e.GET("/metrics", echo.WrapHandler(h.metrics.handler))
	e.GET("/static/*", echo.WrapHandler(staticHandler()))
	for _, r := range Routes() {
		handler := func(c echo.Context) error { return r.Handler(h, c) }
		e.Add(r.Method, r.Path, handler, h.guard(r.Access))
	}
}

// allowedRoles lists the roles admitted at each signed-in access level.
func allowedRoles(a Access) []string {
	switch a {
	case SignedIn:
		return []string{store.RoleAdmin, store.RoleClinician, store.RoleReception}
	case AdminOnly, OperatorOnly:
		return []string{store.RoleAdmin}
	}
	return nil
}
