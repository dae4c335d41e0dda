// Command corridor records humanitarian access through a contested
// corridor in a signed, verifiable log. Run "corridor help" for the
// subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	// Tessera logs through klog; keep its warnings and errors, in our
	// format. Set once, before anything starts goroutines that log.
	bridgeKlog(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: its flags are parsed from args; it writes
// results to stdout and diagnostics to stderr.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands holds every subcommand; each file registers its own in init.
var commands = map[string]command{}

func init() {
	commands["init"] = command{"create a data folder with the log key and an operator party", cmdInit}
	commands["keygen"] = command{"write an Ed25519 key pair for a party", cmdKeygen}
	commands["serve"] = command{"serve the API over a data folder", cmdServe}
	commands["demo"] = command{"load a scenario (the reference one by default) and serve it", cmdDemo}
	commands["verify"] = command{"check the log, every signature and the projection", cmdVerify}
	commands["rebuild"] = command{"recreate the projection from the log alone", cmdRebuild}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "corridor: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "corridor %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "corridor %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: corridor <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run corridor <command> -h for its flags.")
}

// newFlags makes a FlagSet that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("corridor "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", strings.Join(fs.Args(), " "))
	}
	return nil
}

// requireFlag fails when a required string flag is empty.
func requireFlag(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return usagef("-%s is required", name)
	}
	return nil
}
