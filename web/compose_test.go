package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// composeWorld is a GP whose clinician refers to a hosted physio clinic.
type composeWorld struct {
	b       *testBundle
	gp      store.Organisation
	users   map[string]store.User
	physio  store.Organisation
	listing store.Listing // the physio clinic's organisation listing
	br      *browser
}

func newComposeWorld(t *testing.T) *composeWorld {
	t.Helper()
	b := setup(t)
	w := &composeWorld{b: b}
	w.gp, w.users = b.hostedOrg(t, "GP Clinic", "800362000000102")
	w.physio, _ = b.hostedOrg(t, "Physio Clinic", "800362000000101")
	ctx := context.Background()
	if err := b.store.SetPractitioner(ctx, w.gp.ID, w.users["clinician"].ID, "8003610833334085", "2426621B", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.SyncHostedListings(ctx, b.store); err != nil {
		t.Fatal(err)
	}
	ls, _, err := b.store.SearchListings(ctx, store.ListingSearch{OrgURI: orgURI(w.physio), Kind: store.ListingOrganisation})
	if err != nil || len(ls) != 1 {
		t.Fatalf("physio listing: %v %d", err, len(ls))
	}
	w.listing = ls[0]
	w.br = b.browser(t)
	w.br.login(w.users["clinician"])
	return w
}

func (w *composeWorld) fields() map[string]string {
	return map[string]string{"kind": "referral", "listing": w.listing.ID, "patient_family": "Citizen", "patient_given": "Abbi",
		"patient_dob": "1977-03-21", "patient_sex": "F", "patient_medicare": "2123456701", "reason": "Right knee pain",
		"clinical": "Worse on stairs.", "urgency": "routine", "validity": "12"}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

var draftAction = regexp.MustCompile(`action="/drafts/([0-9a-f-]{36})"`)

func (w *composeWorld) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.b.store.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCompose_PreviewAndSend(t *testing.T) {
	w := newComposeWorld(t)
	br := w.br
	p := br.get("/compose?to=" + w.listing.ID)
	for _, want := range []string{`data-testid="recipient-` + w.listing.ID + `"`, `name="patient_dob"`, `type="date"`,
		`data-testid="save-draft"`, `data-testid="preview"`, `data-testid="find-recipient"`, `name="recipient_q"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("compose page lacks %s", want)
		}
	}
	if !regexp.MustCompile(`<input[^>]*value="` + w.listing.ID + `"[^>]*checked`).MatchString(p.body) {
		t.Error("?to= does not preselect the recipient")
	}
	// Preview: the patient banner, the referral, the attachment.
	p = br.postMultipart("/compose", "/compose", with(w.fields(), "action", "preview"), upload{"attachment", "knee.pdf", testPDF})
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="patient-banner"`) ||
		!strings.Contains(p.body, "CITIZEN, Abbi") || !strings.Contains(p.body, "Right knee pain") ||
		!strings.Contains(p.body, "knee.pdf") || !strings.Contains(p.body, `data-testid="send"`) {
		t.Fatalf("preview: %d %s", p.status, p.body)
	}
	m := draftAction.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("preview has no send form for the draft")
	}
	draft := m[1]
	if w.count(t, `SELECT count(*) FROM draft_attachments`) != 1 {
		t.Error("the upload is not kept in the draft")
	}
	// Send from the preview, as saved.
	p = br.post("/drafts/"+draft, "/drafts/"+draft, url.Values{"saved": {"1"}, "action": {"send"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/sent/") {
		t.Fatalf("send: %d %q %s", p.status, p.location, p.body)
	}
	msgID := strings.TrimPrefix(p.location, "/sent/")
	if n := w.count(t, `SELECT count(*) FROM documents WHERE message_id = $1 AND kind = 'referral'`, msgID); n != 1 {
		t.Errorf("%d referral documents", n)
	}
	if auditCount(t, w.b, w.gp.ID, "message.sent") != 1 || auditCount(t, w.b, w.gp.ID, "message.composed") != 1 {
		t.Error("compose and send not audited once each")
	}
	// A second click finds the draft gone and sends nothing.
	tok := csrfField.FindStringSubmatch(br.get("/compose").body)[1]
	if p = br.postRaw("/drafts/"+draft, url.Values{"_csrf": {tok}, "saved": {"1"}, "action": {"send"}}); p.status != http.StatusNotFound {
		t.Errorf("second send: %d", p.status)
	}
	if n := w.count(t, `SELECT count(*) FROM messages WHERE organisation_id = $1`, w.gp.ID); n != 1 {
		t.Errorf("%d messages sent", n)
	}
}

func TestCompose_FieldErrorsKeepEverything(t *testing.T) {
	w := newComposeWorld(t)
	fields := with(w.fields(), "action", "send", "listing", "", "patient_medicare", "2123456711",
		"patient_family", `<script>alert(1)</script>`, "clinical", "Typed notes & more")
	p := w.br.postMultipart("/compose", "/compose", fields, upload{"attachment", `<img src=x onerror=alert(1)>.pdf`, testPDF})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", p.status)
	}
	for _, want := range []string{
		`id="patient_medicare-error"`, "check digit", `aria-invalid="true"`, `id="listing-error"`, "Choose who to send this to",
		`value="2123456711"`, `&lt;script&gt;alert(1)&lt;/script&gt;`, "Typed notes &amp; more", "img src=x onerror=alert(1).pdf",
		`data-testid="form-error"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("refused form lacks %s", want)
		}
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") {
		t.Error("patient or file name not escaped")
	}
	if w.count(t, `SELECT count(*) FROM messages`) != 0 {
		t.Error("an invalid referral was sent")
	}
	if w.count(t, `SELECT count(*) FROM drafts`) != 1 {
		t.Error("the refused form was not kept as a draft")
	}
}

func TestCompose_Uploads(t *testing.T) {
	w := newComposeWorld(t)
	fields := with(w.fields(), "action", "save")
	p := w.br.postMultipart("/compose", "/compose", fields, upload{"attachment", "notes.pdf", []byte("plain text notes")})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="attachment-error"`) ||
		!strings.Contains(p.body, "is a text file") || !strings.Contains(p.body, `value="Citizen"`) {
		t.Errorf("wrong file type: %d", p.status)
	}
	big := append(append([]byte{}, testPDF...), make([]byte, 5<<20)...)
	p = w.br.postMultipart("/compose", "/compose", fields, upload{"attachment", "scan.pdf", big})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "larger than 5 MB") ||
		!strings.Contains(p.body, `value="Citizen"`) {
		t.Errorf("oversized file: %d", p.status)
	}
	if w.count(t, `SELECT count(*) FROM draft_attachments`) != 0 {
		t.Error("a refused file was kept")
	}
	huge := append(append([]byte{}, testPDF...), make([]byte, 25<<20)...)
	if p = w.br.postMultipart("/compose", "/compose", fields, upload{"attachment", "huge.pdf", huge}); p.status != http.StatusRequestEntityTooLarge {
		t.Errorf("request over the body limit: %d", p.status)
	}
	// A report needs its PDF.
	p = w.br.postMultipart("/compose", "/compose", with(w.fields(), "kind", "report", "action", "preview"))
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Attach the letter or report as a PDF") {
		t.Errorf("report without a PDF: %d", p.status)
	}
	// Files are removed from the draft, keeping what was typed.
	p = w.br.postMultipart("/compose", "/compose", fields, upload{"attachment", "a.png", []byte("\x89PNG\r\n\x1a\nrest")})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/drafts/") {
		t.Fatalf("save: %d", p.status)
	}
	var aid string
	_ = w.b.store.Pool().QueryRow(context.Background(), `SELECT id FROM draft_attachments`).Scan(&aid)
	p = w.br.postMultipart(p.location, p.location+"/attachments/"+aid+"/remove", with(fields, "reason", "Changed reason"))
	if p.status != http.StatusSeeOther || w.count(t, `SELECT count(*) FROM draft_attachments`) != 0 {
		t.Errorf("remove: %d", p.status)
	}
	if page := w.br.get(p.location); !strings.Contains(page.body, `value="Changed reason"`) {
		t.Error("removing a file lost what was typed")
	}
}

func TestCompose_CSRF(t *testing.T) {
	w := newComposeWorld(t)
	for _, path := range []string{"/compose", "/drafts/00000000-0000-4000-8000-000000000000"} {
		if p := w.br.postRaw(path, url.Values{"action": {"save"}, "patient_family": {"X"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d", path, p.status)
		}
	}
	if w.count(t, `SELECT count(*) FROM drafts`) != 0 {
		t.Error("a draft was saved without a token")
	}
}

// A draft is its author's: other users of the organisation and other
// organisations get "not found" on every route, and change nothing.
func TestCompose_DraftIsolation(t *testing.T) {
	w := newComposeWorld(t)
	p := w.br.postMultipart("/compose", "/compose", with(w.fields(), "action", "save"), upload{"attachment", "a.pdf", testPDF})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	draft := strings.TrimPrefix(p.location, "/drafts/")
	var aid string
	_ = w.b.store.Pool().QueryRow(context.Background(), `SELECT id FROM draft_attachments`).Scan(&aid)
	if list := w.br.get("/drafts"); !strings.Contains(list.body, "/drafts/"+draft) || !strings.Contains(list.body, "CITIZEN, Abbi") {
		t.Error("the author's drafts list lacks the draft")
	}
	_, otherUsers := w.b.hostedOrg(t, "Other Clinic", "800362000000103")
	colleague, stranger := w.b.browser(t), w.b.browser(t)
	colleague.login(w.users["reception"])
	stranger.login(otherUsers["clinician"])
	for who, br := range map[string]*browser{"colleague": colleague, "other organisation": stranger} {
		if p := br.get("/drafts/" + draft); p.status != http.StatusNotFound {
			t.Errorf("%s GET draft: %d", who, p.status)
		}
		if p := br.get("/drafts"); strings.Contains(p.body, draft) {
			t.Errorf("%s lists the draft", who)
		}
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/drafts/" + draft, url.Values{"action": {"save"}, "kind": {"referral"}, "patient_family": {"Hijack"}}},
			{"/drafts/" + draft, url.Values{"saved": {"1"}, "action": {"send"}}},
			{"/drafts/" + draft + "/delete", url.Values{}},
			{"/drafts/" + draft + "/attachments/" + aid + "/remove", url.Values{}},
		} {
			if p := br.post("/compose", post.path, post.form); p.status != http.StatusNotFound {
				t.Errorf("%s POST %s: %d", who, post.path, p.status)
			}
		}
	}
	if w.count(t, `SELECT count(*) FROM drafts WHERE id = $1`, draft) != 1 || w.count(t, `SELECT count(*) FROM draft_attachments`) != 1 ||
		w.count(t, `SELECT count(*) FROM messages`) != 0 {
		t.Error("another user changed or sent the draft")
	}
	if p := w.br.get("/drafts/" + draft); !strings.Contains(p.body, `value="Citizen"`) {
		t.Error("the draft was overwritten")
	}
	if p := w.br.post("/drafts/"+draft, "/drafts/"+draft+"/delete", url.Values{}); p.status != http.StatusSeeOther ||
		w.count(t, `SELECT count(*) FROM drafts`) != 0 {
		t.Errorf("author delete: %d", p.status)
	}
}

func TestCompose_RecipientPicker(t *testing.T) {
	w := newComposeWorld(t)
	unreachable, err := w.b.store.UpsertListing(context.Background(), store.Listing{Kind: store.ListingPractitioner,
		Name: "Paper Physio", Source: store.SourceManual, SourceRef: "paper"})
	if err != nil {
		t.Fatal(err)
	}
	// htmx: the matches alone, as radio buttons saying who can receive.
	p := w.br.get("/compose/recipients?kind=referral&recipient_q=Physio&listing=" + unreachable.ID)
	if p.status != http.StatusOK || strings.Contains(p.body, "<html") ||
		!strings.Contains(p.body, `data-testid="recipient-`+w.listing.ID+`"`) || !strings.Contains(p.body, "Can receive: yes") ||
		!strings.Contains(p.body, `data-testid="recipient-`+unreachable.ID+`"`) || !strings.Contains(p.body, "Can receive: <strong>no</strong>") {
		t.Errorf("recipients fragment: %d %s", p.status, p.body)
	}
	if !regexp.MustCompile(`<input[^>]*value="` + unreachable.ID + `"[^>]*checked`).MatchString(p.body) {
		t.Error("the recipient chosen so far is not kept among the matches")
	}
	// Without JavaScript: the find button re-renders the form with them.
	p = w.br.postMultipart("/compose", "/compose", with(w.fields(), "listing", "", "action", "find", "recipient_q", "Physio"))
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="recipient-`+w.listing.ID+`"`) ||
		!strings.Contains(p.body, `value="Citizen"`) {
		t.Errorf("find: %d", p.status)
	}
	// An unreachable recipient is refused on the field.
	p = w.br.postMultipart("/compose", "/compose", with(w.fields(), "listing", unreachable.ID, "action", "preview"))
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "cannot receive secure messages") {
		t.Errorf("unreachable recipient: %d", p.status)
	}
	// The directory page links to compose.
	if p = w.br.get("/directory/" + w.listing.ID); !strings.Contains(p.body, `href="/compose?to=`+w.listing.ID+`"`) {
		t.Error("listing page has no Send a message link")
	}
}

// Forward chooses its recipient with the same picker.
func TestInbox_ForwardRecipientPicker(t *testing.T) {
	w := newComposeWorld(t)
	id := w.b.receive(t, w.gp, orgURI(w.physio), testReferral(t, w.physio, w.gp, refOpts{family: "Atwood", controlID: "R1"}))
	other, _ := w.b.hostedOrg(t, "Hand Therapy Clinic", "800362000000103")
	if _, err := provider.SyncHostedListings(context.Background(), w.b.store); err != nil {
		t.Fatal(err)
	}
	ls, _, err := w.b.store.SearchListings(context.Background(), store.ListingSearch{OrgURI: orgURI(other), Kind: store.ListingOrganisation})
	if err != nil || len(ls) != 1 {
		t.Fatalf("listing: %v", err)
	}
	p := w.br.get("/inbox/" + id + "?recipient_q=Hand+Therapy")
	if !strings.Contains(p.body, `data-testid="recipient-`+ls[0].ID+`"`) || !strings.Contains(p.body, `data-testid="find-recipient"`) {
		t.Fatalf("forward picker lacks the match: %d", p.status)
	}
	if p = postFrom(w.br, id, "forward", url.Values{"listing": {ls[0].ID}}); p.status != http.StatusSeeOther {
		t.Errorf("forward: %d", p.status)
	}
}

func TestCompose_RecipientSearchError(t *testing.T) {
	w := newComposeWorld(t)
	p := w.br.get("/compose/recipients?recipient_q=12345")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="recipient_q-error"`) || !strings.Contains(p.body, "not a full identifier") {
		t.Errorf("search error in the fragment: %d %s", p.status, p.body)
	}
}
