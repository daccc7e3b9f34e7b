package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestOrgKeys_OrderConflictAndRetire(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	o, err := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.OrganisationByHPIO(ctx, "8003620000000013"); err != nil || got.ID != o.ID {
		t.Fatalf("by HPI-O: %+v %v", got, err)
	}
	if _, err := st.OrganisationByHPIO(ctx, "8003620000000021"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown HPI-O: %v", err)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	key := func(cert string, activeFrom time.Time) store.OrgKey {
		return store.OrgKey{ID: uuid.NewString(), OrganisationID: o.ID, CertDER: []byte(cert), KeyEnc: bytes.Repeat([]byte{7}, 40),
			SKI: []byte{1, 2}, Subject: "CN=" + cert, NotBefore: t0, NotAfter: t0.Add(48 * time.Hour), ActiveFrom: activeFrom}
	}
	old, err := st.AddOrgKey(ctx, key("old", time.Time{}))
	if err != nil || old.ActiveFrom.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("add: active_from %v (want now: later than notBefore) %v", old.ActiveFrom, err)
	}
	next, err := st.AddOrgKey(ctx, key("next", t0.Add(2*time.Hour)))
	if err != nil || !next.ActiveFrom.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("add next: %v %v", next.ActiveFrom, err)
	}
	if _, err := st.AddOrgKey(ctx, key("old", time.Time{})); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same certificate twice: %v", err)
	}
	if _, err := st.AddOrgKey(ctx, store.OrgKey{ID: "x", OrganisationID: o.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
	keys, err := st.ActiveOrgKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != next.ID || keys[1].ID != old.ID {
		t.Fatalf("active keys: %+v %v", keys, err)
	}
	if err := st.SetOrgKeyActiveFrom(ctx, o.ID, old.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.ActiveOrgKeys(ctx); keys[0].ID != old.ID {
		t.Fatal("active_from change did not reorder")
	}
	if err := st.RetireOrgKey(ctx, o.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.RetireOrgKey(ctx, o.ID, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retire twice: %v", err)
	}
	if keys, _ := st.ActiveOrgKeys(ctx); len(keys) != 1 || keys[0].ID != next.ID {
		t.Fatalf("after retire: %+v", keys)
	}
}

func TestTrustAnchors_Idempotent(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	na := time.Now().Add(time.Hour)
	a, err := st.AddTrustAnchor(ctx, store.TrustAnchor{CertDER: []byte("ca"), Subject: "CN=ca", NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.AddTrustAnchor(ctx, store.TrustAnchor{CertDER: []byte("ca"), Subject: "CN=ca", NotAfter: na})
	if err != nil || b.ID != a.ID {
		t.Fatalf("re-add: %+v %v", b, err)
	}
	if list, err := st.TrustAnchors(ctx); err != nil || len(list) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestDirectoryEntries_UpsertAndChecks(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	e := store.DirectoryEntry{OrgURI: "urn:org:1", Name: "One", EndpointURL: "https://one.example/smd",
		EncryptionCertDER: []byte("cert"), ServiceCategories: []string{"urn:cat:a"}}
	first, err := st.UpsertDirectoryEntry(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	e.Name, e.ServiceCategories = "One renamed", []string{"urn:cat:a", "urn:cat:b"}
	second, err := st.UpsertDirectoryEntry(ctx, e)
	if err != nil || second.ID != first.ID || second.Name != "One renamed" || len(second.ServiceCategories) != 2 ||
		second.UpdatedAt.Before(first.UpdatedAt) {
		t.Fatalf("upsert: %+v %v", second, err)
	}
	if got, err := st.DirectoryEntryByOrgURI(ctx, "urn:org:1"); err != nil || got.Name != "One renamed" {
		t.Fatalf("load: %+v %v", got, err)
	}
	if _, err := st.DirectoryEntryByOrgURI(ctx, "urn:org:2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	// The schema refuses what the provider layer validates, as a backstop.
	for name, bad := range map[string]func(*store.DirectoryEntry){
		"http endpoint":  func(d *store.DirectoryEntry) { d.EndpointURL = "http://x.example" },
		"no categories":  func(d *store.DirectoryEntry) { d.ServiceCategories = []string{} },
		"empty category": func(d *store.DirectoryEntry) { d.ServiceCategories = []string{""} },
		"empty name":     func(d *store.DirectoryEntry) { d.Name = " " },
		"empty cert":     func(d *store.DirectoryEntry) { d.EncryptionCertDER = []byte{} },
	} {
		d := e
		d.OrgURI = "urn:org:" + name
		bad(&d)
		if _, err := st.UpsertDirectoryEntry(ctx, d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
