// Command sunlamp is the Sunlamp server and its command line.
//
//	sunlamp serve      serve the Sunshine Conversations v2 API
//	sunlamp backup     copy a running SQLite store
//	sunlamp version    print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if err != errUsage && err != errReported {
			fmt.Fprintln(os.Stderr, "sunlamp:", err)
		}
		stop()
		os.Exit(exitCode(err))
	}
}

// errUsage is returned after usage was printed; errReported after the error was printed already.
var (
	errUsage    = fmt.Errorf("usage")
	errReported = fmt.Errorf("reported")
)

func exitCode(err error) int {
	if err == errUsage {
		return 2
	}
	return 1
}

const usage = `sunlamp: a self-hosted server that speaks the Sunshine Conversations REST API v2.

Usage:
  sunlamp serve [flags]     serve the API (sunlamp serve --help for flags)
  sunlamp users ...         get, delete or erase the personal information of one user
                            (sunlamp users --help)
  sunlamp dsr ...           process data-subject requests in bulk: erase or delete many users,
                            resumable (sunlamp dsr --help)
  sunlamp backup ...        copy a running SQLite store consistently (sunlamp backup --help)
  sunlamp version           print the version and the commit it was built from

Example:
  sunlamp serve --addr 127.0.0.1:8090 --db sqlite:sunlamp.db
  sunlamp users erase-personal-info --app APP_ID customer-42
`

// run is the whole program: main only calls it, so tests can too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "users":
		return runUsers(ctx, args[1:], getenv, stdout, stderr)
	case "dsr":
		return runDSR(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "sunlamp: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
