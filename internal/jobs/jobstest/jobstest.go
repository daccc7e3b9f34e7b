// Package jobstest runs a River client that works jobs for the length of
// a test, polling often so that tests need not wait for notifications.
package jobstest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/jobs"
)

// Start starts a client working workers' jobs on pool and stops it, with
// the jobs in hand finished, when the test ends.
func Start(t testing.TB, pool *pgxpool.Pool, workers *river.Workers) *jobs.Client {
	t.Helper()
	client, err := jobs.New(pool, jobs.Options{Workers: workers, Concurrency: 4,
		PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.WithoutCancel(t.Context())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := client.Stop(ctx); err != nil {
			t.Errorf("stop River client: %v", err)
		}
	})
	return client
}
