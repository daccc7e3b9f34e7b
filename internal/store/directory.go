package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ListingSearch selects directory listings. Empty fields do not filter.
// The directory is shared by every organisation of this provider, so no
// organisation filter applies (favourites are per organisation).
type ListingSearch struct {
	// Text matches, case-insensitively and anywhere, the name, the
	// organisation name, the specialty or the suburb.
	Text string
	// Name matches the name only (case-insensitive, anywhere).
	Name           string
	HPII           string // exact, 16 digits
	HPIO           string // exact, 16 digits
	ProviderNumber string // exact (case-insensitive)
	Specialty      string // case-insensitive, anywhere
	// Place is a 4-digit postcode (exact) or a suburb (case-insensitive,
	// anywhere).
	Place         string
	Kind          string
	Source        string
	SourceRef     string
	OrgURI        string
	ReachableOnly bool
	// Limit 0 means 25; Offset skips rows of the ordered result.
	Limit, Offset int
}

// reachableSQL mirrors Listing.Reachable.
const reachableSQL = `(org_uri <> '' AND (entry_id IS NOT NULL OR source = 'hosted'))`

// likePattern makes s a literal ILIKE '%s%' pattern.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

func (q ListingSearch) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		add(`(name ILIKE $? OR org_name ILIKE $? OR specialty ILIKE $? OR suburb ILIKE $?)`, likePattern(t))
	}
	if t := strings.TrimSpace(q.Name); t != "" {
		add(`name ILIKE $?`, likePattern(t))
	}
	if q.HPII != "" {
		add(`hpii = $?`, q.HPII)
	}
	if q.HPIO != "" {
		add(`hpio = $?`, q.HPIO)
	}
	if q.ProviderNumber != "" {
		add(`upper(provider_number) = upper($?)`, q.ProviderNumber)
	}
	if t := strings.TrimSpace(q.Specialty); t != "" {
		add(`specialty ILIKE $?`, likePattern(t))
	}
	if p := strings.TrimSpace(q.Place); p != "" {
		if isPostcode(p) {
			add(`postcode = $?`, p)
		} else {
			add(`suburb ILIKE $?`, likePattern(p))
		}
	}
	if q.Kind != "" {
		add(`kind = $?`, q.Kind)
	}
	if q.Source != "" {
		add(`source = $?`, q.Source)
	}
	if q.SourceRef != "" {
		add(`source_ref = $?`, q.SourceRef)
	}
	if q.OrgURI != "" {
		add(`org_uri = $?`, q.OrgURI)
	}
	if q.ReachableOnly {
		conds = append(conds, reachableSQL)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func isPostcode(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// SearchListings returns one page of the listings q selects, reachable
// ones first, then by name, and the number of listings selected in all.
func (s *Store) SearchListings(ctx context.Context, q ListingSearch) ([]Listing, int, error) {
	where, args := q.where()
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM directory_listings`+where, args...).Scan(&total); err != nil {
		return nil, 0, normalise(err, "count directory listings")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 25
	}
	args = append(args, limit, max(q.Offset, 0))
	sql := fmt.Sprintf(`SELECT %s FROM directory_listings%s ORDER BY %s DESC, lower(name), id LIMIT $%d OFFSET $%d`,
		listingColumns, where, reachableSQL, len(args)-1, len(args))
	ls, err := s.queryListings(ctx, sql, args...)
	return ls, total, err
}

func (s *Store) queryListings(ctx context.Context, sql string, args ...any) ([]Listing, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, normalise(err, "list directory listings")
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Listing, error) { return scanListing(r) })
	return ls, normalise(err, "list directory listings")
}

// DeleteListingsExcept deletes the listings of source, limited to those of
// the organisation URIs orgURIs unless orgURIs is nil, whose source
// reference is not in keep. It returns how many went. A re-import or a
// hosted sync uses it to drop what the source no longer lists.
func (s *Store) DeleteListingsExcept(ctx context.Context, source string, orgURIs, keep []string) (int64, error) {
	if keep == nil {
		keep = []string{}
	}
	sql := `DELETE FROM directory_listings WHERE source = $1 AND NOT (source_ref = ANY($2))`
	args := []any{source, keep}
	if orgURIs != nil {
		sql += ` AND org_uri = ANY($3)`
		args = append(args, orgURIs)
	}
	tag, err := s.db.Exec(ctx, sql, args...)
	if err != nil {
		return 0, normalise(err, "delete directory listings")
	}
	return tag.RowsAffected(), nil
}

// DirectoryEntry loads one directory entry by ID (shared, like listings).
func (s *Store) DirectoryEntry(ctx context.Context, id string) (DirectoryEntry, error) {
	if err := checkID(id, "load directory entry"); err != nil {
		return DirectoryEntry{}, err
	}
	out, err := scanDirectoryEntry(s.db.QueryRow(ctx,
		`SELECT `+directoryColumns+` FROM directory_entries WHERE id = $1`, id))
	return out, normalise(err, "load directory entry")
}

// Organisations lists every hosted organisation by name.
func (s *Store) Organisations(ctx context.Context) ([]Organisation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+organisationColumns+` FROM organisations ORDER BY name, id`)
	if err != nil {
		return nil, normalise(err, "list organisations")
	}
	orgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Organisation, error) { return scanOrganisation(r) })
	return orgs, normalise(err, "list organisations")
}

// PublishedPractitioners lists the users the directory publishes: active
// clinicians and administrators with an HPI-I, of every organisation.
func (s *Store) PublishedPractitioners(ctx context.Context) ([]User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE active AND hpii IS NOT NULL AND role IN ('clinician', 'admin') ORDER BY organisation_id, display_name, id`)
	if err != nil {
		return nil, normalise(err, "list published practitioners")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	return users, normalise(err, "list published practitioners")
}

// AddFavourite puts listing listingID in organisation orgID's address
// book; adding it twice is not an error. An unknown listing is ErrNotFound.
func (s *Store) AddFavourite(ctx context.Context, orgID, listingID, userID string) error {
	if err := checkID(listingID, "add favourite"); err != nil {
		return err
	}
	var by *string
	if userID != "" {
		by = &userID
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO favourites (organisation_id, listing_id, created_by)
		SELECT $1, id, $3 FROM directory_listings WHERE id = $2
		ON CONFLICT (organisation_id, listing_id) DO NOTHING`, orgID, listingID, by)
	if err != nil {
		return normalise(err, "add favourite")
	}
	if tag.RowsAffected() == 0 {
		// Either already a favourite or no such listing.
		if _, err := s.Listing(ctx, listingID); err != nil {
			return fmt.Errorf("add favourite: %w", ErrNotFound)
		}
	}
	return nil
}

// RemoveFavourite takes listingID out of orgID's address book; removing
// one that is not there is not an error.
func (s *Store) RemoveFavourite(ctx context.Context, orgID, listingID string) error {
	if err := checkID(listingID, "remove favourite"); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `DELETE FROM favourites WHERE organisation_id = $1 AND listing_id = $2`, orgID, listingID)
	return normalise(err, "remove favourite")
}

// Favourites lists organisation orgID's favourite listings by name.
func (s *Store) Favourites(ctx context.Context, orgID string) ([]Listing, error) {
	return s.queryListings(ctx, `SELECT `+listingColumns+` FROM directory_listings
		WHERE id IN (SELECT listing_id FROM favourites WHERE organisation_id = $1) ORDER BY lower(name), id`, orgID)
}

// FavouriteIDs reports which of ids are in orgID's address book.
func (s *Store) FavouriteIDs(ctx context.Context, orgID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT listing_id FROM favourites WHERE organisation_id = $1 AND listing_id = ANY($2::uuid[])`, orgID, ids)
	if err != nil {
		return nil, normalise(err, "load favourites")
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, normalise(err, "load favourites")
	}
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}
