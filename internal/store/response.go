package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Transport response directions and delivery states.
const (
	ResponseReceived = "received"
	ResponseSent     = "sent"

	ResponsePending = "pending"
	ResponseDone    = "done"
	ResponseFailed  = "failed"
)

// TransportResponse is a transport response received about one of our
// outbound messages, or generated here about an inbound one (one row per
// routeRecord endpoint).
type TransportResponse struct {
	ID             string
	MessageID      string
	OrganisationID string
	Direction      string
	ResponseID     string
	SourceOrgURI   string
	Class          string
	Code           string
	Message        string
	DigestValue    []byte
	Final          bool
	ResponseTime   time.Time
	XML            []byte
	EndpointURL    string
	State          string
	Attempts       int
	LastError      string
	RetrievedAt    *time.Time
	RemovedAt      *time.Time
	CreatedAt      time.Time
}

const responseColumns = `id, message_id, organisation_id, direction, response_id, source_org_uri,
	response_class, response_code, message, digest_value, final, response_time, xml, endpoint_url, state,
	attempts, last_error, retrieved_at, removed_at, created_at`

func scanResponse(row interface{ Scan(...any) error }) (TransportResponse, error) {
	var r TransportResponse
	err := row.Scan(&r.ID, &r.MessageID, &r.OrganisationID, &r.Direction, &r.ResponseID, &r.SourceOrgURI,
		&r.Class, &r.Code, &r.Message, &r.DigestValue, &r.Final, &r.ResponseTime, &r.XML, &r.EndpointURL,
		&r.State, &r.Attempts, &r.LastError, &r.RetrievedAt, &r.RemovedAt, &r.CreatedAt)
	return r, err
}

func collectResponses(rows pgx.Rows, err error, what string) ([]TransportResponse, error) {
	if err != nil {
		return nil, normalise(err, what)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TransportResponse, error) { return scanResponse(r) })
	return out, normalise(err, what)
}

// InsertResponse inserts r (ID chosen by the caller). It returns false, and
// writes nothing, when a response with the same direction, responseId and
// endpoint exists (a redelivered TRD batch).
func (s *Store) InsertResponse(ctx context.Context, r TransportResponse) (bool, error) {
	if err := checkID(r.ID, "insert transport response"); err != nil {
		return false, err
	}
	if r.State == "" {
		r.State = ResponseDone
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO transport_responses (id, message_id, organisation_id, direction,
		response_id, source_org_uri, response_class, response_code, message, digest_value, final, response_time,
		xml, endpoint_url, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (direction, response_id, endpoint_url) DO NOTHING`,
		r.ID, r.MessageID, r.OrganisationID, r.Direction, r.ResponseID, r.SourceOrgURI, r.Class, r.Code,
		truncate(r.Message, 4000), r.DigestValue, r.Final, r.ResponseTime, r.XML, r.EndpointURL, r.State)
	if err != nil {
		return false, normalise(err, "insert transport response")
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimPendingResponses locks up to limit pending 'sent' responses for
// endpointURL, oldest first, skipping rows another worker holds: inside
// WithTx they form one TRD batch that no other worker sends.
func (s *Store) ClaimPendingResponses(ctx context.Context, endpointURL string, limit int) ([]TransportResponse, error) {
	rows, err := s.db.Query(ctx, `SELECT `+responseColumns+` FROM transport_responses
		WHERE state = 'pending' AND endpoint_url = $1 ORDER BY created_at, id LIMIT $2
		FOR UPDATE SKIP LOCKED`, endpointURL, limit)
	return collectResponses(rows, err, "claim pending transport responses")
}

// SetResponseState records the outcome of a delivery attempt of the
// responses ids.
func (s *Store) SetResponseState(ctx context.Context, ids []string, state, lastError string) error {
	_, err := s.db.Exec(ctx, `UPDATE transport_responses SET state = $2, last_error = $3, attempts = attempts + 1
		WHERE id = ANY($1)`, ids, state, truncate(lastError, 2000))
	return normalise(err, "set transport response state")
}

// MessageResponses lists the transport responses of message id, oldest
// first.
func (s *Store) MessageResponses(ctx context.Context, messageID string) ([]TransportResponse, error) {
	if err := checkID(messageID, "list transport responses"); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+responseColumns+` FROM transport_responses
		WHERE message_id = $1 ORDER BY created_at, id`, messageID)
	return collectResponses(rows, err, "list transport responses")
}

// RetrievableResponses lists, oldest first, up to limit transport
// responses received for organisation orgID and not removed; unless all,
// only those not yet retrieved. It also returns how many match in all.
// The listed rows are marked retrieved.
func (s *Store) RetrievableResponses(ctx context.Context, orgID string, all bool, limit int) ([]TransportResponse, int, error) {
	if err := checkID(orgID, "retrieve transport responses"); err != nil {
		return nil, 0, err
	}
	const where = `organisation_id = $1 AND direction = 'received' AND removed_at IS NULL
		AND ($2 OR retrieved_at IS NULL)`
	var total int
	var out []TransportResponse
	err := s.WithTx(ctx, func(tx *Store) error {
		if err := tx.db.QueryRow(ctx, `SELECT count(*) FROM transport_responses WHERE `+where, orgID, all).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.db.Query(ctx, `UPDATE transport_responses SET retrieved_at = coalesce(retrieved_at, now())
			WHERE id IN (SELECT id FROM transport_responses WHERE `+where+` ORDER BY created_at, id LIMIT $3)
			RETURNING `+responseColumns, orgID, all, limit)
		out, err = collectResponses(rows, err, "retrieve transport responses")
		return err
	})
	sortResponses(out)
	return out, total, normalise(err, "retrieve transport responses")
}

// sortResponses restores oldest-first order (UPDATE … RETURNING has none).
func sortResponses(rs []TransportResponse) {
	slices.SortFunc(rs, func(a, b TransportResponse) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// ReceivedResponseByResponseID loads organisation orgID's received
// response responseID (removed or not).
func (s *Store) ReceivedResponseByResponseID(ctx context.Context, orgID, responseID string) (TransportResponse, error) {
	if err := checkID(orgID, "load transport response"); err != nil {
		return TransportResponse{}, err
	}
	r, err := scanResponse(s.db.QueryRow(ctx, `SELECT `+responseColumns+` FROM transport_responses
		WHERE organisation_id = $1 AND direction = 'received' AND response_id = $2`, orgID, responseID))
	return r, normalise(err, "load transport response")
}

// RemoveResponse marks received response id removed (TRR remove).
func (s *Store) RemoveResponse(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE transport_responses SET removed_at = coalesce(removed_at, now()) WHERE id = $1`, id)
	return normalise(err, "remove transport response")
}

// DeadLetter is something the pipeline gave up on.
type DeadLetter struct {
	ID             int64
	OrganisationID *string
	MessageID      *string
	Kind           string
	Reason         string
	CreatedAt      time.Time
}

// AddDeadLetter records a dead letter.
func (s *Store) AddDeadLetter(ctx context.Context, d DeadLetter) error {
	_, err := s.db.Exec(ctx, `INSERT INTO dead_letters (organisation_id, message_id, kind, reason) VALUES ($1, $2, $3, $4)`,
		d.OrganisationID, d.MessageID, d.Kind, truncate(d.Reason, 2000))
	return normalise(err, "add dead letter")
}

// DeadLetters lists the unresolved dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := s.db.Query(ctx, `SELECT id, organisation_id, message_id, kind, reason, created_at FROM dead_letters
		WHERE resolved_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, normalise(err, "list dead letters")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetter, error) {
		var d DeadLetter
		err := r.Scan(&d.ID, &d.OrganisationID, &d.MessageID, &d.Kind, &d.Reason, &d.CreatedAt)
		return d, err
	})
	return out, normalise(err, "list dead letters")
}

// JobCounts returns the number of River jobs by kind and state, for the
// queue-depth metric.
func (s *Store) JobCounts(ctx context.Context) (map[[2]string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job
		WHERE state IN ('available', 'running', 'retryable', 'scheduled') GROUP BY kind, state`)
	if err != nil {
		return nil, normalise(err, "count jobs")
	}
	out := map[[2]string]int{}
	var kind, state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&kind, &state, &n}, func() error {
		out[[2]string{kind, state}] = n
		return nil
	})
	return out, normalise(err, "count jobs")
}
