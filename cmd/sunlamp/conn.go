package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sunlamp/sunlamp/client"
)

// conn is how a client command reaches the API: flags beat environment variables beat defaults.
type conn struct {
	url, keyID, keySecret, app, auth string
	getenv                           func(string) string
}

// connFlags registers the connection flags on fs.
func connFlags(fs *flag.FlagSet, getenv func(string) string) *conn {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	c := &conn{}
	fs.StringVar(&c.url, "url", env("SUNLAMP_URL", "http://127.0.0.1:8090"), "base `URL` of the API: Sunlamp or the real service, e.g. https://api.smooch.io (env SUNLAMP_URL)")
	fs.StringVar(&c.keyID, "key-id", env("SUNLAMP_KEY_ID", ""), "API key `id`: act_..., app_... or int_... (env SUNLAMP_KEY_ID)")
	// The secret's variable is read after parsing, never made the flag's default: --help prints defaults.
	c.getenv = getenv
	fs.StringVar(&c.keySecret, "key-secret", "", "API key `secret` (env SUNLAMP_KEY_SECRET; prefer it: flags show in ps)")
	fs.StringVar(&c.app, "app", env("SUNLAMP_APP_ID", ""), "app `id` (env SUNLAMP_APP_ID)")
	fs.StringVar(&c.auth, "auth", env("SUNLAMP_AUTH", "basic"), "authentication `mode`: basic, or jwt for an HS256 token minted from the key (env SUNLAMP_AUTH)")
	return c
}

// client checks the connection settings and returns a client for them.
func (c *conn) client(opts ...client.Option) (*client.Client, error) {
	if c.keySecret == "" {
		c.keySecret = c.getenv("SUNLAMP_KEY_SECRET")
	}
	switch {
	case c.keyID == "" || c.keySecret == "":
		return nil, errors.New("a key is required: --key-id and --key-secret (or SUNLAMP_KEY_ID and SUNLAMP_KEY_SECRET)")
	case c.app == "":
		return nil, errors.New("an app is required: --app (or SUNLAMP_APP_ID)")
	case badPathID(c.app) != "":
		return nil, fmt.Errorf("--app %q: %s", c.app, badPathID(c.app))
	}
	var auth client.Auth
	switch c.auth {
	case "basic":
		auth = client.Basic(c.keyID, c.keySecret)
	case "jwt":
		scope, ok := client.ScopeOfKeyID(c.keyID)
		if !ok {
			return nil, fmt.Errorf("--auth jwt: the key id must start with act_, app_ or int_")
		}
		a, err := client.JWT(c.keyID, c.keySecret, scope, c.app)
		if err != nil {
			return nil, err
		}
		auth = a
	default:
		return nil, fmt.Errorf("--auth is %q: want basic or jwt", c.auth)
	}
	cl, err := client.New(c.url, auth, append([]client.Option{client.WithUserAgent("sunlamp-cli/" + version())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	return cl, nil
}

// parseArgs parses flags that may come before or after the positional arguments (Go's flag package
// stops at the first positional one) and returns the positional arguments. It returns errHelp when
// --help was asked for, having printed the usage to stdout.
func parseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	var pos []string
	fs.SetOutput(io.Discard)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return nil, errHelp
			}
			fmt.Fprintf(stderr, "sunlamp %s: %v\n", fs.Name(), err)
			fmt.Fprintf(stderr, "Run 'sunlamp %s --help' for usage.\n", fs.Name())
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// errHelp is returned after help was printed: the command succeeded.
var errHelp = errors.New("help")

// printDefaults writes fs's flags under a Flags: heading.
func printDefaults(fs *flag.FlagSet) {
	fmt.Fprintln(fs.Output(), "\nFlags:")
	fs.PrintDefaults()
}

// indent returns s with every line indented by two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
