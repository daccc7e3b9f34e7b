package mailbox

import (
	"context"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// Reply is something an organisation sent back about a message it
// received (the HL7 ACK, the read acknowledgement, its answer to a
// referral), and how far it got. Staff see these on the message, so that
// an answer that never reached the sender does not pass for one that did.
type Reply struct {
	ID, Kind string
	// Status is the transport status: queued, sent, delivered or failed.
	Status string
	At     time.Time // its latest change
	// Failure says why it did not get through and what to do (nil unless
	// Status is failed).
	Failure *Failure
}

// Replies lists what organisation orgID sent back about its received
// message id, oldest first.
func (s *Service) Replies(ctx context.Context, orgID, id string) ([]Reply, error) {
	items, err := s.st.RepliesTo(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	out := make([]Reply, len(items))
	for i, it := range items {
		out[i] = Reply{ID: it.MessageID, Kind: it.Kind, Status: it.Status, At: it.ChangedAt}
		if it.Status == store.StatusFailed {
			out[i].Failure = &Failure{What: it.StatusDetail, Todo: replyAdvice(it.StatusDetail), Retry: true}
		}
	}
	return out, nil
}

// replyAdvice is what to do about a reply that failed: unlike a sent
// message it can only go back to its sender, so "another endpoint" is not
// an option.
func replyAdvice(detail string) string {
	const phone = " If it still fails, phone the sender to tell them."
	for _, x := range []string{"directory has no entry", "cannot receive this type", "encryption certificate"} {
		if strings.Contains(detail, x) {
			return "The directory has no usable secure-messaging address for the sender: ask an administrator to import or update their directory entry, then retry." + phone
		}
	}
	return "Retry; the problem may have been temporary." + phone
}

// RetryReply queues organisation orgID's failed reply replyID about its
// received message id again (pipeline RetryTx, new invocationId), audited
// as message.retried in the same transaction. A reply to another message
// is not found; one that has not failed is refused with
// pipeline.ErrNotFailed.
func (s *Service) RetryReply(ctx context.Context, orgID, id, replyID string, u InboxUser) error {
	replies, err := s.Replies(ctx, orgID, id)
	if err != nil {
		return err
	}
	for _, r := range replies {
		if r.ID != replyID {
			continue
		}
		return s.st.WithTx(ctx, func(tx *store.Store) error {
			if err := s.pipe.RetryTx(ctx, tx, orgID, replyID); err != nil {
				return err
			}
			return s.audit(ctx, tx, orgID, u, "message.retried", replyID, map[string]string{"answers": id})
		})
	}
	return store.ErrNotFound
}
