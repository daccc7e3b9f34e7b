package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Draft is a message being composed (migration 009). Its form is sealed by
// the mailbox; the store never sees it in clear. Drafts are their
// author's own: every query is scoped by organisation and author.
type Draft struct {
	ID             string
	OrganisationID string
	AuthorUserID   string
	Kind           string
	FormEnc        []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DraftAttachment is one sealed file of a draft.
type DraftAttachment struct {
	ID          string
	DraftID     string
	Filename    string
	ContentType string
	Size        int
	DataEnc     []byte
	CreatedAt   time.Time
}

const draftColumns = `id, organisation_id, author_user_id, kind, form_enc, created_at, updated_at`

func scanDraft(row pgx.Row) (Draft, error) {
	var d Draft
	err := row.Scan(&d.ID, &d.OrganisationID, &d.AuthorUserID, &d.Kind, &d.FormEnc, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// CreateDraft inserts d with its ID chosen by the caller (the sealed form
// is bound to it) and returns it as stored.
func (s *Store) CreateDraft(ctx context.Context, d Draft) (Draft, error) {
	if err := checkID(d.ID, "create draft"); err != nil {
		return d, err
	}
	out, err := scanDraft(s.db.QueryRow(ctx, `INSERT INTO drafts (id, organisation_id, author_user_id, kind, form_enc)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+draftColumns, d.ID, d.OrganisationID, d.AuthorUserID, d.Kind, d.FormEnc))
	return out, normalise(err, "create draft")
}

// UpdateDraft replaces the kind and sealed form of draft id of its author.
func (s *Store) UpdateDraft(ctx context.Context, orgID, authorID, id, kind string, formEnc []byte) error {
	if err := checkID(id, "update draft"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE drafts SET kind = $4, form_enc = $5
		WHERE organisation_id = $1 AND author_user_id = $2 AND id = $3`, orgID, authorID, id, kind, formEnc)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("update draft: %w", ErrNotFound)
	}
	return normalise(err, "update draft")
}

// Draft loads draft id of its author.
func (s *Store) Draft(ctx context.Context, orgID, authorID, id string) (Draft, error) {
	if err := checkID(id, "load draft"); err != nil {
		return Draft{}, err
	}
	d, err := scanDraft(s.db.QueryRow(ctx, `SELECT `+draftColumns+` FROM drafts
		WHERE organisation_id = $1 AND author_user_id = $2 AND id = $3`, orgID, authorID, id))
	return d, normalise(err, "load draft")
}

// Drafts lists the author's drafts, latest change first.
func (s *Store) Drafts(ctx context.Context, orgID, authorID string) ([]Draft, error) {
	rows, err := s.db.Query(ctx, `SELECT `+draftColumns+` FROM drafts
		WHERE organisation_id = $1 AND author_user_id = $2 ORDER BY updated_at DESC, id`, orgID, authorID)
	if err != nil {
		return nil, normalise(err, "list drafts")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Draft, error) { return scanDraft(r) })
	return out, normalise(err, "list drafts")
}

// DeleteDraft deletes draft id of its author with its attachments. A
// draft already deleted (sent in another request) is ErrNotFound: the
// row lock makes a concurrent second delete wait and then find nothing.
func (s *Store) DeleteDraft(ctx context.Context, orgID, authorID, id string) error {
	if err := checkID(id, "delete draft"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `DELETE FROM drafts WHERE organisation_id = $1 AND author_user_id = $2 AND id = $3`,
		orgID, authorID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("delete draft: %w", ErrNotFound)
	}
	return normalise(err, "delete draft")
}

const draftAttachmentColumns = `a.id, a.draft_id, a.filename, a.content_type, a.size, a.data_enc, a.created_at`

// AddDraftAttachment adds sealed file a (ID chosen by the caller) to its
// draft, which must be the author's.
func (s *Store) AddDraftAttachment(ctx context.Context, orgID, authorID string, a DraftAttachment) error {
	if err := checkID(a.ID, "add draft attachment"); err != nil {
		return err
	}
	if err := checkID(a.DraftID, "add draft attachment"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO draft_attachments (id, draft_id, filename, content_type, size, data_enc)
		SELECT $4, id, $5, $6, $7, $8 FROM drafts WHERE organisation_id = $1 AND author_user_id = $2 AND id = $3`,
		orgID, authorID, a.DraftID, a.ID, a.Filename, a.ContentType, a.Size, a.DataEnc)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("add draft attachment: draft %w", ErrNotFound)
	}
	return normalise(err, "add draft attachment")
}

// RemoveDraftAttachment deletes attachment id of the author's draft.
func (s *Store) RemoveDraftAttachment(ctx context.Context, orgID, authorID, draftID, id string) error {
	if err := checkID(draftID, "remove draft attachment"); err != nil {
		return err
	}
	if err := checkID(id, "remove draft attachment"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `DELETE FROM draft_attachments a USING drafts d
		WHERE d.id = a.draft_id AND d.organisation_id = $1 AND d.author_user_id = $2 AND d.id = $3 AND a.id = $4`,
		orgID, authorID, draftID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("remove draft attachment: %w", ErrNotFound)
	}
	return normalise(err, "remove draft attachment")
}

// DraftAttachments lists the files of the author's draft, oldest first.
func (s *Store) DraftAttachments(ctx context.Context, orgID, authorID, draftID string) ([]DraftAttachment, error) {
	if err := checkID(draftID, "list draft attachments"); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+draftAttachmentColumns+` FROM draft_attachments a
		JOIN drafts d ON d.id = a.draft_id
		WHERE d.organisation_id = $1 AND d.author_user_id = $2 AND d.id = $3 ORDER BY a.created_at, a.id`,
		orgID, authorID, draftID)
	if err != nil {
		return nil, normalise(err, "list draft attachments")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DraftAttachment, error) {
		var a DraftAttachment
		err := r.Scan(&a.ID, &a.DraftID, &a.Filename, &a.ContentType, &a.Size, &a.DataEnc, &a.CreatedAt)
		return a, err
	})
	return out, normalise(err, "list draft attachments")
}
