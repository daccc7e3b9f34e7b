package provider

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/store"
)

// AuditDirectoryImported is the audit action recorded by ImportDirectory.
const AuditDirectoryImported = "directory.imported"

// ImportDirectory stores the SMD targets of a parsed FHIR provider
// directory as directory entries (one per organisation: endpoint,
// encryption certificate, payload types as service categories), replacing
// entries with the same organisation URI. Every target is checked first:
// if any is unusable the error lists them all and nothing is written.
func ImportDirectory(ctx context.Context, st *store.Store, d *fhirpd.Directory) ([]store.DirectoryEntry, error) {
	var rows []store.DirectoryEntry
	var problems []string
	seen := map[string]string{} // org URI → endpoint id
	for _, t := range d.SMDTargets() {
		where := fmt.Sprintf("Endpoint/%s (%s)", t.EndpointID, t.OrgURI)
		if prev, dup := seen[t.OrgURI]; dup {
			problems = append(problems, fmt.Sprintf("%s: the organisation already has SMD endpoint Endpoint/%s; the directory keeps one per organisation", where, prev))
			continue
		}
		seen[t.OrgURI] = t.EndpointID
		if t.Cert == nil {
			problems = append(problems, where+": no encryption certificate")
			continue
		}
		row, _, err := validateEntry(DirectoryEntry{
			OrgURI: t.OrgURI, Name: t.Name, Endpoint: t.EndpointURL, Categories: t.PayloadTypes,
			CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.Cert.Raw}),
		})
		if err != nil {
			problems = append(problems, where+": "+err.Error())
			continue
		}
		rows = append(rows, row)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("directory import: nothing imported; %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	if len(rows) == 0 {
		return nil, errors.New("directory import: the bundle has no usable SMD endpoint")
	}
	out := make([]store.DirectoryEntry, 0, len(rows))
	err := st.WithTx(ctx, func(tx *store.Store) error {
		uris := make([]string, 0, len(rows))
		for _, r := range rows {
			saved, err := tx.UpsertDirectoryEntry(ctx, r)
			if err != nil {
				return err
			}
			out = append(out, saved)
			uris = append(uris, saved.OrgURI)
		}
		return tx.Audit(ctx, store.AuditEvent{Action: AuditDirectoryImported, Detail: map[string]string{
			"count": fmt.Sprint(len(uris)), "org_uris": strings.Join(uris, " "),
		}})
	})
	if err != nil {
		return nil, fmt.Errorf("directory import: %w", err)
	}
	return out, nil
}
