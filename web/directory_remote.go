package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/federate"
	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// Defaults for other directories (PORTAL_FHIR_REMOTES).
const (
	defaultRemoteTimeout = 3 * time.Second
	remoteImportTimeout  = time.Minute
	remoteCount          = 20
)

// remote is one configured directory; it is only ever named by its index,
// so no request can make the portal fetch a URL of its choosing.
type remote struct {
	base string
	host string
}

func newRemotes(bases []string) []remote {
	out := make([]remote, 0, len(bases))
	for _, b := range bases {
		host := b
		if u, err := url.Parse(b); err == nil {
			host = u.Host
		}
		out = append(out, remote{base: b, host: host})
	}
	return out
}

// remoteClient does not follow redirects: a directory that moves is
// reconfigured, not followed to another host.
func remoteClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// seconds writes d for people: "3 seconds", "0.5 seconds".
func seconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if s == "1" {
		return "1 second"
	}
	return s + " seconds"
}

// remoteMessage says in plain English why a remote gave no results.
func (h *Handler) remoteMessage(r remote, err error) string {
	var fe *federate.Error
	kind := "unreachable"
	if errors.As(err, &fe) {
		kind = fe.Kind
	}
	switch kind {
	case "timeout":
		return fmt.Sprintf("%s did not answer within %s.", r.host, seconds(h.remoteTimeout))
	case "status":
		return fmt.Sprintf("%s could not search its directory just now (it answered %s). Try again later.", r.host, fe.Err)
	case "unreadable":
		return fmt.Sprintf("%s answered with something that is not a provider directory we can read.", r.host)
	}
	return fmt.Sprintf("%s could not be reached.", r.host)
}

// searchRemotes asks every configured directory for practitioners matching
// q, in parallel, each bounded by the remote timeout, and filters their
// rows like the local search.
func (h *Handler) searchRemotes(ctx context.Context, f pages.DirectoryForm, q federate.Query) ([]pages.RemoteView, error) {
	out := make([]pages.RemoteView, len(h.remotes))
	rows := make([][]federate.Row, len(h.remotes))
	var wg sync.WaitGroup
	for i, r := range h.remotes {
		out[i] = pages.RemoteView{Index: i, Host: r.host}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, h.remoteTimeout)
			defer cancel()
			rs, err := federate.Search(rctx, h.remoteHTTP, r.base, q, remoteCount)
			if err != nil {
				// Host and failure kind only: the search text names people.
				var fe *federate.Error
				kind := "unreachable"
				if errors.As(err, &fe) {
					kind = fe.Kind
				}
				h.log.WarnContext(ctx, "remote directory search failed", "remote", r.host, "kind", kind)
				out[i].Error = h.remoteMessage(r, err)
				return
			}
			rows[i] = rs
		}()
	}
	wg.Wait()
	for i := range out {
		for _, row := range rows[i] {
			if !remoteMatches(f, row) {
				continue
			}
			local, err := h.localCopy(ctx, row)
			if err != nil {
				return nil, err
			}
			place := strings.Join(strings.Fields(row.Suburb+" "+row.State+" "+row.Postcode), " ")
			out[i].Rows = append(out[i].Rows, pages.RemoteRow{RoleID: row.RoleID, OrgID: row.OrgID, Name: row.Name,
				Specialty: row.Specialty, OrgName: row.OrgName, Place: place, Reachable: row.Reachable,
				DocTypes: provider.DocumentTypes(row.PayloadTypes), LocalID: local})
		}
	}
	return out, nil
}

// remoteMatches applies the search form's filters to a remote row (the
// remote was only asked by name).
func remoteMatches(f pages.DirectoryForm, r federate.Row) bool {
	has := func(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
	switch {
	case f.Kind != "" && f.Kind != store.ListingPractitioner:
		return false
	case f.SMDOnly && !r.Reachable:
		return false
	case f.Specialty != "" && !has(r.Specialty, f.Specialty):
		return false
	case f.Place != "" && r.Postcode != f.Place && !has(r.Suburb, f.Place):
		return false
	}
	return true
}

// localCopy is the ID of our listing of the same practitioner (same
// organisation URI and HPI-I, or the same name when the row has no HPI-I);
// "" when we do not list them, even if we know their organisation, so a
// new practitioner at a known clinic can still be added. Rows we list are
// marked, not dropped, so a searcher sees why they cannot add them.
func (h *Handler) localCopy(ctx context.Context, r federate.Row) (string, error) {
	if r.OrgURI == "" {
		return "", nil
	}
	ls, _, err := h.store.SearchListings(ctx, store.ListingSearch{OrgURI: r.OrgURI, Kind: store.ListingPractitioner, Limit: 500})
	if err != nil {
		return "", err
	}
	for _, l := range ls {
		if r.HPII != "" && l.HPII == r.HPII || r.HPII == "" && strings.EqualFold(l.Name, r.Name) {
			return l.ID, nil
		}
	}
	return "", nil
}

// conflicts lists, as problems, the organisations of d that an add must
// not touch: one hosted here; one our directory knows at a different SMD
// address or with a different certificate (ImportDirectory would swap them
// for whatever the remote publishes, a decision for an administrator, not
// any staff member); one listed here without a directory entry. An
// organisation we know at the same address with the same certificate is
// the same party: an add only refreshes its listings (a new practitioner).
func (h *Handler) conflicts(ctx context.Context, d *fhirpd.Directory) ([]string, error) {
	names := map[string]string{}
	targets := map[string]fhirpd.Target{}
	for _, t := range d.SMDTargets() {
		names[t.OrgURI], targets[t.OrgURI] = t.Name, t
	}
	for _, o := range d.Organizations {
		if o.HPIO != "" {
			names[fhirpd.HPIOURIPrefix+o.HPIO] = o.Name
		}
	}
	var out []string
	for _, uri := range slices.Sorted(maps.Keys(names)) {
		problem := func(why string) {
			out = append(out, fmt.Sprintf("%s (%s) %s An administrator can re-import it.", names[uri], uri, why))
		}
		if hpio, ok := strings.CutPrefix(uri, fhirpd.HPIOURIPrefix); ok {
			if _, err := h.store.OrganisationByHPIO(ctx, hpio); err == nil {
				problem("is hosted here: another directory never changes it.")
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		e, err := h.store.DirectoryEntryByOrgURI(ctx, uri)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ls, _, err := h.store.SearchListings(ctx, store.ListingSearch{OrgURI: uri, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(ls) > 0 {
				problem("is already listed in our directory; adding from another directory never replaces what we have.")
			}
		case err != nil:
			return nil, err
		default:
			t, ok := targets[uri]
			if !ok || t.Cert == nil || t.EndpointURL != e.EndpointURL || !bytes.Equal(t.Cert.Raw, e.EncryptionCertDER) {
				problem("is already in our directory with a different secure-messaging address or certificate; adding from another directory never replaces them.")
			}
		}
	}
	return out, nil
}

// addRemote copies one organisation of a configured directory into ours:
// fetched whole (ImportDirectory replaces an organisation's listings), then
// imported all or nothing, then shown.
func (h *Handler) addRemote(c echo.Context) error {
	ctx := c.Request().Context()
	i, err := strconv.Atoi(c.FormValue("remote"))
	orgID, roleID := c.FormValue("org"), c.FormValue("role")
	fail := func(status int, host string, problems ...string) error {
		return h.render(c, status, pages.RemoteAdd(pages.RemoteAddProps{Host: host, Problems: problems, Back: "/directory"}))
	}
	switch {
	case err != nil || i < 0 || i >= len(h.remotes):
		return fail(http.StatusBadRequest, "", "That other directory is not one this portal is set up to use.")
	case !federate.ValidID(orgID):
		return fail(http.StatusBadRequest, "", "The organisation reference is not a FHIR id.")
	case roleID != "" && !federate.ValidID(roleID):
		return fail(http.StatusBadRequest, "", "The practitioner reference is not a FHIR id.")
	}
	r := h.remotes[i]
	fctx, cancel := context.WithTimeout(ctx, remoteImportTimeout)
	defer cancel()
	data, err := fhirpd.Fetch(fctx, h.remoteHTTP, federate.OrganisationURLs(r.base, orgID))
	if err != nil {
		h.log.WarnContext(ctx, "remote directory fetch failed", "remote", r.host, "error", err)
		return fail(http.StatusBadGateway, r.host, fmt.Sprintf("%s did not give us the organisation's directory entries. Try again later.", r.host))
	}
	d, err := fhirpd.Parse(bytes.NewReader(data), fhirpd.Limits{})
	var ve *fhirpd.ValidationError
	switch {
	case errors.As(err, &ve):
		problems := make([]string, len(ve.Problems))
		for k, pr := range ve.Problems {
			problems[k] = pr.String()
		}
		return fail(http.StatusUnprocessableEntity, r.host, problems...)
	case err != nil:
		return err
	}
	if _, ok := d.Organizations[orgID]; !ok {
		return fail(http.StatusUnprocessableEntity, r.host, fmt.Sprintf("%s does not list that organisation (any more).", r.host))
	}
	if problems, err := h.conflicts(ctx, d); err != nil {
		return err
	} else if len(problems) > 0 {
		return fail(http.StatusConflict, r.host, problems...)
	}
	res, err := provider.ImportDirectory(ctx, h.store, d, auditActor(c), "remote "+r.host)
	var ie *provider.ImportError
	switch {
	case errors.As(err, &ie):
		return fail(http.StatusUnprocessableEntity, r.host, ie.Lines()...)
	case err != nil:
		return err
	}
	if _, err := provider.SyncHostedListings(ctx, h.store); err != nil {
		return err
	}
	target, name := "", d.Organizations[orgID].Name
	for _, l := range res.Listings {
		if roleID != "" && l.SourceRef == "PractitionerRole/"+roleID {
			target, name = l.ID, l.Name
			break
		}
		if l.SourceRef == "Organization/"+orgID && target == "" {
			target = l.ID
		}
	}
	to := "/directory?q=" + url.QueryEscape(name)
	if target != "" {
		to = "/directory/" + target
	}
	return h.flashTo(c, to, "success", fmt.Sprintf("%s was added to our directory from %s.", d.Organizations[orgID].Name, r.host))
}
