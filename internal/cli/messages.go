package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
)

// runSend implements `portal send`: queue a message from a hosted
// organisation; the workers of `portal serve` deliver it.
func runSend(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("send", env)
	from := fs.String("from", "", "sender organisation URI (hosted here)")
	to := fs.String("to", "", "receiver organisation URI (in the directory)")
	category := fs.String("category", "", "service category URI")
	file := fs.String("file", "", "payload file (HL7 v2, PDF, CDA package…)")
	expiry := fs.Duration("expiry", 0, "how long delivery may take (default PORTAL_SMD_EXPIRY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" || *category == "" || *file == "" {
		return usageError{"--from, --to, --category and --file are required"}
	}
	payload, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read payload file: %w", err)
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	return withStore(ctx, env, func(st *store.Store, master []byte) error {
		p, _, err := newPipeline(ctx, cfg, st, master, newLogger(cfg.LogLevel, env.Stderr), nil, false)
		if err != nil {
			return err
		}
		m, err := p.Submit(ctx, pipeline.Outbound{From: *from, To: *to, Category: *category, Payload: payload, Expiry: *expiry})
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, m.InvocationID)
		return nil
	})
}

// messageJSON is the stable JSON shape of `portal messages --json`.
type messageJSON struct {
	ID              string      `json:"id"`
	Direction       string      `json:"direction"`
	InvocationID    string      `json:"invocationId"`
	Sender          string      `json:"senderOrganisation"`
	Receiver        string      `json:"receiverOrganisation"`
	ServiceCategory string      `json:"serviceCategory"`
	Status          string      `json:"status"`
	Detail          string      `json:"detail"`
	PayloadSize     int         `json:"payloadSize"`
	PayloadType     string      `json:"payloadType,omitempty"`
	Attempts        int         `json:"attempts"`
	CreatedAt       time.Time   `json:"createdAt"`
	SentAt          *time.Time  `json:"sentAt,omitempty"`
	FinalAt         *time.Time  `json:"finalAt,omitempty"`
	ExpiresAt       time.Time   `json:"expiresAt"`
	Timeline        []eventJSON `json:"timeline"`
}

type eventJSON struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
}

// runMessages implements `portal messages`: an organisation's sent and
// received messages with their status timelines.
func runMessages(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("messages", env)
	org := fs.String("org", "", "organisation URI (hosted here)")
	asJSON := fs.Bool("json", false, "print JSON (one array, newest first)")
	limit := fs.Int("limit", 100000, "at most this many messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" {
		return usageError{"--org is required"}
	}
	return withOrg(ctx, env, *org, func(st *store.Store, _ []byte, o store.Organisation) error {
		msgs, events, err := st.OrgMessages(ctx, o.ID, *limit)
		if err != nil {
			return err
		}
		out := make([]messageJSON, 0, len(msgs))
		for _, m := range msgs {
			j := messageJSON{ID: m.ID, Direction: m.Direction, InvocationID: m.InvocationID, Sender: m.SenderOrgURI,
				Receiver: m.ReceiverOrgURI, ServiceCategory: m.ServiceCategory, Status: m.Status, Detail: m.StatusDetail,
				PayloadSize: m.PayloadSize, PayloadType: m.PayloadType, Attempts: m.Attempts, CreatedAt: m.CreatedAt,
				SentAt: m.SentAt, FinalAt: m.FinalAt, ExpiresAt: m.ExpiresAt, Timeline: []eventJSON{}}
			for _, e := range events[m.ID] {
				j.Timeline = append(j.Timeline, eventJSON{At: e.At, Status: e.Status, Detail: e.Detail})
			}
			out = append(out, j)
		}
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		for _, m := range out {
			peer := m.Receiver
			arrow := "→"
			if m.Direction == store.Inbound {
				peer, arrow = m.Sender, "←"
			}
			fmt.Fprintf(env.Stdout, "%s %s %s %-9s %s %s\n", m.CreatedAt.Local().Format("2006-01-02 15:04:05"),
				arrow, peer, m.Status, m.InvocationID, m.Detail)
		}
		return nil
	})
}

// runDeadLetters implements `portal dead-letters`: what the pipeline gave
// up on, newest first.
func runDeadLetters(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("dead-letters", env)
	limit := fs.Int("limit", 100, "at most this many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		dls, err := st.DeadLetters(ctx, *limit)
		if err != nil {
			return err
		}
		for _, d := range dls {
			msg := "-"
			if d.MessageID != nil {
				msg = *d.MessageID
			}
			fmt.Fprintf(env.Stdout, "%s %s message %s: %s\n", d.CreatedAt.Local().Format("2006-01-02 15:04:05"), d.Kind, msg, d.Reason)
		}
		if len(dls) == 0 {
			fmt.Fprintln(env.Stdout, "No dead letters.")
		}
		return nil
	})
}
