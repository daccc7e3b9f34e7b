package web_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/secretbox"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

var inboxCA = sync.OnceValues(func() (*pki.CA, error) { return pki.NewCA("Inbox Test CA", pki.Options{}) })

// hostedOrg is b.org for an organisation that can send by SMD (a signing
// certificate), so answers can be queued.
func (b *testBundle) hostedOrg(t *testing.T, name, hpioBody string) (store.Organisation, map[string]store.User) {
	t.Helper()
	ctx := context.Background()
	ca, err := inboxCA()
	if err != nil {
		t.Fatal(err)
	}
	uri := ns.QualifierHPIO + hi.WithCheckDigit(hpioBody)
	cert, key, err := ca.Issue(pki.Request{OrgURI: uri, Name: name, Usage: pki.UsageAll}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.AddTrustAnchor(ctx, b.store, pki.EncodeCertPEM(ca.Cert)); err != nil && !strings.Contains(err.Error(), "already") {
		t.Fatal(err)
	}
	o, err := provider.AddOrg(ctx, b.store, b.secret, uri, name, pki.EncodeCertPEM(cert), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	users := b.roleUsers(t, o, hpioBody)
	// The key is active from now; the pipeline signs on the test clock.
	b.clock.Add(time.Minute)
	return o, users
}

func orgURI(o store.Organisation) string { return ns.QualifierHPIO + o.HPIO }

// receive delivers payload from organisation fromURI into org's inbox the
// way the pipeline does: the message row, then the mailbox's Delivered in
// the same transaction.
func (b *testBundle) receive(t *testing.T, org store.Organisation, fromURI string, payload []byte) string {
	t.Helper()
	ctx := context.Background()
	box, err := secretbox.NewSealer(secretbox.DeriveKey(b.secret, "message payloads"))
	if err != nil {
		t.Fatal(err)
	}
	m := store.Message{ID: uuid.NewString(), OrganisationID: org.ID, Direction: store.Inbound,
		InvocationID: "urn:uuid:" + uuid.NewString(), SenderOrgURI: fromURI, ReceiverOrgURI: orgURI(org),
		ServiceCategory: "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706", Status: store.StatusDelivered,
		StatusDetail: "Delivered", PayloadSize: len(payload), PayloadType: "application/hl7-v2", ExpiresAt: time.Now().Add(time.Hour)}
	m.PayloadEnc = box.Seal(payload, []byte("messages/"+m.ID))
	err = b.store.WithTx(ctx, func(tx *store.Store) error {
		if _, err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		return b.mail.Delivered(ctx, tx, m, payload)
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

var testPDF = []byte("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n")

type refOpts struct {
	family, given, medicare, text, controlID string
	noAck                                    bool
}

func testReferral(t *testing.T, from, to store.Organisation, o refOpts) []byte {
	t.Helper()
	now := time.Now()
	b, err := hl7.Referral(hl7.ReferralInput{
		Header: hl7.Header{SendingFacility: hl7.HPIO(from.HPIO), ReceivingFacility: hl7.HPIO(to.HPIO), Time: now, ControlID: o.controlID},
		Reason: "Knee pain", Priority: "R", Effective: now, Expiry: now.AddDate(0, 6, 0),
		Referrer:   hl7.Provider{Family: "Button", Given: "Henry", Title: "Dr"},
		ReferredTo: hl7.Provider{Family: "Smith", Given: "Jane"},
		Patient: hl7.Patient{Family: o.family, Given: o.given, Medicare: o.medicare, Sex: "F",
			DOB: time.Date(1977, 1, 1, 0, 0, 0, 0, time.UTC), IHI: "8003608166690503"},
		ClinicalText: o.text,
		Attachments:  []hl7.Attachment{{MediaType: "application/pdf", Data: testPDF}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.noAck {
		b = bytes.Replace(b, []byte("|NE|AL|AUS"), []byte("|NE|NE|AUS"), 1)
	}
	return b
}

var unreadBadge = regexp.MustCompile(`data-testid="unread">(\d+)<`)

func badge(p page) string {
	if m := unreadBadge.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return "0"
}

func rows(p page) int { return strings.Count(p.body, `data-testid="inbox-row"`) }

func TestInbox_ListFiltersUnreadAndEscaping(t *testing.T) {
	b := setup(t)
	a, usersA := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, _ := b.hostedOrg(t, "GP Clinic", "800362000000102")
	ref := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Atwood", given: "Abbi", medicare: "2950974202",
		text: "Knee\n<b>swollen</b>", controlID: "R1"}))
	b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Brown", given: "Bob", controlID: "R2"}))
	xss := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: `<script>alert("x")</script>`, given: "Eve",
		text: `<img src=x onerror=alert(1)>`, controlID: "R3"}))
	// Each received referral queued its application ACK (MSH-16 AL).
	var acks int
	_ = b.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM documents WHERE kind = 'ack' AND organisation_id = $1`, a.ID).Scan(&acks)
	if acks != 3 {
		t.Errorf("%d ACKs queued, want 3", acks)
	}

	br := b.browser(t)
	br.login(usersA["clinician"])
	p := br.get("/inbox")
	if p.status != http.StatusOK || rows(p) != 3 || badge(p) != "3" {
		t.Fatalf("inbox: status %d, %d rows, badge %s", p.status, rows(p), badge(p))
	}
	if lower := strings.ToLower(p.body); strings.Contains(lower, `<script>alert(`) || !strings.Contains(lower, `&lt;script&gt;alert(`) {
		t.Error("patient name not escaped in the inbox")
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"patient=atwood", 1},
		{"patient=abbi+atwood", 1},
		{"patient=2950+974", 1},
		{"patient=nobody", 0},
		{"sender=gp+clinic", 3},
		{"sender=elsewhere", 0},
		{"kind=referral", 3},
		{"kind=report", 0},
		{"status=unread", 3},
		{"status=accepted", 0},
		{"since=" + time.Now().Format("2006-01-02"), 3},
		{"before=" + time.Now().AddDate(0, 0, -1).Format("2006-01-02"), 0},
		{"assigned=me", 0},
	} {
		if got := rows(br.get("/inbox?" + tc.query)); got != tc.want {
			t.Errorf("/inbox?%s: %d rows, want %d", tc.query, got, tc.want)
		}
	}
	bad := br.get("/inbox?since=24%2F11%2F2026&patient=atwood")
	if !strings.Contains(bad.body, `aria-invalid="true"`) || !strings.Contains(bad.body, "Enter a date like") ||
		!strings.Contains(bad.body, `value="24/11/2026"`) || !strings.Contains(bad.body, `value="atwood"`) {
		t.Error("a bad date is not reported on the field with what was typed")
	}
	// "More filters" folds away until one of its filters is in use or wrong.
	moreOpen := func(body string) bool { return strings.Contains(body, `data-testid="more-filters" open`) }
	if moreOpen(p.body) || moreOpen(br.get("/inbox?patient=atwood").body) || !moreOpen(br.get("/inbox?status=unread").body) || !moreOpen(bad.body) {
		t.Error(`"More filters" is not open exactly when one of its filters is set or wrong`)
	}
	// The live-refresh fragment keeps the filters and is only rows.
	frag := br.get("/inbox/rows?patient=atwood")
	if frag.status != http.StatusOK || rows(frag) != 1 || strings.Contains(frag.body, "<html") {
		t.Errorf("fragment: %d, %d rows", frag.status, rows(frag))
	}
	filtered := br.get("/inbox?patient=atwood").body
	if !strings.Contains(p.body, `hx-get="/inbox/rows?v=`) || !strings.Contains(filtered, `hx-get="/inbox/rows?patient=atwood&amp;v=`) {
		t.Error("the live refresh does not carry the filters and the rows' version")
	}
	// The page itself ignores a version: it always has its rows.
	if v := regexp.MustCompile(`hx-get="/inbox/rows\?v=([0-9a-f]+)"`).FindStringSubmatch(p.body); v == nil {
		t.Error("no version on the live rows")
	} else if pg := br.get("/inbox?v=" + v[1]); pg.status != http.StatusOK || rows(pg) != 3 {
		t.Errorf("/inbox?v=<current>: %d, %d rows", pg.status, rows(pg))
	}
	// A poll naming the rows shown swaps nothing (204): focus and clicks
	// on a row survive it. Other rows are sent with their own version.
	poll := html.UnescapeString(regexp.MustCompile(`hx-get="(/inbox/rows\?patient=atwood[^"]*)"`).FindStringSubmatch(filtered)[1])
	if r := br.get(poll); r.status != http.StatusNoContent {
		t.Errorf("poll with the current version: %d, want 204", r.status)
	}
	if r := br.get("/inbox/rows?patient=atwood&v=0000"); r.status != http.StatusOK || rows(r) != 1 || !strings.Contains(r.body, `hx-swap="outerHTML"`) {
		t.Errorf("poll with an old version: %d, %d rows", r.status, rows(r))
	}

	// Opening: banner, clinical text escaped, read, badge down, read ack.
	v := br.get("/inbox/" + ref)
	for _, want := range []string{"ATWOOD, Abbi", "1 Jan 1977", "Female", "2950974202", "8003608166690503",
		"Dr Henry Button", "Jane Smith", "Knee pain", "&lt;b&gt;swollen&lt;/b&gt;", "attachment-1.pdf"} {
		if !strings.Contains(v.body, want) {
			t.Errorf("viewer lacks %q", want)
		}
	}
	if badge(v) != "2" {
		t.Errorf("badge after opening %s, want 2", badge(v))
	}
	if x := strings.ToLower(br.get("/inbox/" + xss).body); strings.Contains(x, "<img src=x") || strings.Contains(x, `<script>alert(`) ||
		!strings.Contains(x, "&lt;img src=x") {
		t.Error("clinical text or patient name not escaped in the viewer")
	}
	var readAcks int
	_ = b.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM documents WHERE kind = 'read_ack' AND answers = $1`, ref).Scan(&readAcks)
	if readAcks != 1 {
		t.Errorf("%d read acknowledgements, want 1", readAcks)
	}
	if got := rows(br.get("/inbox?status=read")); got != 2 {
		t.Errorf("read filter: %d rows, want 2", got)
	}
	src := br.get("/inbox/" + xss + "/source")
	if !strings.Contains(src.body, "MSH|^~\\&amp;|") || strings.Contains(src.body, "<script>alert") {
		t.Error("source is not the escaped HL7")
	}
	pr := br.get("/inbox/" + ref + "/print")
	if pr.status != http.StatusOK || !strings.Contains(pr.body, "ATWOOD, Abbi") {
		t.Errorf("print: %d", pr.status)
	}
	if n := auditCount(t, b, a.ID, "message.printed"); n != 1 {
		t.Errorf("%d message.printed events, want 1", n)
	}
	if n := auditCount(t, b, a.ID, "message.viewed"); n != 3 { // two openings and the source
		t.Errorf("%d message.viewed events, want 3", n)
	}
}

func auditCount(t *testing.T, b *testBundle, orgID, action string) int {
	t.Helper()
	var n int
	if err := b.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE organisation_id = $1 AND action = $2`,
		orgID, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInbox_AttachmentHeaders(t *testing.T) {
	b := setup(t)
	a, users := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, _ := b.hostedOrg(t, "GP Clinic", "800362000000102")
	id := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Atwood", controlID: "R1", noAck: true}))
	br := b.browser(t)
	br.login(users["reception"])
	if v := br.get("/inbox/" + id + "?view=1"); !strings.Contains(v.body, `<iframe class="pdf"`) ||
		!strings.Contains(v.body, `src="/inbox/`+id+`/attachments/1?inline=1"`) {
		t.Error("no inline PDF frame")
	}
	for _, tc := range []struct {
		path, typ, disp string
	}{
		{"/attachments/1?inline=1", "application/pdf", `inline; filename="attachment-1.pdf"`},
		{"/attachments/1", "application/octet-stream", `attachment; filename="attachment-1.pdf"`},
	} {
		resp, err := br.http.Get(b.srv.URL + "/inbox/" + id + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body := readPage(t, resp)
		h := resp.Header
		if body.status != 200 || h.Get("Content-Type") != tc.typ || h.Get("Content-Disposition") != tc.disp ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") ||
			body.body != string(testPDF) {
			t.Errorf("%s: %d %q %q nosniff=%q csp=%q", tc.path, body.status, h.Get("Content-Type"), h.Get("Content-Disposition"),
				h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
		}
	}
	if p := br.get("/inbox/" + id + "/attachments/2"); p.status != http.StatusNotFound {
		t.Errorf("missing attachment: %d", p.status)
	}
	if n := auditCount(t, b, a.ID, "attachment.downloaded"); n != 2 {
		t.Errorf("%d attachment.downloaded events, want 2", n)
	}
	// MSH-16 NE: opening sent no read acknowledgement, and no ACK went.
	var answers int
	_ = b.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM documents WHERE answers = $1`, id).Scan(&answers)
	if answers != 0 {
		t.Errorf("%d answers to a message with MSH-16 NE", answers)
	}
}

// postForm posts a form from the message page (its CSRF token) and
// returns the answer.
func postFrom(br *browser, id, action string, form url.Values) page {
	br.t.Helper()
	return br.post("/inbox/"+id, "/inbox/"+id+"/"+action, form)
}

func TestInbox_ActionsAndAnswers(t *testing.T) {
	b := setup(t)
	a, users := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, _ := b.hostedOrg(t, "GP Clinic", "800362000000102")
	id := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Atwood", controlID: "R1"}))
	br := b.browser(t)
	br.login(users["clinician"])

	// A decline needs a reason; what was typed elsewhere stays.
	p := postFrom(br, id, "respond", url.Values{"status": {"declined"}, "reason": {"  "}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="reason-error"`) ||
		!regexp.MustCompile(`id="reason"[^>]*aria-invalid="true"`).MatchString(p.body) {
		t.Errorf("decline without reason: %d", p.status)
	}
	p = postFrom(br, id, "respond", url.Values{"status": {"more_info"}, "question": {""}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="question-error"`) {
		t.Errorf("more info without question: %d", p.status)
	}
	// More information, then accept; then no third answer.
	if p = postFrom(br, id, "respond", url.Values{"status": {"more_info"}, "question": {"Please send the X-ray"}}); p.status != http.StatusSeeOther {
		t.Fatalf("more info: %d", p.status)
	}
	if p = postFrom(br, id, "respond", url.Values{"status": {"accepted"}}); p.status != http.StatusSeeOther {
		t.Fatalf("accept: %d", p.status)
	}
	v := br.get("/inbox/" + id)
	if !strings.Contains(v.body, "Referral accepted") || strings.Contains(v.body, "Accept referral</button>") {
		t.Error("the viewer does not show the referral as accepted")
	}
	postFrom(br, id, "respond", url.Values{"status": {"declined"}, "reason": {"changed my mind"}})
	if d, _ := b.store.Document(context.Background(), a.ID, id); d.ClinicalStatus != store.ClinicalAccepted {
		t.Errorf("status %q after a third answer, want accepted", d.ClinicalStatus)
	}
	var rris int
	_ = b.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM documents WHERE kind = 'referral_response' AND answers = $1`, id).Scan(&rris)
	if rris != 2 {
		t.Errorf("%d RRIs queued, want 2", rris)
	}
	if auditCount(t, b, a.ID, "message.accepted") != 1 || auditCount(t, b, a.ID, "message.more_info") != 1 ||
		auditCount(t, b, a.ID, "message.declined") != 0 {
		t.Error("answers not audited once each")
	}

	// Reply: a non-PDF is refused on its field with the text kept; a PDF goes.
	p = br.postMultipart("/inbox/"+id, "/inbox/"+id+"/reply", map[string]string{"reply_text": "See attached letter"}, upload{"document", "letter.pdf", []byte("GIF89a not a pdf")})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="document-error"`) || !strings.Contains(p.body, "See attached letter") {
		t.Errorf("reply with a non-PDF: %d", p.status)
	}
	if p = br.postMultipart("/inbox/"+id, "/inbox/"+id+"/reply", map[string]string{"reply_text": "See attached letter"}, upload{"document", "letter.pdf", testPDF}); p.status != http.StatusSeeOther {
		t.Errorf("reply: %d", p.status)
	}
	if auditCount(t, b, a.ID, "message.sent") != 1 {
		t.Error("reply not audited")
	}

	// Forward to a hosted listing; an unknown listing is refused on the field.
	if p = postFrom(br, id, "forward", url.Values{"listing": {uuid.NewString()}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "not in the directory") {
		t.Errorf("forward to an unknown listing: %d", p.status)
	}
	l, err := b.store.UpsertListing(context.Background(), store.Listing{Kind: store.ListingOrganisation, OrgURI: orgURI(gp),
		OrgName: "GP Clinic", Name: "GP Clinic", Source: store.SourceHosted, SourceRef: gp.ID, PayloadTypes: []string{mailbox.CategoryReport}})
	if err != nil {
		t.Fatal(err)
	}
	// A recipient that does not take referrals is refused on the field,
	// not queued to fail later.
	if p = postFrom(br, id, "forward", url.Values{"listing": {l.ID}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "cannot receive this type of message") {
		t.Errorf("forward to a recipient that does not take referrals: %d", p.status)
	}
	l.PayloadTypes = []string{mailbox.CategoryReferral}
	if l, err = b.store.UpsertListing(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if p = postFrom(br, id, "forward", url.Values{"listing": {l.ID}}); p.status != http.StatusSeeOther {
		t.Errorf("forward: %d %s", p.status, p.body)
	}
	if auditCount(t, b, a.ID, "message.forwarded") != 1 {
		t.Error("forward not audited")
	}

	// Assign to me, filter; archive out of the inbox and back.
	if p = postFrom(br, id, "assign", url.Values{"assignee": {users["clinician"].ID}}); p.status != http.StatusSeeOther {
		t.Errorf("assign: %d", p.status)
	}
	if got := rows(br.get("/inbox?assigned=me")); got != 1 {
		t.Errorf("assigned to me: %d rows", got)
	}
	if p = postFrom(br, id, "assign", url.Values{"assignee": {uuid.NewString()}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("assign to a stranger: %d", p.status)
	}
	if p = postFrom(br, id, "archive", url.Values{"archived": {"1"}}); p.status != http.StatusSeeOther {
		t.Errorf("archive: %d", p.status)
	}
	if rows(br.get("/inbox")) != 0 || rows(br.get("/inbox?archived=1")) != 1 {
		t.Error("archived message still in the inbox, or not in the archive")
	}
	postFrom(br, id, "archive", url.Values{"archived": {"0"}})
	if rows(br.get("/inbox")) != 1 {
		t.Error("unarchived message not back in the inbox")
	}
	if auditCount(t, b, a.ID, "message.assigned") != 1 || auditCount(t, b, a.ID, "message.archived") != 2 {
		t.Error("assign/archive not audited")
	}
}

// Another organisation's message is "not found" on every inbox route, and
// every inbox POST needs the CSRF token.
func TestInbox_OrgIsolationAndCSRF(t *testing.T) {
	b := setup(t)
	a, usersA := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, usersB := b.hostedOrg(t, "GP Clinic", "800362000000102")
	id := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Atwood", controlID: "R1"}))
	other := b.browser(t)
	other.login(usersB["clinician"])
	for _, path := range []string{"", "?view=1", "/attachments/1", "/attachments/1?inline=1", "/source", "/print"} {
		if p := other.get("/inbox/" + id + path); p.status != http.StatusNotFound {
			t.Errorf("other org GET /inbox/<id>%s: %d, want 404", path, p.status)
		}
	}
	posts := map[string]url.Values{
		"respond": {"status": {"accepted"}}, "reply": {"reply_text": {"hi"}}, "forward": {"listing": {uuid.NewString()}},
		"assign": {"assignee": {usersB["clinician"].ID}}, "archive": {"archived": {"1"}},
	}
	for action, form := range posts {
		if p := other.post("/inbox", "/inbox/"+id+"/"+action, form); p.status != http.StatusNotFound {
			t.Errorf("other org POST %s: %d, want 404", action, p.status)
		}
	}
	if other.get("/inbox").body != "" && rows(other.get("/inbox")) != 0 {
		t.Error("another organisation's message listed")
	}
	d, err := b.store.Document(context.Background(), a.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.ReadAt != nil || d.ClinicalStatus != "" || d.ArchivedAt != nil || d.AssignedUserID != nil {
		t.Errorf("another organisation changed the document: %+v", d)
	}
	// CSRF: every POST without a token is refused and changes nothing.
	own := b.browser(t)
	own.login(usersA["clinician"])
	for action, form := range posts {
		if p := own.postRaw("/inbox/"+id+"/"+action, form); p.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d, want 403", action, p.status)
		}
	}
	if d, err := b.store.Document(context.Background(), a.ID, id); err != nil || d.ClinicalStatus != "" || d.ArchivedAt != nil {
		t.Error("a POST without CSRF changed the document")
	}
}

// What went back to the sender shows on the message with how far it got;
// a failed reply says why and can be retried, by its organisation only,
// through its own message, with a CSRF token.
func TestInbox_RepliesShownAndRetried(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	a, usersA := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, usersB := b.hostedOrg(t, "GP Clinic", "800362000000102")
	id := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Atwood", controlID: "R1"}))
	id2 := b.receive(t, a, orgURI(gp), testReferral(t, gp, a, refOpts{family: "Brown", controlID: "R2"}))
	var ack string
	if err := b.store.Pool().QueryRow(ctx, `SELECT message_id FROM documents WHERE answers = $1 AND kind = 'ack'`, id).Scan(&ack); err != nil {
		t.Fatal(err)
	}
	own := b.browser(t)
	own.login(usersA["clinician"])
	if p := own.get("/inbox/" + id); !strings.Contains(p.body, `data-testid="reply" data-kind="ack" data-status="queued"`) ||
		strings.Contains(p.body, `data-testid="reply-retry"`) {
		t.Fatal("the queued ACK is not shown on the message, or offers a retry")
	}
	// The pipeline gave up on it (as its send job does after its retries).
	if _, err := b.store.Pool().Exec(ctx, `UPDATE messages SET status = 'failed',
		status_detail = 'Not sent: the directory has no entry for the receiver <b>x</b>.' WHERE id = $1`, ack); err != nil {
		t.Fatal(err)
	}
	other := b.browser(t)
	other.login(usersB["clinician"])
	p := own.get("/inbox/" + id)
	if !strings.Contains(p.body, `data-status="failed"`) || !strings.Contains(p.body, "not delivered") ||
		!strings.Contains(p.body, "update their directory entry") || !strings.Contains(p.body, "&lt;b&gt;x&lt;/b&gt;") ||
		!strings.Contains(p.body, `action="/inbox/`+id+`/replies/`+ack+`/retry"`) {
		t.Fatal("a failed reply is not shown with its reason, what to do and a retry")
	}
	if d := own.get("/dashboard"); !strings.Contains(d.body, `data-testid="replies-failed">1 received message</a>`) {
		t.Error("the dashboard does not count the message whose reply failed")
	}
	if n := rows(own.get("/inbox?status=reply_failed")); n != 1 {
		t.Errorf("reply_failed filter: %d rows, want 1", n)
	}
	if n := rows(other.get("/inbox?status=reply_failed")); n != 0 {
		t.Errorf("another organisation's reply_failed filter: %d rows, want 0", n)
	}
	status := func() string {
		var s string
		_ = b.store.Pool().QueryRow(ctx, `SELECT status FROM messages WHERE id = $1`, ack).Scan(&s)
		return s
	}
	retry := "/inbox/" + id + "/replies/" + ack + "/retry"
	if p := own.postRaw(retry, url.Values{}); p.status != http.StatusForbidden || status() != "failed" {
		t.Errorf("retry without CSRF: %d, status %s", p.status, status())
	}
	if p := other.post("/inbox", retry, url.Values{}); p.status != http.StatusNotFound || status() != "failed" {
		t.Errorf("retry by another organisation: %d, status %s", p.status, status())
	}
	if p := own.post("/inbox", "/inbox/"+id2+"/replies/"+ack+"/retry", url.Values{}); p.status != http.StatusNotFound || status() != "failed" {
		t.Errorf("retry through another message: %d, status %s", p.status, status())
	}
	if p := own.post("/inbox/"+id, retry, url.Values{}); p.status != http.StatusSeeOther || p.location != "/inbox/"+id || status() != "queued" {
		t.Fatalf("retry: %d to %q, status %s", p.status, p.location, status())
	}
	var audited int
	_ = b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'message.retried' AND detail->>'message_id' = $1`, ack).Scan(&audited)
	if audited != 1 {
		t.Errorf("%d retry audit events, want 1", audited)
	}
	if p := own.get("/inbox/" + id); !strings.Contains(p.body, "Sending the reply again") || !strings.Contains(p.body, `data-status="queued"`) {
		t.Error("after the retry the page does not say so, or the reply is not queued")
	}
	if strings.Contains(own.get("/dashboard").body, `data-testid="replies-failed"`) || rows(own.get("/inbox?status=reply_failed")) != 0 {
		t.Error("a retried reply still counts as failed")
	}
	if p := own.post("/inbox/"+id, retry, url.Values{}); p.status != http.StatusSeeOther || !strings.Contains(own.get("/inbox/"+id).body, "Only a reply that failed") {
		t.Error("a second retry of a queued reply is not refused in words")
	}
}
