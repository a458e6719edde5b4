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
	"strings"
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
  export   one JSON document (and the media files) per user, with everything the v2 API returns
           about the person: 'sunlamp dsr export USER --out FILE' or '--input FILE --out-dir DIR'

Run 'sunlamp dsr erase --help' for the input format, the journal, the report and the flags, and
'sunlamp dsr export --help' for the document.

Example:
  sunlamp dsr erase --app 5d8cff3cd55b040010928b5b --input users.csv --report outcome.csv
`

// dsrOp is one bulk operation.
type dsrOp struct {
	name, operation, outcome string
	// perform carries the operation out for one user (an id or externalId) and returns the status
	// of the response that decided it and a detail for the report; an error is classified by send.
	perform func(ctx context.Context, r *dsrRunner, user string) (status int, detail string, err error)
}

var dsrOps = map[string]dsrOp{
	"erase":  {"erase", "DeleteUserPersonalInformation", outErased, deleteCall("personalinformation")},
	"delete": {"delete", "DeleteUser", outDeleted, deleteCall("")},
	"export": {"export", "GetUser, ListClients, ListDevices, ListConversations and ListMessages", outExported, exportUser},
}

// deleteCall performs DELETE on the user's path followed by suffix (none when "").
func deleteCall(suffix string) func(context.Context, *dsrRunner, string) (int, string, error) {
	return func(ctx context.Context, r *dsrRunner, user string) (int, string, error) {
		path := client.UserPath(r.cfg.conn.app, user)
		if suffix != "" {
			path = client.UserPath(r.cfg.conn.app, user, suffix)
		}
		resp, err := r.client.Do(ctx, http.MethodDelete, path, nil, nil)
		if err != nil {
			return 0, "", err
		}
		return resp.Status, "", nil
	}
}

const dsrCommandUsage = `Usage: sunlamp dsr %[1]s --input FILE [flags]

Calls %[2]s for every user named in FILE and reports the outcome of each.

Input: a CSV file whose header row has an id, userId or externalId column (the first of these
found is used), or a file with one user id or externalId per line; '-' reads standard input. Blank
lines are skipped; lines that cannot name a user (malformed CSV, an empty CSV value, "." or "..",
over 1024 bytes, control characters, a repeat of an earlier line) are reported by line number as
invalid (or duplicate), and nothing is sent for them.

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
	export      exportConfig // export only
	wait        waitConfig   // delete only
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
	if op.name == "export" {
		cfg.export.flags(fs)
	}
	if op.name == "delete" {
		cfg.wait.flags(fs)
	}
	pos, err := parseArgs(fs, args[1:], stdout, stderr)
	if err != nil {
		if err == errHelp {
			return nil
		}
		return err
	}
	if op.name == "export" {
		if err := cfg.checkExport(pos, stderr); err != nil {
			return err
		}
	}
	switch {
	case op.name != "export" && len(pos) > 0:
		fmt.Fprintf(stderr, "sunlamp dsr %s: unexpected argument %q (the users come from --input)\n", op.name, pos[0])
		return errUsage
	case cfg.input == "" && cfg.export.user == "":
		fmt.Fprintf(stderr, "sunlamp dsr %s: --input is required\n", op.name)
		return errUsage
	case cfg.concurrency < 1 || cfg.concurrency > 256:
		return fmt.Errorf("--concurrency %d: want 1..256", cfg.concurrency)
	case cfg.attempts < 1:
		return fmt.Errorf("--max-attempts %d: want at least 1", cfg.attempts)
	case cfg.journal == "" && cfg.input == "-":
		return errors.New("--journal is required when the input is standard input")
	}
	if err := cfg.wait.check(); err != nil {
		return err
	}
	if cfg.wait.on {
		cfg.op.perform = deleteResolving
	}
	if cfg.journal == "" {
		cfg.journal = cfg.input + "." + op.name + ".journal"
		if cfg.export.user != "" {
			cfg.journal = cfg.export.out + "." + op.name + ".journal"
		}
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
	items, err := cfg.items(stdin)
	if err != nil {
		return err
	}
	jr, err := openJournal(cfg.journal, journalHeader{Op: cfg.op.name, URL: cl.BaseURL(), App: cfg.conn.app, Out: cfg.export.dest()})
	if err != nil {
		return err
	}
	r := &dsrRunner{cfg: cfg, client: cl, pacer: pacer, journal: jr, stderr: stderr, label: "dsr " + cfg.op.name}
	r.plan(items)
	start := time.Now()
	r.execute(ctx)
	cerr := jr.close()
	var werr error
	if cfg.wait.on && r.fatalErr() == nil && ctx.Err() == nil {
		werr = r.waitDeletions(ctx, stdout)
	}
	var rerr error
	if cfg.report != "" {
		rerr = writeReport(cfg.report, r.rows)
	}
	r.summary(stdout, len(items), time.Since(start))

	switch {
	case r.fatalErr() != nil:
		return errors.Join(r.fatalErr(), cerr, rerr)
	case cerr != nil || rerr != nil:
		return errors.Join(cerr, rerr)
	case werr != nil:
		return werr
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "%s: interrupted; run the same command again to resume (the journal %s has what is done)\n", r.label, cfg.journal)
		return errReported
	case r.failed.Load() > 0:
		fmt.Fprintf(stderr, "%s: %d users failed; run the same command again to retry them\n", r.label, r.failed.Load())
		return errReported
	}
	return nil
}

// items returns the users to process: the one USER of an export, or those of --input.
func (cfg *dsrConfig) items(stdin io.Reader) ([]inputItem, error) {
	if cfg.export.user != "" {
		return []inputItem{checkValue(1, cfg.export.user)}, nil
	}
	in := stdin
	if cfg.input != "-" {
		f, err := os.Open(cfg.input)
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		in = f
	}
	items, err := readInput(in)
	if err != nil {
		return nil, fmt.Errorf("--input %s: %w", cfg.input, err)
	}
	return items, nil
}

// dsrRunner is one dsr run: the outcome of every input line, and the counters.
type dsrRunner struct {
	cfg     dsrConfig
	client  *client.Client
	pacer   *client.Pacer
	journal *journal
	stderr  io.Writer
	label   string

	rows              []reportRow // one per input item, in input order
	todo              []int       // indexes of rows to send
	invalid, already  int
	done, notFound    atomic.Int64
	failed, failedRow atomic.Int64 // failedRow: failures in a row
	messages, media   atomic.Int64 // export: messages written, media files downloaded
	resolved          sync.Map     // delete --wait: input user -> the internal id it was deleted by

	mu    sync.Mutex
	fatal error
}

// result is the outcome of one user, on its way to the journal.
type result struct {
	idx int
	row reportRow
}

// plan fills the report rows: bad input lines are reported, users the journal has are already done,
// and the rest are to do.
func (r *dsrRunner) plan(items []inputItem) {
	r.rows = make([]reportRow, len(items))
	for i, it := range items {
		r.rows[i] = reportRow{Line: it.line, User: it.user}
		if it.bad != "" {
			r.invalid++
			r.rows[i].Outcome, r.rows[i].Detail = outInvalid, it.bad
			if strings.HasPrefix(it.bad, "duplicate") {
				r.rows[i].Outcome = outDuplicate
			}
			if r.invalid <= 20 {
				// The line number only: the value may be personal data.
				fmt.Fprintf(r.stderr, "%s: input line %d skipped: %s\n", r.label, it.line, it.bad)
			} else if r.invalid == 21 {
				fmt.Fprintf(r.stderr, "%s: more input lines skipped; see --report\n", r.label)
			}
			continue
		}
		if j, ok := r.journal.done[it.user]; ok {
			r.already++
			r.rows[i] = reportRow{Line: it.line, User: it.user, Outcome: outAlreadyDone, Status: j.Status, Code: j.Code, Detail: j.Outcome, Time: j.Time}
			continue
		}
		r.rows[i].Outcome = outNotRun
		r.todo = append(r.todo, i)
	}
}

// setFatal stops the dispatch of new users for err.
func (r *dsrRunner) setFatal(err error, stop func()) {
	r.mu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.mu.Unlock()
	stop()
}

func (r *dsrRunner) fatalErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatal
}

// execute sends the users to do with bounded concurrency until they are all done, ctx is cancelled
// (Ctrl-C), or a fatal error stops the run.
func (r *dsrRunner) execute(ctx context.Context) {
	// dctx stops the dispatch of new users; rctx, which requests use, outlives it by the grace
	// period so that the requests in flight at Ctrl-C finish and get journaled.
	dctx, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	rctx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			fmt.Fprintf(r.stderr, "\n%s: stopping: finishing the requests in flight (for up to %s); Ctrl-C again quits at once\n", r.label, r.cfg.grace)
			// The next Ctrl-C kills the process: what is journaled stays done, and the requests in
			// flight are sent again by the re-run, which is safe.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
		case <-finished:
		}
	}()
	go func() {
		<-dctx.Done()
		t := time.NewTimer(r.cfg.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelRequests()
		case <-rctx.Done():
		}
	}()

	prog := newProgress(r.stderr, isTerminal(r.stderr), r.label, len(r.todo), r.cfg.interval, func() string {
		exported := ""
		if r.cfg.op.name == "export" {
			exported = fmt.Sprintf("%d messages, %d media files, ", r.messages.Load(), r.media.Load())
		}
		return fmt.Sprintf("(%s%d not found, %d failed, %d throttled)", exported, r.notFound.Load(), r.failed.Load(), r.pacer.Throttled())
	})
	results := make(chan result, r.cfg.concurrency*2)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		r.writeJournal(results, prog, stopDispatch)
	}()

	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range jobs {
				row, fatal := r.send(rctx, r.rows[idx])
				if fatal != nil {
					r.setFatal(fatal, stopDispatch)
				}
				if row.Outcome != outFailed {
					r.failedRow.Store(0)
				} else if n := r.failedRow.Add(1); n >= int64(max(10, 2*r.cfg.concurrency)) && dctx.Err() == nil {
					// A run where every user fails (the network is down, the URL is wrong) stops
					// instead of spending its retries on every remaining user.
					r.setFatal(fmt.Errorf("%d users in a row failed, the last with %d %s %s; stopped: fix the cause and re-run to resume", n, row.Status, row.Code, row.Detail), stopDispatch)
				}
				results <- result{idx, row}
			}
		}()
	}
dispatch:
	for _, idx := range r.todo {
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
}

// send performs the operation for one user and returns its row, and an error when the outcome says
// that no other user can succeed either (bad key, wrong app).
func (r *dsrRunner) send(ctx context.Context, row reportRow) (reportRow, error) {
	status, detail, err := r.cfg.op.perform(ctx, r, row.User)
	row.Time = nowStamp()
	row.Status, row.Code, row.Detail = 0, "", ""
	var apiErr *client.Error
	var netErr *client.NetworkError
	switch {
	case err == nil:
		row.Outcome, row.Status, row.Detail = r.cfg.op.outcome, status, detail
	case errors.As(err, &apiErr):
		row.Outcome, row.Status, row.Code, row.Detail = outFailed, apiErr.Status, apiErr.Code(), apiErr.Title()
		switch {
		case apiErr.Status == http.StatusNotFound && apiErr.Code() == "user_not_found":
			row.Outcome = outNotFound
		case apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden ||
			apiErr.Status == http.StatusNotFound && apiErr.Code() == "app_not_found":
			return row, fmt.Errorf("%d %s (%s): no user can succeed with this key and app; stopped", apiErr.Status, apiErr.Code(), apiErr.Title())
		case errors.Is(err, client.ErrRedirected):
			// The ids that a path cleaning would redirect ("", ".", "..") are never sent, so a
			// redirect comes from the URL (http to https, a moved host) and every user would get it.
			row.Detail = "redirect not followed"
			return row, fmt.Errorf("%d %s: %v; check --url; stopped", apiErr.Status, http.StatusText(apiErr.Status), client.ErrRedirected)
		}
	case errors.Is(err, context.Canceled):
		row.Outcome, row.Detail = outFailed, "interrupted before the response arrived"
	case errors.As(err, &netErr):
		row.Outcome, row.Detail = outFailed, "no response: "+netErr.Err.Error() // not the path: it holds the user
	default:
		row.Outcome, row.Detail = outFailed, err.Error()
	}
	return row, nil
}

// writeJournal journals final outcomes as they come, with a group commit: one fsync for whatever
// finished meanwhile. A user counts as done, in the rows and the progress, only once its record is
// durable.
func (r *dsrRunner) writeJournal(results <-chan result, prog *progress, stop func()) {
	batch := make([]result, 0, 64)
	for first := range results {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < cap(batch) {
			select {
			case res, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, res)
			default:
				break drain
			}
		}
		var err error
		for _, b := range batch {
			if b.row.Outcome == r.cfg.op.outcome || b.row.Outcome == outNotFound {
				err = errors.Join(err, r.journal.add(journalRecord{User: b.row.User, Outcome: b.row.Outcome, Status: b.row.Status, Code: b.row.Code, Time: b.row.Time}))
			}
		}
		if err == nil {
			err = r.journal.commit()
		}
		if err != nil {
			r.setFatal(fmt.Errorf("journal %s: %w", r.cfg.journal, err), stop)
		}
		for _, b := range batch {
			r.rows[b.idx] = b.row
			switch b.row.Outcome {
			case r.cfg.op.outcome:
				r.done.Add(1)
			case outNotFound:
				r.notFound.Add(1)
			default:
				r.failed.Add(1)
			}
		}
		prog.add(len(batch))
	}
}

// summary prints the summary line.
func (r *dsrRunner) summary(w io.Writer, lines int, elapsed time.Duration) {
	notRun := 0
	for _, idx := range r.todo {
		if r.rows[idx].Outcome == outNotRun {
			notRun++
		}
	}
	processed := r.done.Load() + r.notFound.Load() + r.failed.Load()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(processed) / elapsed.Seconds()
	}
	exported := ""
	if r.cfg.op.name == "export" {
		exported = fmt.Sprintf("; %d messages and %d media files written", r.messages.Load(), r.media.Load())
	}
	fmt.Fprintf(w, "%s: %d input lines in %s (%.1f users/s): %d %s, %d not found, %d failed, %d already done, %d invalid, %d not run; %d rate-limited responses%s\n",
		r.label, lines, elapsed.Round(time.Millisecond), rate, r.done.Load(), r.cfg.op.outcome, r.notFound.Load(), r.failed.Load(), r.already, r.invalid, notRun, r.pacer.Throttled(), exported)
}
