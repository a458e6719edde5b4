package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sunlamp/sunlamp/sqlstore"
)

const backupUsage = `Usage: sunlamp backup --db sqlite:PATH --out FILE [--media-dir DIR]

Copies a SQLite store, while servers keep writing to it, to FILE: one consistent snapshot of the
database (VACUUM INTO), compact, created 0600, flushed to disk and checked before it takes its name;
the files of its attachments go to FILE-media (0700), where 'sunlamp serve --db sqlite:FILE' looks
for them. FILE and FILE-media must not exist: a backup never overwrites.

A backup holds what was erased or deleted after it was taken. Keep backups under the same retention
as the data, and after a restore erase again what was erased since the backup (README: Run in
production, Backups).

To restore: stop the server, put FILE (and FILE-media) in place of the database (and its media
directory), remove the old database's -wal and -shm files, and start the server.

PostgreSQL: use PostgreSQL's own tools (pg_dump, or base backups with WAL archiving).

Flags:
`

// runBackup is `sunlamp backup`.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", getenv("SUNLAMP_DB"), "the store to copy: sqlite:PATH (`SUNLAMP_DB`)")
	out := fs.String("out", "", "the file to write; it must not exist")
	mediaDir := fs.String("media-dir", getenv("SUNLAMP_MEDIA_DIR"), "the store's media directory, when not PATH-media (`SUNLAMP_MEDIA_DIR`)")
	fs.Usage = func() {
		fmt.Fprint(stderr, backupUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 || *db == "" || *out == "" {
		fmt.Fprint(stderr, "sunlamp backup: --db and --out are required, and nothing else\n\n")
		fs.Usage()
		return errUsage
	}
	res, err := sqlstore.Backup(ctx, *db, *out, *mediaDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up to %s (%d bytes)\n", res.Path, res.Bytes)
	if res.MediaDir != "" {
		fmt.Fprintf(stdout, "attachments: %d files copied to %s", res.Attachments, res.MediaDir)
		if res.Missing > 0 {
			fmt.Fprintf(stdout, "; %d deleted while the backup ran were not", res.Missing)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}
