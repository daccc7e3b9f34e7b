package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func newMessage(orgID, direction, sender, invocation, status string) store.Message {
	return store.Message{ID: uuid.NewString(), OrganisationID: orgID, Direction: direction, InvocationID: invocation,
		SenderOrgURI: sender, ReceiverOrgURI: "urn:receiver", ServiceCategory: "urn:category", Status: status,
		ExpiresAt: time.Now().Add(time.Hour), Sealed: []byte("<sealed/>")}
}

// The duplicate rule: one row per (direction, sender, invocationId); the
// same invocationId from another sender, or in the other direction (a
// message between two organisations of this provider), is a new row.
func TestInsertMessage_Dedupe(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	org, err := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    store.Message
		want bool
	}{
		{newMessage(org.ID, store.Inbound, "urn:a", "urn:uuid:1", store.StatusReceived), true},
		{newMessage(org.ID, store.Inbound, "urn:a", "urn:uuid:1", store.StatusReceived), false},
		{newMessage(org.ID, store.Inbound, "urn:b", "urn:uuid:1", store.StatusReceived), true},
		{newMessage(org.ID, store.Outbound, "urn:a", "urn:uuid:1", store.StatusQueued), true},
	} {
		got, err := st.InsertMessage(ctx, c.m)
		if err != nil || got != c.want {
			t.Fatalf("insert %s %s %s: %v %v, want %v", c.m.Direction, c.m.SenderOrgURI, c.m.InvocationID, got, err, c.want)
		}
	}
	msgs, events, err := st.OrgMessages(ctx, org.ID, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("messages: %d %v", len(msgs), err)
	}
	for _, m := range msgs {
		if len(events[m.ID]) != 1 || m.Sealed != nil {
			t.Errorf("message %s: %d events, sealed %q (summary must omit it)", m.ID, len(events[m.ID]), m.Sealed)
		}
	}
}

// Statuses only move forward: a late "sent" after "delivered" changes
// nothing, and concurrent transitions from one status let exactly one win.
func TestTransition_Guarded(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	org, _ := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	m := newMessage(org.ID, store.Outbound, "urn:a", "urn:uuid:2", store.StatusQueued)
	if _, err := st.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			moved, err := st.Transition(ctx, m.ID, []string{store.StatusQueued, store.StatusSent}, store.StatusDelivered, "done")
			if err != nil {
				t.Error(err)
			}
			wins <- moved
		})
	}
	wg.Wait()
	close(wins)
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d transitions won, want 1", n)
	}
	if moved, err := st.Transition(ctx, m.ID, []string{store.StatusQueued}, store.StatusSent, "late"); err != nil || moved {
		t.Fatalf("late sent: moved=%v err=%v", moved, err)
	}
	got, err := st.Message(ctx, m.ID)
	if err != nil || got.Status != store.StatusDelivered || got.FinalAt == nil || got.SentAt != nil {
		t.Fatalf("message: %+v %v", got, err)
	}
	_, events, _ := st.OrgMessages(ctx, org.ID, 10)
	var statuses []string
	for _, e := range events[m.ID] {
		statuses = append(statuses, e.Status)
	}
	if !slices.Equal(statuses, []string{"queued", "delivered"}) {
		t.Fatalf("timeline %v", statuses)
	}
}

// Pending responses for one endpoint are claimed by one transaction at a
// time (SKIP LOCKED): two concurrent claimers never get the same row.
func TestClaimPendingResponses_Exclusive(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	org, _ := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	m := newMessage(org.ID, store.Inbound, "urn:a", "urn:uuid:3", store.StatusReceived)
	if _, err := st.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		r := store.TransportResponse{ID: uuid.NewString(), MessageID: m.ID, OrganisationID: org.ID,
			Direction: store.ResponseSent, ResponseID: uuid.NewString(), SourceOrgURI: "urn:receiver", Class: "Success",
			Code: "urn:ok", Message: "ok", Final: true, ResponseTime: time.Now(), XML: []byte("<r/>"),
			EndpointURL: "https://peer/smd", State: store.ResponsePending}
		if i == 5 {
			r.EndpointURL = "https://other/smd"
		}
		if ok, err := st.InsertResponse(ctx, r); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if ok, _ := st.InsertResponse(ctx, r); ok {
			t.Fatal("same responseId and endpoint inserted twice")
		}
	}
	held := make(chan struct{})
	release := make(chan struct{})
	var first []store.TransportResponse
	go func() {
		_ = st.WithTx(ctx, func(tx *store.Store) error {
			first, _ = tx.ClaimPendingResponses(ctx, "https://peer/smd", 3)
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	var second []store.TransportResponse
	err := st.WithTx(ctx, func(tx *store.Store) error {
		var err error
		second, err = tx.ClaimPendingResponses(ctx, "https://peer/smd", 10)
		return err
	})
	close(release)
	if err != nil || len(first) != 3 || len(second) != 2 {
		t.Fatalf("claims %d and %d (%v), want 3 and 2", len(first), len(second), err)
	}
	for _, r := range second {
		if slices.ContainsFunc(first, func(f store.TransportResponse) bool { return f.ID == r.ID }) {
			t.Fatalf("response %s claimed twice", r.ID)
		}
	}
}

// TRR: retrieve marks listed responses retrieved; later retrieves omit
// them unless allAvailable; removed ones are never listed.
func TestRetrievableResponses(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	org, _ := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	m := newMessage(org.ID, store.Outbound, "urn:a", "urn:uuid:4", store.StatusSent)
	if _, err := st.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		r := store.TransportResponse{ID: uuid.NewString(), MessageID: m.ID, OrganisationID: org.ID,
			Direction: store.ResponseReceived, ResponseID: uuid.NewString(), SourceOrgURI: "urn:receiver",
			Class: "Information", Code: "urn:x", Message: "x", ResponseTime: time.Now(), XML: []byte("<r/>")}
		if _, err := st.InsertResponse(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ResponseID)
	}
	got, total, err := st.RetrievableResponses(ctx, org.ID, false, 2)
	if err != nil || len(got) != 2 || total != 3 || got[0].ResponseID != ids[0] || got[0].RetrievedAt == nil {
		t.Fatalf("first page: %d of %d %v", len(got), total, err)
	}
	got, total, _ = st.RetrievableResponses(ctx, org.ID, false, 10)
	if len(got) != 1 || total != 1 || got[0].ResponseID != ids[2] {
		t.Fatalf("second retrieve: %d of %d", len(got), total)
	}
	r, err := st.ReceivedResponseByResponseID(ctx, org.ID, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveResponse(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	got, total, _ = st.RetrievableResponses(ctx, org.ID, true, 10)
	if len(got) != 2 || total != 2 {
		t.Fatalf("all available after remove: %d of %d", len(got), total)
	}
}

// Eight deliveries of the same answer at once add its event once.
func TestAddMessageEventOnce_Concurrent(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	org, _ := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	m := newMessage(org.ID, store.Outbound, "urn:a", "urn:uuid:3", store.StatusDelivered)
	if _, err := st.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	added := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			err := st.WithTx(ctx, func(tx *store.Store) error {
				ok, err := tx.AddMessageEventOnce(ctx, m.ID, store.ClinicalRead, "Opened by the receiver")
				added <- ok
				// Hold the transaction open, as a delivery does while it
				// finishes, so the others run while it is uncommitted.
				time.Sleep(50 * time.Millisecond)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(added)
	n := 0
	for ok := range added {
		if ok {
			n++
		}
	}
	events, err := st.MessageEvents(ctx, org.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, e := range events {
		if e.Status == store.ClinicalRead {
			reads++
		}
	}
	if n != 1 || reads != 1 {
		t.Errorf("%d calls added the event and %d read events stored, want 1 and 1", n, reads)
	}
}
