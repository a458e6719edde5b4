package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sunlamp/sunlamp/client"
)

const exportUsage = `Usage: sunlamp dsr export USER --out FILE [flags]
       sunlamp dsr export --input FILE --out-dir DIR [flags]

Writes, for each user, one JSON document with everything the Sunshine Conversations v2 API returns
about the person, built from v2 calls only (so it runs against the real service as well as Sunlamp):
GetUser (profile, metadata, identities), ListClients (clients with their channel data), ListDevices,
ListConversations filtered by the user, and ListMessages for each of those conversations: every
message of the user's personal conversations, and in group (sdkGroup) conversations the messages the
user wrote, not the other participants' (their data, not the person's). Media files the included
messages reference (mediaUrl) are downloaded next to the document when they are served by the API's
own host (URLs under --url, such as .../attachments/v2/...); other hosts only with --media-host.

USER is a user id or externalId. With --out FILE the document is FILE and the media go in FILE.media/;
with --input (the format of 'sunlamp dsr erase --help') each user's document is DIR/NAME.json and its
media DIR/NAME.media/, where NAME is the id as given when it is made of a-z, 0-9, _ and - only, and
otherwise the id with other characters replaced by _, a dot and 12 hex digits of its SHA-256.

The document (version 1):
  {"version": 1, "exportedAt": TIME, "source": {"url": URL, "appId": APP},
   "user": USER, "clients": [CLIENT...], "devices": [DEVICE...],
   "conversations": [{"conversation": CONVERSATION, "messages": [MESSAGE...]}...],
   "media": [{"url", "file", "sha256", "size", "mediaType"} or {"url", "skipped"}...]}
with every object as the API returned it, messages oldest first, one record per line. A media entry's
file is relative to the document's folder; "skipped" says why a file is not there (another host, or
the status the download got).

The files hold personal data: documents and media files are created 0600 and folders 0700. Each
document is written to NAME.json.partial (and NAME.media.partial/), fsynced, then renamed; a run that
is killed leaves those, and the re-run rewrites them. Journal, resume, Ctrl-C, rate limits, the
report (outcome exported, with the file and counts as detail) and the exit status are those of
'sunlamp dsr erase --help'. The journal defaults to INPUT.export.journal, or FILE.export.journal for
one USER: a re-run skips users it has, so delete it (or give another --journal) to export again.

Example:
  export SUNLAMP_URL=https://SUBDOMAIN.zendesk.com/sc SUNLAMP_KEY_ID=app_... SUNLAMP_KEY_SECRET=...
  sunlamp dsr export --app 5d8cff3cd55b040010928b5b customer-42 --out customer-42.json
  sunlamp dsr export --app 5d8cff3cd55b040010928b5b --input requests.csv --out-dir exports --report outcome.csv
`

// exportConfig is what `dsr export` adds to a dsr run.
type exportConfig struct {
	user       string   // USER: export this one user to out
	out        string   // --out FILE
	outDir     string   // --out-dir DIR
	mediaHosts []string // --media-host: other hosts media are downloaded from, without credentials
}

// flags registers the export's flags on fs and its usage.
func (x *exportConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&x.out, "out", "", "with USER: the document's `file` (media in FILE.media/)")
	fs.StringVar(&x.outDir, "out-dir", "", "with --input: the `folder` of the documents (made 0700 if missing)")
	fs.Func("media-host", "also download media from `host` (repeatable; without credentials; default: only the API's own host)", func(h string) error {
		if h == "" || strings.ContainsAny(h, "/?#@ ") {
			return fmt.Errorf("%q: want a host name, with a port if any", h)
		}
		x.mediaHosts = append(x.mediaHosts, strings.ToLower(h))
		return nil
	})
	fs.Lookup("input").Usage = "`file` of users: CSV with an id/userId/externalId column, or one per line; - for stdin (or one USER)"
	fs.Lookup("journal").Usage = "journal `file` (default INPUT.export.journal, or FILE.export.journal for one USER)"
	fs.Lookup("concurrency").Usage = "users exported at once (1..256), each one request at a time"
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), exportUsage)
		printDefaults(fs)
	}
}

// checkExport checks the export's arguments and makes its output folder.
func (cfg *dsrConfig) checkExport(pos []string, stderr io.Writer) error {
	x := &cfg.export
	usage := func(format string, args ...any) error {
		fmt.Fprintf(stderr, "sunlamp dsr export: "+format+"\n", args...)
		return errUsage
	}
	switch {
	case len(pos) > 1:
		return usage("want one USER at most (or --input FILE), got %d arguments", len(pos))
	case len(pos) == 1 && cfg.input != "":
		return usage("give USER or --input, not both")
	case len(pos) == 1 && (x.out == "" || x.outDir != ""):
		return usage("USER is exported to --out FILE")
	case len(pos) == 0 && cfg.input != "" && (x.outDir == "" || x.out != ""):
		return usage("the users of --input are exported to --out-dir DIR")
	}
	folder := x.outDir
	if len(pos) == 1 {
		if it := checkValue(1, pos[0]); it.bad != "" {
			return usage("USER refused, nothing sent: %s", it.bad)
		}
		x.user = pos[0]
		if fi, err := os.Stat(x.out); err == nil && fi.IsDir() {
			return usage("--out %s is a folder; want a file name", x.out)
		}
		folder = filepath.Dir(x.out)
	}
	if folder != "" {
		if err := os.MkdirAll(folder, 0o700); err != nil {
			return fmt.Errorf("output folder: %w", err)
		}
	}
	return nil
}

// dest is the absolute path of the export's destination, which its journal is tied to.
func (x *exportConfig) dest() string {
	d := x.out
	if d == "" {
		d = x.outDir
	}
	if d == "" {
		return ""
	}
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}

// paths returns where user's document and media folder go.
func (x *exportConfig) paths(user string) (doc, media string) {
	if x.out != "" {
		return x.out, x.out + ".media"
	}
	name := safeName(user)
	return filepath.Join(x.outDir, name+".json"), filepath.Join(x.outDir, name+".media")
}

// safeName turns a user id or externalId into a file name: itself when it is made of a-z, 0-9, _ and
// - only (every Sunshine user id is); otherwise the id with other characters replaced by _ (at most
// 64), a dot and 12 hex digits of its SHA-256. The dot keeps the two forms apart, and the hash keeps
// apart ids that differ only in replaced characters or in case (on a case-insensitive file system).
func safeName(v string) string {
	plain := len(v) <= 100 && !reservedName(v)
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if plain {
		return v
	}
	var b strings.Builder
	for _, c := range v {
		if b.Len() >= 64 {
			break
		}
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(v))
	return b.String() + "." + hex.EncodeToString(sum[:6])
}

// reservedName reports whether v is a device name on Windows, where con.json is not a file.
func reservedName(v string) bool {
	switch v {
	case "con", "prn", "aux", "nul":
		return true
	}
	return len(v) == 4 && (strings.HasPrefix(v, "com") || strings.HasPrefix(v, "lpt")) && v[3] >= '0' && v[3] <= '9'
}

// safeFileName keeps a media file's name readable and harmless: a-z, A-Z, 0-9, '.', '_' and '-'
// (others become _), no leading dot, at most 80 bytes.
func safeFileName(v string) string {
	var b strings.Builder
	for _, c := range v {
		if b.Len() >= 80 {
			break
		}
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if s == "" {
		return "file"
	}
	return s
}

// exportVersion is the version of the document's format; a change that a reader could trip on
// (a field renamed, moved or given another meaning) makes it 2.
const exportVersion = 1

// listPage is a page of any list the export reads; the one field the list fills is used.
type listPage struct {
	Clients       []json.RawMessage `json:"clients"`
	Devices       []json.RawMessage `json:"devices"`
	Conversations []json.RawMessage `json:"conversations"`
	Messages      []json.RawMessage `json:"messages"`
	Meta          client.Meta       `json:"meta"`
}

// messageRefs is what the export reads of a message: its author, and the media it references.
type messageRefs struct {
	ID     string `json:"id"`
	Author struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	} `json:"author"`
	Content struct {
		MediaURL string `json:"mediaUrl"`
		Items    []struct {
			MediaURL string `json:"mediaUrl"`
		} `json:"items"`
	} `json:"content"`
}

// export writes one user's document. The document is written to a .partial file as the API is
// read (the messages of a conversation, which ListMessages pages from the newest, go through an
// unlinked spill file so that they come out oldest first), and renamed into place by commit. Memory
// holds one page at a time, whatever the number of messages.
type export struct {
	r           *dsrRunner
	doc, media  string // final paths
	docPartial  string
	mediaPart   string
	mediaDir    bool // the media folder was made
	f           *os.File
	w           *bufio.Writer
	spill       *os.File          // a conversation's pages of messages, newest page first
	mediaList   *os.File          // the media entries, as they are found
	mediaCount  int               // entries of the media list
	files       int               // media files downloaded
	seen        map[[32]byte]bool // media URLs handled
	scratch     bytes.Buffer
	apiBase     *url.URL
	committed   bool
	convs, msgs int
}

// exportUser is the export operation of a dsr run: it writes user's document and media.
func exportUser(ctx context.Context, r *dsrRunner, user string) (int, string, error) {
	app := r.cfg.conn.app
	resp, err := r.client.Do(ctx, http.MethodGet, client.UserPath(app, user), nil, nil)
	if err != nil {
		return 0, "", err
	}
	var got struct {
		User json.RawMessage `json:"user"`
	}
	var u struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil || json.Unmarshal(got.User, &u) != nil || u.ID == "" {
		return 0, "", fmt.Errorf("GetUser: the response has no user id")
	}
	doc, media := r.cfg.export.paths(user)
	x, err := newExport(r, doc, media)
	if err != nil {
		return 0, "", err
	}
	defer x.abort()
	if err := x.write(ctx, got.User, u.ID); err != nil {
		return 0, "", err
	}
	if err := x.commit(); err != nil {
		return 0, "", err
	}
	return resp.Status, fmt.Sprintf("%s: %d conversations, %d messages, %d media files", doc, x.convs, x.msgs, x.files), nil
}

// newExport opens the .partial document (rewriting what a killed run left) and the spill files.
func newExport(r *dsrRunner, doc, media string) (*export, error) {
	base, err := url.Parse(r.client.BaseURL())
	if err != nil {
		return nil, err
	}
	x := &export{r: r, doc: doc, media: media, docPartial: doc + ".partial", mediaPart: media + ".partial", seen: map[[32]byte]bool{}, apiBase: base}
	if err := os.RemoveAll(x.mediaPart); err != nil {
		return nil, fmt.Errorf("remove the media of an earlier run: %w", err)
	}
	if x.f, err = createPrivate(x.docPartial); err != nil {
		return nil, err
	}
	x.w = bufio.NewWriterSize(x.f, 64<<10)
	if x.spill, err = spillFile(x.docPartial + "-messages"); err != nil {
		x.abort()
		return nil, err
	}
	if x.mediaList, err = spillFile(x.docPartial + "-media"); err != nil {
		x.abort()
		return nil, err
	}
	return x, nil
}

// createPrivate creates (or truncates) a file that only its owner can read, whatever the umask or
// the mode a file left by an earlier run had.
func createPrivate(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// spillFile returns a private temporary file that is already unlinked where the system allows it, so
// that nothing of it stays behind if the process dies. Its name is the user's, not a random one: a
// process killed between the create and the unlink leaves a file that the re-run, which exports the
// same user, truncates and removes.
func spillFile(name string) (*os.File, error) {
	f, err := createPrivate(name)
	if err != nil {
		return nil, fmt.Errorf("spill file: %w", err)
	}
	os.Remove(name) // fails on Windows while open; closeSpill removes it then
	return f, nil
}

func closeSpill(f *os.File) {
	if f != nil {
		f.Close()
		os.Remove(f.Name())
	}
}

// abort removes what an export that did not commit wrote.
func (x *export) abort() {
	closeSpill(x.spill)
	closeSpill(x.mediaList)
	x.spill, x.mediaList = nil, nil
	if x.committed {
		return
	}
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
	os.Remove(x.docPartial)
	os.RemoveAll(x.mediaPart)
}

// commit makes the document and its media durable and moves them into place: the earlier run's
// media folder goes, the new one and the document are renamed over, and the folder is fsynced.
func (x *export) commit() error {
	if err := x.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", x.docPartial, err)
	}
	if err := x.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", x.docPartial, err)
	}
	err := x.f.Close()
	x.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", x.docPartial, err)
	}
	if x.mediaDir {
		if err := syncDir(x.mediaPart); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(x.media); err != nil {
		return fmt.Errorf("remove the earlier media folder: %w", err)
	}
	if x.mediaDir {
		if err := os.Rename(x.mediaPart, x.media); err != nil {
			return fmt.Errorf("move the media folder into place: %w", err)
		}
	}
	if err := os.Rename(x.docPartial, x.doc); err != nil {
		return fmt.Errorf("move the document into place: %w", err)
	}
	x.committed = true
	return syncDir(filepath.Dir(x.doc))
}

// syncDir fsyncs a folder, so that the names made or renamed in it are durable. Systems that cannot
// (Windows) are not held to it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// raw writes a JSON value as one line (compacted).
func (x *export) raw(v json.RawMessage) {
	x.scratch.Reset()
	if json.Compact(&x.scratch, v) != nil {
		x.scratch.WriteString("null")
	}
	x.w.Write(x.scratch.Bytes())
}

// write writes the document of the user whose GetUser object is user and id is id.
func (x *export) write(ctx context.Context, user json.RawMessage, id string) error {
	cl, app := x.r.client, x.r.cfg.conn.app
	source, _ := json.Marshal(map[string]string{"url": cl.BaseURL(), "appId": app})
	fmt.Fprintf(x.w, "{\"version\": %d,\n\"exportedAt\": %q,\n\"source\": %s,\n\"user\": ", exportVersion, nowStamp(), source)
	x.raw(user)

	x.w.WriteString(",\n\"clients\": [")
	n := 0
	err := x.forward(ctx, "ListClients", client.UserPath(app, id, "clients"), nil, func(p *listPage) error {
		for _, c := range p.Clients {
			x.item(n)
			x.raw(c)
			n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	x.endList(n)

	x.w.WriteString(",\n\"devices\": [")
	resp, err := cl.Do(ctx, http.MethodGet, client.UserPath(app, id, "devices"), nil, nil)
	if err != nil {
		return fmt.Errorf("ListDevices: %w", err)
	}
	var devices listPage
	if err := json.Unmarshal(resp.Body, &devices); err != nil {
		return fmt.Errorf("ListDevices: %w", err)
	}
	for i, d := range devices.Devices {
		x.item(i)
		x.raw(d)
	}
	x.endList(len(devices.Devices))

	x.w.WriteString(",\n\"conversations\": [")
	err = x.forward(ctx, "ListConversations", client.AppPath(app, "conversations"), url.Values{"filter[userId]": {id}}, func(p *listPage) error {
		for _, c := range p.Conversations {
			if err := x.conversation(ctx, c, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	x.endList(x.convs)

	x.w.WriteString(",\n\"media\": [")
	if x.mediaCount > 0 {
		x.w.WriteString("\n")
		if _, err := x.mediaList.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(x.w, x.mediaList); err != nil {
			return fmt.Errorf("media list: %w", err)
		}
		x.w.WriteString("\n")
	}
	x.w.WriteString("]}\n")
	return nil
}

// item starts the i-th record of a list on a line of its own.
func (x *export) item(i int) {
	if i > 0 {
		x.w.WriteByte(',')
	}
	x.w.WriteByte('\n')
}

// endList closes a list of n records.
func (x *export) endList(n int) {
	if n > 0 {
		x.w.WriteByte('\n')
	}
	x.w.WriteByte(']')
}

// forward reads every page of a list that pages forward (the operation op: ListClients,
// ListConversations), 100 at a time, and gives each to fn.
func (x *export) forward(ctx context.Context, op, path string, q url.Values, fn func(*listPage) error) error {
	after := ""
	for {
		pq := url.Values{"page[size]": {"100"}}
		for k, v := range q {
			pq[k] = v
		}
		if after != "" {
			pq.Set("page[after]", after)
		}
		resp, err := x.r.client.Do(ctx, http.MethodGet, path, pq, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		var p listPage
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := fn(&p); err != nil {
			return err
		}
		if !p.Meta.HasMore || p.Meta.AfterCursor == "" || p.Meta.AfterCursor == after {
			return nil
		}
		after = p.Meta.AfterCursor
	}
}

// spilled is one page of messages in the spill file.
type spilled struct{ off, n int64 }

// conversation writes one conversation and its messages: all of them in a personal conversation,
// the user's own in any other (a group conversation's other messages are the other participants'
// data, not the person's; GDPR art. 15(4)).
func (x *export) conversation(ctx context.Context, conv json.RawMessage, userID string) error {
	var c struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(conv, &c); err != nil || c.ID == "" {
		return fmt.Errorf("a conversation without an id")
	}
	all := c.Type == "personal"
	x.item(x.convs)
	x.convs++
	x.w.WriteString(`{"conversation": `)
	x.raw(conv)
	x.w.WriteString(`, "messages": [`)

	// ListMessages pages from the newest page back; each page (oldest first within) goes to the
	// spill file, and the pages are copied out in reverse.
	if err := x.spill.Truncate(0); err != nil {
		return err
	}
	var pages []spilled
	var off int64
	var page bytes.Buffer
	kept := 0
	before := ""
	path := client.ConversationPath(x.r.cfg.conn.app, c.ID, "messages")
	for {
		var q url.Values
		if before != "" {
			q = url.Values{"page[before]": {before}}
		}
		resp, err := x.r.client.Do(ctx, http.MethodGet, path, q, nil)
		if err != nil {
			return fmt.Errorf("ListMessages: %w", err)
		}
		var p listPage
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			return fmt.Errorf("ListMessages: %w", err)
		}
		page.Reset()
		var media []string
		n := 0
		for _, m := range p.Messages {
			var refs messageRefs
			if err := json.Unmarshal(m, &refs); err != nil {
				return fmt.Errorf("ListMessages: %w", err)
			}
			if !all && (refs.Author.Type != "user" || refs.Author.UserID != userID) {
				continue
			}
			if n > 0 {
				page.WriteString(",\n")
			}
			if err := json.Compact(&page, m); err != nil {
				return fmt.Errorf("ListMessages: %w", err)
			}
			n++
			if refs.Content.MediaURL != "" {
				media = append(media, refs.Content.MediaURL)
			}
			for _, it := range refs.Content.Items {
				if it.MediaURL != "" {
					media = append(media, it.MediaURL)
				}
			}
		}
		if n > 0 {
			if _, err := x.spill.WriteAt(page.Bytes(), off); err != nil {
				return fmt.Errorf("spill file: %w", err)
			}
			pages = append(pages, spilled{off, int64(page.Len())})
			off += int64(page.Len())
			kept += n
			x.r.messages.Add(int64(n))
		}
		for _, u := range media {
			if err := x.download(ctx, u); err != nil {
				return err
			}
		}
		if !p.Meta.HasMore || p.Meta.BeforeCursor == "" || p.Meta.BeforeCursor == before {
			break
		}
		before = p.Meta.BeforeCursor
	}
	for i := len(pages) - 1; i >= 0; i-- {
		if i == len(pages)-1 {
			x.w.WriteByte('\n')
		} else {
			x.w.WriteString(",\n")
		}
		if _, err := io.Copy(x.w, io.NewSectionReader(x.spill, pages[i].off, pages[i].n)); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
	}
	x.msgs += kept
	x.endList(kept)
	x.w.WriteString("}")
	return nil
}

// mediaEntry is an entry of the document's media list.
type mediaEntry struct {
	URL       string `json:"url"`
	File      string `json:"file,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
}

// download fetches a media URL into the media folder, once per URL, when it is on the API's own host
// (or a --media-host), and lists it. A 4xx (the file is gone) or a redirect is listed as skipped; any
// other failure fails the user's export, to be tried again by the re-run.
func (x *export) download(ctx context.Context, raw string) error {
	key := sha256.Sum256([]byte(raw))
	if x.seen[key] {
		return nil
	}
	x.seen[key] = true
	e := mediaEntry{URL: raw}
	if name, ok := x.mediaName(raw, key); !ok {
		e.Skipped = "not on the API's host (see --media-host)"
	} else if err := x.fetch(ctx, raw, name, &e); err != nil {
		return err
	}
	return x.listMedia(e)
}

// mediaName returns the file name of a media URL that is to be downloaded: an attachment of the API's host (/attachments/v2/{id}/{name} under the base URL)
// is {id}-{name}; a file of a --media-host is 16 hex digits of its URL's SHA-256, '-' and its name.
func (x *export) mediaName(raw string, key [32]byte) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.Host == "" {
		return "", false
	}
	prefix := strings.TrimSuffix(x.apiBase.EscapedPath(), "/") + "/attachments/v2/"
	if x.r.client.IsUnderBaseURL(u) {
		if rest, found := strings.CutPrefix(u.EscapedPath(), prefix); found {
			id, file, _ := strings.Cut(rest, "/")
			if f, err := url.PathUnescape(file); err == nil {
				file = f
			}
			return safeFileName(id + "-" + file), true
		}
		return "", false // the API's host, but not its media: nothing to fetch with the key
	}
	for _, h := range x.r.cfg.export.mediaHosts {
		if strings.EqualFold(u.Host, h) {
			return hex.EncodeToString(key[:8]) + "-" + safeFileName(path.Base(u.Path)), true
		}
	}
	return "", false
}

// fetch downloads raw into the media folder as name and fills e.
func (x *export) fetch(ctx context.Context, raw, name string, e *mediaEntry) error {
	if !x.mediaDir {
		if err := os.Mkdir(x.mediaPart, 0o700); err != nil {
			return fmt.Errorf("media folder: %w", err)
		}
		if err := os.Chmod(x.mediaPart, 0o700); err != nil {
			return fmt.Errorf("media folder: %w", err)
		}
		x.mediaDir = true
	}
	p := filepath.Join(x.mediaPart, name)
	f, err := createPrivate(p)
	if err != nil {
		return fmt.Errorf("media file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	m, err := x.r.client.GetAttachmentMedia(ctx, raw, func() (io.Writer, error) {
		if err := f.Truncate(0); err != nil {
			return nil, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		h.Reset()
		return io.MultiWriter(f, h), nil
	})
	var apiErr *client.Error
	var netErr *client.NetworkError
	switch {
	case err == nil:
	case errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests:
		f.Close()
		os.Remove(p)
		e.Skipped = fmt.Sprintf("%d %s", apiErr.Status, http.StatusText(apiErr.Status))
		if errors.Is(err, client.ErrRedirected) {
			e.Skipped += ": redirect not followed"
		}
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &apiErr):
		// Not wrapped: a 401 or 403 of a media host must not read as the API refusing the key.
		return fmt.Errorf("media download: %d %s", apiErr.Status, http.StatusText(apiErr.Status))
	case errors.As(err, &netErr):
		return fmt.Errorf("media download: no response: %v", netErr.Err) // not the URL: it names the file
	default:
		return fmt.Errorf("media download: %v", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("media file: %w", err)
	}
	e.File = filepath.ToSlash(filepath.Join(filepath.Base(x.media), name))
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	e.Size = m.Size
	e.MediaType = m.MediaType
	x.files++
	x.r.media.Add(1)
	return nil
}

// listMedia appends e to the media list.
func (x *export) listMedia(e mediaEntry) error {
	x.scratch.Reset()
	if x.mediaCount > 0 {
		x.scratch.WriteString(",\n")
	}
	enc := json.NewEncoder(&x.scratch)
	enc.SetEscapeHTML(false) // URLs keep their & as it is
	if err := enc.Encode(e); err != nil {
		return err
	}
	b := bytes.TrimSuffix(x.scratch.Bytes(), []byte("\n"))
	if _, err := x.mediaList.Write(b); err != nil {
		return fmt.Errorf("media list: %w", err)
	}
	x.mediaCount++
	return nil
}
