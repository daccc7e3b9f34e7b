package mailbox

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/store"
)

// Draft is a draft opened: its form and files.
type Draft struct {
	ID                   string
	Form                 Form
	Files                []File
	CreatedAt, UpdatedAt time.Time
}

func draftAD(id string) []byte      { return []byte("drafts/" + id) }
func attachmentAD(id string) []byte { return []byte("draft_attachments/" + id) }

// SaveDraft saves f as author u's draft id (a new draft when id is "")
// and adds files to it, in one transaction; it returns the draft's ID.
// A new draft is audited as message.composed.
func (s *Service) SaveDraft(ctx context.Context, orgID string, u InboxUser, id string, f Form, files []File) (string, error) {
	kind := f.Kind
	if !slices.Contains(Kinds, kind) {
		kind = store.KindReferral // the sealed form keeps what was chosen
	}
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		if id != "" {
			if err := tx.UpdateDraft(ctx, orgID, u.ID, id, kind, s.box.Seal(b, draftAD(id))); err != nil {
				return err
			}
		} else {
			id = uuid.NewString()
			if _, err := tx.CreateDraft(ctx, store.Draft{ID: id, OrganisationID: orgID, AuthorUserID: u.ID, Kind: kind,
				FormEnc: s.box.Seal(b, draftAD(id))}); err != nil {
				return err
			}
			if err := tx.Audit(ctx, store.AuditEvent{OrganisationID: orgID, UserID: u.ID, IP: u.IP,
				Action: "message.composed", Detail: map[string]string{"draft_id": id, "kind": kind}}); err != nil {
				return err
			}
		}
		for _, file := range files {
			aid := uuid.NewString()
			if err := tx.AddDraftAttachment(ctx, orgID, u.ID, store.DraftAttachment{ID: aid, DraftID: id,
				Filename: file.Name, ContentType: file.Type, Size: len(file.Data),
				DataEnc: s.box.Seal(file.Data, attachmentAD(aid))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// OpenDraft loads author u's draft id with its files. Another user's or
// organisation's draft is not found.
func (s *Service) OpenDraft(ctx context.Context, orgID, authorID, id string) (Draft, error) {
	d, err := s.st.Draft(ctx, orgID, authorID, id)
	if err != nil {
		return Draft{}, err
	}
	out := Draft{ID: d.ID, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	b, err := s.box.Open(d.FormEnc, draftAD(d.ID))
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(b, &out.Form); err != nil {
		return out, err
	}
	atts, err := s.st.DraftAttachments(ctx, orgID, authorID, id)
	if err != nil {
		return out, err
	}
	for _, a := range atts {
		data, err := s.box.Open(a.DataEnc, attachmentAD(a.ID))
		if err != nil {
			return out, err
		}
		out.Files = append(out.Files, File{ID: a.ID, Name: a.Filename, Type: a.ContentType, Data: data})
	}
	return out, nil
}

// DraftEntry is one line of the drafts list.
type DraftEntry struct {
	ID        string
	Form      Form
	UpdatedAt time.Time
}

// Drafts lists author authorID's drafts, latest change first.
func (s *Service) Drafts(ctx context.Context, orgID, authorID string) ([]DraftEntry, error) {
	ds, err := s.st.Drafts(ctx, orgID, authorID)
	if err != nil {
		return nil, err
	}
	out := make([]DraftEntry, len(ds))
	for i, d := range ds {
		b, err := s.box.Open(d.FormEnc, draftAD(d.ID))
		if err != nil {
			return nil, err
		}
		out[i] = DraftEntry{ID: d.ID, UpdatedAt: d.UpdatedAt}
		if err := json.Unmarshal(b, &out[i].Form); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteDraft deletes author u's draft id and its files.
func (s *Service) DeleteDraft(ctx context.Context, orgID string, u InboxUser, id string) error {
	return s.st.DeleteDraft(ctx, orgID, u.ID, id)
}

// RemoveFile removes file fileID from author u's draft id.
func (s *Service) RemoveFile(ctx context.Context, orgID string, u InboxUser, id, fileID string) error {
	return s.st.RemoveDraftAttachment(ctx, orgID, u.ID, id, fileID)
}
