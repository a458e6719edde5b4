package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/sunlamp/sunlamp/client"
)

const usersUsage = `Usage: sunlamp users COMMAND USER [flags]

Calls one user operation of the Sunshine Conversations v2 API, against Sunlamp or the real service,
prints the response body as indented JSON and then its status (e.g. "200 OK"), and exits non-zero
when the status is an error (after printing the error body). USER is a user id or an externalId; it is
percent-encoded into the path as the official client does.

Commands:
  get USER                   GetUser: print the user
  delete USER                DeleteUser: delete the user, its clients and its conversation history
  erase-personal-info USER   DeleteUserPersonalInformation: erase the user's profile, metadata and the
                             names and channel data of its clients; print the scrubbed user

Requests that get a 429 or a 5xx are retried with backoff (Retry-After honoured).
For thousands of users at once, see 'sunlamp dsr --help'.

Example:
  export SUNLAMP_URL=http://127.0.0.1:8090 SUNLAMP_KEY_ID=app_... SUNLAMP_KEY_SECRET=...
  sunlamp users erase-personal-info --app 5d8cff3cd55b040010928b5b customer-42
`

// runUsers runs `sunlamp users ...`.
func runUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		if len(args) == 0 {
			fmt.Fprint(stderr, usersUsage)
			return errUsage
		}
		fmt.Fprint(stdout, usersUsage)
		return nil
	}
	var method, suffix, op string
	switch args[0] {
	case "get":
		method, op = http.MethodGet, "GetUser"
	case "delete":
		method, op = http.MethodDelete, "DeleteUser"
	case "erase-personal-info":
		method, suffix, op = http.MethodDelete, "personalinformation", "DeleteUserPersonalInformation"
	default:
		fmt.Fprintf(stderr, "sunlamp users: unknown command %q\n\n%s", args[0], usersUsage)
		return errUsage
	}
	name := "users " + args[0]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cn := connFlags(fs, getenv)
	brand := fs.String("brand-id", "", "brand `id` of a brand-separated user looked up by externalId")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sunlamp %s USER [flags]\n\nCalls %s for USER (a user id or an externalId), prints the response body as\nindented JSON and its status, and exits non-zero on an error status.\n\nExample:\n  sunlamp %s --app 5d8cff3cd55b040010928b5b customer-42\n", name, op, name)
		printDefaults(fs)
	}
	pos, err := parseArgs(fs, args[1:], stdout, stderr)
	if err != nil {
		if err == errHelp {
			return nil
		}
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "sunlamp %s: want exactly one USER (an id or an externalId), got %d arguments\n", name, len(pos))
		return errUsage
	}
	if why := badPathID(pos[0]); why != "" {
		fmt.Fprintf(stderr, "sunlamp %s: USER %q refused, nothing sent: %s\n", name, pos[0], why)
		return errUsage
	}
	cl, err := cn.client()
	if err != nil {
		return err
	}
	var q url.Values
	if *brand != "" {
		q = url.Values{"brandId": {*brand}}
	}
	var path string
	if suffix != "" {
		path = client.UserPath(cn.app, pos[0], suffix)
	} else {
		path = client.UserPath(cn.app, pos[0])
	}
	resp, err := cl.Do(ctx, method, path, q, nil)
	var apiErr *client.Error
	var netErr *client.NetworkError
	switch {
	case errors.As(err, &apiErr):
		resp = apiErr.Response
	case errors.As(err, &netErr):
		// Not the path: it holds the user's externalId.
		return fmt.Errorf("%s: no response from %s: %v", op, cn.url, netErr.Err)
	case err != nil:
		return err
	}
	printResponse(stdout, resp)
	if errors.Is(err, client.ErrRedirected) {
		fmt.Fprintf(stderr, "sunlamp %s: %v; check --url (%s)\n", name, client.ErrRedirected, cn.url)
	}
	if apiErr != nil {
		return errReported
	}
	return nil
}

// printResponse writes a response body as indented JSON (as it came when it is not JSON) and then
// its status, e.g. "200 OK".
func printResponse(w io.Writer, resp *client.Response) {
	var out bytes.Buffer
	body := bytes.TrimSpace(resp.Body)
	if len(body) > 0 {
		if json.Indent(&out, body, "", "  ") == nil {
			out.WriteByte('\n')
		} else {
			out.Reset()
			out.Write(body)
			out.WriteByte('\n')
		}
	}
	fmt.Fprintf(&out, "%d %s\n", resp.Status, http.StatusText(resp.Status))
	w.Write(out.Bytes())
}
