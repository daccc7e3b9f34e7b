// Package cli implements the portal's subcommands. Each command parses its
// own flags, loads the configuration and wires concrete dependencies; there
// is no global state.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

// commands is the table of subcommands; "config check" style pairs are
// dispatched by their first word.
func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the portal (web UI; add --migrate to update the schema first)", runServe},
		"migrate": {"apply database migrations and exit", runMigrate},
		"config":  {"config check: print the effective configuration, secrets redacted", runConfig},
		"demo":    {"load the clearly labelled DEMO organisation and users", runDemo},
		"pki":     {"pki init|issue: a TEST CA and NASH-shaped organisation certificates", runPKI},
		"smd":     {"smd seal|open|envelope: seal, open or wrap SMD messages (debugging tool)", runSMD},

		"org":       {"org add|settings: store a hosted organisation's certificate and key; show or change its settings", runOrgCommand},
		"user":      {"user invite|list|role|deactivate|reactivate|reset-mfa|sessions|logout: administer users", runUser},
		"directory": {"directory add|import: add an organisation messages can be sent to; import a FHIR provider directory (--file or --url)", runDirectory},
		"trust":     {"trust add|crl|list|remove: trust anchors and revocation lists", runTrust},
		"cert":      {"cert import|list|csr|install|retire: an organisation's certificates (rollover)", runCert},

		"send":         {"send: queue a message from a hosted organisation (prints its invocationId)", runSend},
		"messages":     {"messages: an organisation's sent and received messages with their timelines", runMessages},
		"dead-letters": {"dead-letters: messages and responses the pipeline gave up on", runDeadLetters},
		"audit":        {"audit verify|export: check the audit trail's hash chain; export an organisation's events as CSV or JSON", runAudit},
		"bench":        {"bench: two providers as processes, N messages each way; throughput, latency, memory", runBench},
	}
}

// usageError is printed with the command's usage and exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run executes the subcommand named by args[0] and returns the exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := Env{Getenv: getenv, Stdout: stdout, Stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout, cmds)
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "portal: unknown command %q\n\n", args[0])
		printUsage(stderr, cmds)
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "portal %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "portal %s: %v\n", args[0], err)
		return 1
	}
}

func printUsage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Usage: portal <command> [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting.
func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("portal "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
