package web

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/federate"
	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// pageSize is the number of directory results per page.
const pageSize = 25

// providerNumberRE is a Medicare provider number: 6-digit stem (5 in old
// numbers), location character, check character.
var providerNumberRE = regexp.MustCompile(`^[0-9]{5,6}[0-9A-HJ-NP-Z][A-HJ-NP-Y]$`)

var digitsAndSpaces = regexp.MustCompile(`^[0-9 ]+$`)

// parseDirectoryQuery turns the search form into a store query, with
// field errors for what cannot be searched.
func parseDirectoryQuery(v url.Values) (pages.DirectoryForm, store.ListingSearch) {
	f := pages.DirectoryForm{Q: strings.TrimSpace(v.Get("q")), Specialty: strings.TrimSpace(v.Get("specialty")),
		Place: strings.TrimSpace(v.Get("place")), Kind: v.Get("kind"), SMDOnly: v.Get("smd") == "1"}
	q := store.ListingSearch{Specialty: f.Specialty, ReachableOnly: f.SMDOnly, Limit: pageSize}
	switch compact := strings.ReplaceAll(f.Q, " ", ""); {
	case f.Q == "":
	case digitsAndSpaces.MatchString(f.Q) && len(compact) == 16:
		kind := hi.HPII
		if strings.HasPrefix(compact, string(hi.HPIO)) {
			kind = hi.HPIO
		}
		if !strings.HasPrefix(compact, string(hi.HPII)) && !strings.HasPrefix(compact, string(hi.HPIO)) {
			f.QError = "A 16-digit number must be an HPI-I (starting 800361) or an HPI-O (starting 800362)."
			break
		}
		d, err := hi.Validate(kind, compact)
		if err != nil {
			f.QError = err.Error()
		} else if kind == hi.HPII {
			q.HPII = d
		} else {
			q.HPIO = d
		}
	case providerNumberRE.MatchString(strings.ToUpper(compact)):
		q.ProviderNumber = strings.ToUpper(compact)
	case digitsAndSpaces.MatchString(f.Q):
		f.QError = fmt.Sprintf("%q is not a full identifier. Enter a name, a 16-digit HPI-I or HPI-O, or a Medicare provider number such as 2426621B.", f.Q)
	case len([]rune(f.Q)) > 200:
		f.QError = "Search text is limited to 200 characters."
	default:
		q.Text = f.Q
	}
	if f.Place != "" {
		if digitsAndSpaces.MatchString(f.Place) && len(f.Place) != 4 {
			f.PlaceError = "A postcode has 4 digits."
		} else {
			q.Place = f.Place
		}
	}
	switch f.Kind {
	case "", store.ListingPractitioner, store.ListingService, store.ListingOrganisation:
		q.Kind = f.Kind
	default:
		f.KindError = "Choose practitioners, services or organisations."
	}
	f.Searched = f.Q != "" || f.Specialty != "" || f.Place != "" || f.Kind != "" || f.SMDOnly
	return f, q
}

func (h *Handler) listingView(l store.Listing, fav bool) pages.ListingView {
	types := l.PayloadTypes
	return pages.ListingView{ID: l.ID, Kind: l.Kind, Name: l.Name, OrgName: l.OrgName, Specialty: l.Specialty,
		AddressLine: l.AddressLine, Suburb: l.Suburb, State: l.State, Postcode: l.Postcode, Phone: l.Phone,
		HPII: l.HPII, HPIO: l.HPIO, ProviderNumber: l.ProviderNumber, Reachable: l.Reachable(),
		DocTypes: provider.DocumentTypes(types), Favourite: fav, Hosted: l.Source == store.SourceHosted,
		ReceivingApplication: l.ReceivingApplication, ReceivingFacility: l.ReceivingFacility, OrgURI: l.OrgURI}
}

func (h *Handler) views(ctx context.Context, orgID string, ls []store.Listing) ([]pages.ListingView, error) {
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	favs, err := h.store.FavouriteIDs(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]pages.ListingView, len(ls))
	for i, l := range ls {
		out[i] = h.listingView(l, favs[l.ID])
	}
	return out, nil
}

func (h *Handler) showDirectory(c echo.Context) error {
	ctx := c.Request().Context()
	org := currentOrg(c)
	f, q := parseDirectoryQuery(c.QueryParams())
	p := pages.DirectoryProps{Form: f, Back: c.Request().URL.RequestURI()}
	status := http.StatusOK
	switch {
	case f.QError != "" || f.PlaceError != "" || f.KindError != "":
		status = http.StatusUnprocessableEntity
	case f.Searched:
		page, _ := strconv.Atoi(c.QueryParam("page"))
		page = max(page, 1)
		q.Offset = (page - 1) * pageSize
		ls, total, err := h.store.SearchListings(ctx, q)
		if err != nil {
			return err
		}
		if p.Results, err = h.views(ctx, org.ID, ls); err != nil {
			return err
		}
		p.Total, p.Page, p.Pages = total, page, (total+pageSize-1)/pageSize
		link := func(n int) string {
			v := c.QueryParams()
			w := url.Values{}
			for k, vs := range v {
				w[k] = vs
			}
			w.Set("page", strconv.Itoa(n))
			return "/directory?" + w.Encode()
		}
		if page > 1 {
			p.PrevURL = link(page - 1)
		}
		if page < p.Pages {
			p.NextURL = link(page + 1)
		}
		// Other directories after ours, and on the first page only: a
		// slow remote never holds up paging through local results.
		// An HPI-O search names an organisation, which remotes are not
		// asked for.
		rq := federate.Query{Name: q.Text, HPII: q.HPII, ProviderNumber: q.ProviderNumber}
		if rq != (federate.Query{}) && len(h.remotes) > 0 && page == 1 {
			if p.Remotes, err = h.searchRemotes(ctx, f, rq); err != nil {
				return err
			}
		}
	default:
		ls, err := h.store.Favourites(ctx, org.ID)
		if err != nil {
			return err
		}
		p.Favourites = make([]pages.ListingView, len(ls))
		for i, l := range ls {
			p.Favourites[i] = h.listingView(l, true)
		}
	}
	return h.render(c, status, pages.Directory(p))
}

func (h *Handler) showListing(c echo.Context) error {
	ctx := c.Request().Context()
	org := currentOrg(c)
	l, err := h.store.Listing(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	favs, err := h.store.FavouriteIDs(ctx, org.ID, []string{l.ID})
	if err != nil {
		return err
	}
	p := pages.ListingProps{Listing: h.listingView(l, favs[l.ID]), Back: c.Request().URL.RequestURI()}
	var cert *x509.Certificate
	switch {
	case l.EntryID != nil:
		e, err := h.store.DirectoryEntry(ctx, *l.EntryID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			p.Endpoint = e.EndpointURL
			if cert, err = x509.ParseCertificate(e.EncryptionCertDER); err != nil {
				cert = nil
			}
		}
	case l.Source == store.SourceHosted:
		orgs, _, err := h.store.SearchListings(ctx, store.ListingSearch{Source: store.SourceHosted, Kind: store.ListingOrganisation, OrgURI: l.OrgURI, Limit: 1})
		if err != nil {
			return err
		}
		if len(orgs) == 1 {
			if p.Endpoint, cert, err = h.publisher.Endpoint(ctx, orgs[0].SourceRef); err != nil {
				return err
			}
		}
	}
	if cert != nil {
		p.CertSubject, p.CertExpires = cert.Subject.String(), cert.NotAfter
	}
	return h.render(c, http.StatusOK, pages.Listing(p))
}

// back is where a favourite form returns to: a directory page only, so
// the field cannot redirect elsewhere.
func back(c echo.Context, id string) string {
	b := c.FormValue("back")
	if strings.HasPrefix(b, "/directory") && !strings.HasPrefix(b, "//") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return "/directory/" + id
}

func (h *Handler) addFavourite(c echo.Context) error {
	org, u := currentOrg(c), mustUser(c)
	l, err := h.store.Listing(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.store.AddFavourite(c.Request().Context(), org.ID, l.ID, u.ID); err != nil {
		return err
	}
	if err := h.flash(c, "success", l.Name+" is in your favourites."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, back(c, l.ID))
}

func (h *Handler) removeFavourite(c echo.Context) error {
	org := currentOrg(c)
	l, err := h.store.Listing(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.store.RemoveFavourite(c.Request().Context(), org.ID, l.ID); err != nil {
		return err
	}
	if err := h.flash(c, "success", l.Name+" was removed from your favourites."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, back(c, l.ID))
}

func mustUser(c echo.Context) store.User {
	u, _ := currentUser(c)
	return u
}

func (h *Handler) showDirectoryImport(c echo.Context) error {
	return h.render(c, http.StatusOK, pages.DirectoryImport(pages.DirectoryImportProps{}))
}

// importDirectory loads an uploaded FHIR bundle; the page lists every
// problem when nothing was imported.
func (h *Handler) importDirectory(c echo.Context) error {
	ctx := c.Request().Context()
	p := pages.DirectoryImportProps{}
	fh, err := c.FormFile("bundle")
	if err != nil {
		p.FileError = "Choose a FHIR bundle file (JSON) to import."
		return h.render(c, http.StatusUnprocessableEntity, pages.DirectoryImport(p))
	}
	file, err := fh.Open()
	if err != nil {
		return err
	}
	defer file.Close()
	d, err := fhirpd.Parse(file, fhirpd.Limits{})
	var ve *fhirpd.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, pr := range ve.Problems {
			p.Problems = append(p.Problems, pr.String())
		}
		return h.render(c, http.StatusUnprocessableEntity, pages.DirectoryImport(p))
	case err != nil:
		return err
	}
	for _, w := range d.Warnings {
		p.Warnings = append(p.Warnings, w.String())
	}
	res, err := provider.ImportDirectory(ctx, h.store, d, auditActor(c), "upload")
	var ie *provider.ImportError
	switch {
	case errors.As(err, &ie):
		p.Problems = ie.Lines()
		return h.render(c, http.StatusUnprocessableEntity, pages.DirectoryImport(p))
	case err != nil:
		return err
	}
	if _, err := provider.SyncHostedListings(ctx, h.store); err != nil {
		return err
	}
	p.Done = true
	p.Entries, p.Listings, p.Removed = len(res.Entries), len(res.Listings), int(res.Removed)
	return h.render(c, http.StatusOK, pages.DirectoryImport(p))
}
