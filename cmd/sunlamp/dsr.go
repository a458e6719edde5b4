package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sunlamp/sunlamp/client"
)

const dsrUsage = `Usage: sunlamp dsr COMMAND --input FILE [flags]

Processes data-subject requests in bulk against any Sunshine Conversations v2 endpoint (Sunlamp or the
real service), with bounded concurrency, a journal that makes a re-run resume where the last run
stopped, and a per-user report.

Commands:
  erase    DeleteUserPersonalInformation for every user of the input
  delete   DeleteUser for every user of the input

Run 'sunlamp dsr erase --help' for the input format, the journal, the report and the flags.

Example:
  sunlamp dsr erase --app 5d8cff3cd55b040010928b5b --input users.csv --report outcome.csv
`

// dsrOp is one bulk operation.
type dsrOp struct {
	name, operation, method, suffix, outcome string
}

var dsrOps = map[string]dsrOp{
	"erase":  {"erase", "DeleteUserPersonalInformation", http.MethodDelete, "personalinformation", outErased},
	"delete": {"delete", "DeleteUser", http.MethodDelete, "", outDeleted},
}

const dsrCommandUsage = `Usage: sunlamp dsr %[1]s --input FILE [flags]

Calls %[2]s for every user named in FILE and reports the outcome of each.

Input: a CSV file whose header row has an id, userId or externalId column (the first of these
found is used), or a file with one user id or externalId per line; '-' reads standard input. Blank
lines are skipped; lines that cannot name a user (malformed CSV, over 1024 bytes, control
characters, a repeat of an earlier line) are reported by line number and skipped.

Outcome per user: %[3]s (200), not_found (404 user_not_found: reported, not fatal), failed (any other
error once retries are spent), already_done (in the journal from an earlier run), invalid or
duplicate (a bad input line), not_run (the run stopped before reaching it). A 401, 403 or
app_not_found stops the whole run, since no user could succeed; so do 10 users (or twice
--concurrency) failing in a row, as when the network is lost or the URL is wrong.

Journal: every final outcome (%[3]s or not_found) is appended to the journal file and fsynced
before the user counts as done. Re-running the same command after Ctrl-C, a crash or a lost network
skips every user the journal has, so an erasure that succeeded and was journaled is never repeated;
failed and not_run users are tried again. The one window: a request the server completed whose
response was lost (or whose journal record was not yet written when the process died) is sent again
on the re-run. That is safe: erasing personal information twice leaves the user as erasing it once
did, and deleting an already deleted user answers 404 user_not_found, reported as not_found. The
journal defaults to FILE.%[1]s.journal (give --journal when reading standard input) and refuses to
be reused for another command, URL or app.

Rate limits: requests that get a 429 or a 5xx are retried with exponential backoff and jitter,
honouring Retry-After; a 429 pauses every worker (the whole run slows down), and the pace recovers
as requests succeed.

Ctrl-C stops gracefully: no new user is started, requests in flight finish (for up to --grace), the
journal is written, the report and the summary are printed; a second Ctrl-C quits at once. The exit
status is 0 when the run finished and no user failed (bad input lines are reported but do not
change it), 1 otherwise: re-run the same command to resume.

Example:
  export SUNLAMP_URL=https://api.smooch.io SUNLAMP_KEY_ID=app_... SUNLAMP_KEY_SECRET=...
  sunlamp dsr %[1]s --app 5d8cff3cd55b040010928b5b --input users.csv --report outcome.csv
`

// dsrConfig is the configuration of one dsr run.
type dsrConfig struct {
	op          dsrOp
	conn        *conn
	input       string
	journal     string
	report      string
	concurrency int
	grace       time.Duration
	interval    time.Duration
	attempts    int
}

// runDSR runs `sunlamp dsr ...`.
func runDSR(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		if len(args) == 0 {
			fmt.Fprint(stderr, dsrUsage)
			return errUsage
		}
		fmt.Fprint(stdout, dsrUsage)
		return nil
	}
	op, ok := dsrOps[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sunlamp dsr: unknown command %q\n\n%s", args[0], dsrUsage)
		return errUsage
	}
	cfg := dsrConfig{op: op}
	fs := flag.NewFlagSet("dsr "+op.name, flag.ContinueOnError)
	cfg.conn = connFlags(fs, getenv)
	fs.StringVar(&cfg.input, "input", "", "`file` of users: CSV with an id/userId/externalId column, or one per line; - for stdin (required)")
	fs.StringVar(&cfg.journal, "journal", "", "journal `file` (default INPUT."+op.name+".journal)")
	fs.StringVar(&cfg.report, "report", "", "write the outcome of every input line to `file`, .csv or .json")
	fs.IntVar(&cfg.concurrency, "concurrency", 4, "requests in flight at once (1..256)")
	fs.DurationVar(&cfg.grace, "grace", 30*time.Second, "after Ctrl-C, how long requests in flight may take to finish")
	fs.DurationVar(&cfg.interval, "progress-interval", 10*time.Second, "how often to print a progress line when stderr is not a terminal (0: never)")
	fs.IntVar(&cfg.attempts, "max-attempts", 10, "attempts per user on 429, 5xx and network errors, the first included")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), dsrCommandUsage, op.name, op.operation, op.outcome)
		printDefaults(fs)
	}
	pos, err := parseArgs(fs, args[1:], stdout, stderr)
	if err != nil {
		if err == errHelp {
			return nil
		}
		return err
	}
	switch {
	case len(pos) > 0:
		fmt.Fprintf(stderr, "sunlamp dsr %s: unexpected argument %q (the users come from --input)\n", op.name, pos[0])
		return errUsage
	case cfg.input == "":
		fmt.Fprintf(stderr, "sunlamp dsr %s: --input is required\n", op.name)
		return errUsage
	case cfg.concurrency < 1 || cfg.concurrency > 256:
		return fmt.Errorf("--concurrency %d: want 1..256", cfg.concurrency)
	case cfg.attempts < 1:
		return fmt.Errorf("--max-attempts %d: want at least 1", cfg.attempts)
	case cfg.journal == "" && cfg.input == "-":
		return errors.New("--journal is required when the input is standard input")
	}
	if cfg.journal == "" {
		cfg.journal = cfg.input + "." + op.name + ".journal"
	}
	if cfg.report != "" {
		if _, err := checkReportPath(cfg.report); err != nil {
			return err
		}
	}
	return dsrRun(ctx, cfg, stdin, stdout, stderr)
}

// dsrRun performs a parsed dsr command.
func dsrRun(ctx context.Context, cfg dsrConfig, stdin io.Reader, stdout, stderr io.Writer) error {
	pacer := client.NewPacer()
	policy := client.DefaultRetryPolicy()
	policy.MaxAttempts = cfg.attempts
	policy.MaxDelay = 30 * time.Second
	httpc := &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: cfg.concurrency, IdleConnTimeout: 90 * time.Second},
	}
	cl, err := cfg.conn.client(client.WithPacer(pacer), client.WithRetry(policy), client.WithHTTPClient(httpc))
	if err != nil {
		return err
	}
	in := stdin
	if cfg.input != "-" {
		f, err := os.Open(cfg.input)
		if err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		in = f
	}
	items, err := readInput(in)
	if err != nil {
		return fmt.Errorf("--input %s: %w", cfg.input, err)
	}
	jr, err := openJournal(cfg.journal, journalHeader{Op: cfg.op.name, URL: cl.BaseURL(), App: cfg.conn.app})
	if err != nil {
		return err
	}

	label := "dsr " + cfg.op.name
	rows := make([]reportRow, len(items))
	var todo []int
	var invalid, already int
	for i, it := range items {
		rows[i] = reportRow{Line: it.line, User: it.user}
		switch {
		case it.bad != "":
			invalid++
			rows[i].Outcome, rows[i].Detail = outInvalid, it.bad
			if len(it.bad) > 9 && it.bad[:9] == "duplicate" {
				rows[i].Outcome = outDuplicate
			}
			if invalid <= 20 {
				// The line number only: the value may be personal data.
				fmt.Fprintf(stderr, "%s: input line %d skipped: %s\n", label, it.line, it.bad)
			} else if invalid == 21 {
				fmt.Fprintf(stderr, "%s: more input lines skipped; see --report\n", label)
			}
		default:
			if r, ok := jr.done[it.user]; ok {
				already++
				rows[i].Outcome, rows[i].Status, rows[i].Code, rows[i].Time = outAlreadyDone, r.Status, r.Code, r.Time
				rows[i].Detail = r.Outcome
				continue
			}
			rows[i].Outcome = outNotRun
			todo = append(todo, i)
		}
	}

	// dctx stops the dispatch of new users; rctx, which requests use, outlives it by the grace period
	// so that requests in flight at Ctrl-C finish and get journaled.
	dctx, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	rctx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "\n%s: stopping: finishing the requests in flight (for up to %s); Ctrl-C again quits at once\n", label, cfg.grace)
			// The next Ctrl-C kills the process: what is journaled stays done, and the requests in
			// flight are sent again by the re-run, which is safe.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
		case <-finished:
		}
	}()
	go func() {
		<-dctx.Done()
		t := time.NewTimer(cfg.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelRequests()
		case <-rctx.Done():
		}
	}()

	var counts struct{ done, notFound, failed atomic.Int64 }
	var fatalMu sync.Mutex
	var fatal error
	setFatal := func(err error) {
		fatalMu.Lock()
		if fatal == nil {
			fatal = err
		}
		fatalMu.Unlock()
		stopDispatch()
	}
	prog := newProgress(stderr, isTerminal(stderr), label, len(todo), cfg.interval, func() string {
		return fmt.Sprintf("(%d not found, %d failed, %d throttled)", counts.notFound.Load(), counts.failed.Load(), pacer.Throttled())
	})
	start := time.Now()

	// The journal writer: group commits, one fsync for whatever finished meanwhile.
	type result struct {
		idx int
		row reportRow
	}
	results := make(chan result, cfg.concurrency*2)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		batch := make([]result, 0, 64)
		for r := range results {
			batch = append(batch[:0], r)
		drain:
			for len(batch) < cap(batch) {
				select {
				case r, ok := <-results:
					if !ok {
						break drain
					}
					batch = append(batch, r)
				default:
					break drain
				}
			}
			var jerr error
			for _, b := range batch {
				if b.row.Outcome == cfg.op.outcome || b.row.Outcome == outNotFound {
					if err := jr.add(journalRecord{User: b.row.User, Outcome: b.row.Outcome, Status: b.row.Status, Code: b.row.Code, Time: b.row.Time}); err != nil {
						jerr = err
					}
				}
			}
			if jerr == nil {
				jerr = jr.commit()
			}
			if jerr != nil {
				setFatal(fmt.Errorf("journal %s: %w", cfg.journal, jerr))
			}
			for _, b := range batch {
				rows[b.idx] = b.row
				switch b.row.Outcome {
				case cfg.op.outcome:
					counts.done.Add(1)
				case outNotFound:
					counts.notFound.Add(1)
				default:
					counts.failed.Add(1)
				}
			}
			prog.add(len(batch))
		}
	}()

	var failedInARow atomic.Int64
	maxFailedInARow := max(10, 2*cfg.concurrency)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < cfg.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range jobs {
				row := rows[idx]
				row.Status, row.Code, row.Detail = 0, "", ""
				path := client.UserPath(cfg.conn.app, row.User, cfg.op.suffix)
				if cfg.op.suffix == "" {
					path = client.UserPath(cfg.conn.app, row.User)
				}
				resp, err := cl.Do(rctx, cfg.op.method, path, nil, nil)
				row.Time = nowStamp()
				var apiErr *client.Error
				switch {
				case err == nil:
					row.Outcome, row.Status = cfg.op.outcome, resp.Status
				case errors.As(err, &apiErr):
					row.Status, row.Code, row.Detail = apiErr.Status, apiErr.Code(), apiErr.Title()
					row.Outcome = outFailed
					switch {
					case apiErr.Status == http.StatusNotFound && apiErr.Code() == "user_not_found":
						row.Outcome = outNotFound
					case apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden ||
						apiErr.Status == http.StatusNotFound && apiErr.Code() == "app_not_found":
						setFatal(fmt.Errorf("%d %s (%s): no user can succeed with this key and app; stopped", apiErr.Status, apiErr.Code(), apiErr.Title()))
					}
				default:
					row.Outcome = outFailed
					row.Detail = err.Error()
					var netErr *client.NetworkError
					switch {
					case errors.Is(err, context.Canceled):
						row.Detail = "interrupted before the response arrived"
					case errors.As(err, &netErr):
						row.Detail = "no response: " + netErr.Err.Error() // not the path: it holds the user
					}
				}
				if row.Outcome == outFailed {
					// A run where every user fails (the network is down, the URL is wrong) stops
					// instead of spending its retries on every remaining user.
					if n := failedInARow.Add(1); n >= int64(maxFailedInARow) && dctx.Err() == nil {
						setFatal(fmt.Errorf("%d users in a row failed, the last with %d %s %s; stopped: fix the cause and re-run to resume", n, row.Status, row.Code, row.Detail))
					}
				} else {
					failedInARow.Store(0)
				}
				results <- result{idx, row}
			}
		}()
	}
dispatch:
	for _, idx := range todo {
		select {
		case <-dctx.Done():
			break dispatch
		case jobs <- idx:
		}
	}
	close(jobs)
	wg.Wait()
	close(results)
	<-writerDone
	prog.finish()
	cerr := jr.close()
	interrupted := ctx.Err() != nil

	var notRun int
	for _, idx := range todo {
		if rows[idx].Outcome == outNotRun {
			notRun++
		}
	}
	el := time.Since(start)
	processed := counts.done.Load() + counts.notFound.Load() + counts.failed.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(processed) / el.Seconds()
	}
	var rerr error
	if cfg.report != "" {
		rerr = writeReport(cfg.report, rows)
	}
	fmt.Fprintf(stdout, "%s: %d input lines in %s (%.1f users/s): %d %s, %d not found, %d failed, %d already done, %d invalid, %d not run; %d rate-limited responses\n",
		label, len(items), el.Round(time.Millisecond), rate, counts.done.Load(), cfg.op.outcome, counts.notFound.Load(), counts.failed.Load(), already, invalid, notRun, pacer.Throttled())

	fatalMu.Lock()
	ferr := fatal
	fatalMu.Unlock()
	switch {
	case ferr != nil:
		return errors.Join(ferr, cerr, rerr)
	case cerr != nil || rerr != nil:
		return errors.Join(cerr, rerr)
	case interrupted:
		fmt.Fprintf(stderr, "%s: interrupted; run the same command again to resume (the journal %s has what is done)\n", label, cfg.journal)
		return errReported
	case counts.failed.Load() > 0:
		fmt.Fprintf(stderr, "%s: %d users failed; run the same command again to retry them\n", label, counts.failed.Load())
		return errReported
	}
	return nil
}
