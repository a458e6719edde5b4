package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sunlamp/sunlamp"
)

// auditState is the store's audit trail configuration and its background janitor, which removes
// entries and deletion receipts older than the retention.
type auditState struct {
	log       *slog.Logger
	retention time.Duration // 0: sunlamp.DefaultAuditRetention
	period    time.Duration // how often the janitor looks; 0: auditSweepPeriod
	disabled  bool
	job       *job
}

// auditSweepPeriod is how often the audit janitor removes expired entries. Entries are kept for
// years, so an hour late is nothing; the emulator's clock moves by wake-ups (WakeAuditJanitor).
const auditSweepPeriod = time.Hour

// auditBatch is how many expired rows one janitor transaction removes, so that writers never wait
// long behind it.
const auditBatch = 500

// WithLogger makes the store write its structured log lines (one per audit entry) to l; without it
// they go nowhere (sunlamp serve passes its logger; a program embedding the store chooses).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.audit.log = l } }

// WithAuditRetention sets how long audit entries and deletion receipts are kept (default
// sunlamp.DefaultAuditRetention); older ones are removed in the background by the store's clock.
func WithAuditRetention(d time.Duration) Option { return func(s *Store) { s.audit.retention = d } }

// WithoutAuditJanitor keeps the store from removing expired audit entries in the background (tests
// call SweepAudit themselves).
func WithoutAuditJanitor() Option { return func(s *Store) { s.audit.disabled = true } }

var discardLog = slog.New(slog.DiscardHandler)

func (s *Store) auditLog() *slog.Logger {
	if s.audit.log != nil {
		return s.audit.log
	}
	return discardLog
}

// AuditRetention returns how long audit entries and deletion receipts are kept.
func (s *Store) AuditRetention() time.Duration {
	if s.audit.retention > 0 {
		return s.audit.retention
	}
	return sunlamp.DefaultAuditRetention
}

// startAuditJanitor starts the remover of expired audit entries and receipts.
func (s *Store) startAuditJanitor() {
	if s.audit.disabled {
		return
	}
	period := s.audit.period
	if period <= 0 {
		period = auditSweepPeriod
	}
	s.audit.job = startJob(everyOrWoken(period, func(ctx context.Context) {
		if _, err := s.SweepAudit(ctx); err != nil && ctx.Err() == nil {
			s.auditLog().Warn("audit retention sweep failed", "error", err.Error())
		}
	}))
	s.audit.job.wake()
}

// stopAuditJanitor stops the janitor and waits for it.
func (s *Store) stopAuditJanitor() { s.audit.job.stop() }

// WakeAuditJanitor asks the janitor for a sweep now (after the emulator's clock moved).
func (s *Store) WakeAuditJanitor() { s.audit.job.wake() }

// SweepAudit removes the audit entries and deletion receipts older than the retention by the store's
// clock, in batches of auditBatch rows a transaction, and returns how many rows it removed. Pending
// receipts are kept whatever their age: their purge has not finished.
func (s *Store) SweepAudit(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.AuditRetention()).UnixMilli()
	var total int64
	for _, q := range []string{
		"DELETE FROM audit_entries WHERE id IN (SELECT id FROM audit_entries WHERE at < ? LIMIT ?)",
		"DELETE FROM deletions WHERE user_id IN (SELECT user_id FROM deletions WHERE requested_at < ? AND completed_at IS NOT NULL LIMIT ?)",
	} {
		for {
			var n int64
			err := s.inTx(ctx, func(t tx) error {
				res, err := t.exec(ctx, q, cutoff, auditBatch)
				if err != nil {
					return err
				}
				n, _ = res.RowsAffected()
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("sweep audit: %w", err)
			}
			total += n
			if n < auditBatch {
				break
			}
		}
	}
	return total, nil
}

// RecordAudit stores an audit entry made outside the store's transactions; see sunlamp.AuditStore.
func (s *Store) RecordAudit(ctx context.Context, e sunlamp.AuditEntry) error {
	var rec sunlamp.AuditEntry
	err := s.inTx(ctx, func(t tx) error {
		var err error
		rec, err = t.insertAudit(ctx, e)
		return err
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	s.logAudit(rec)
	return nil
}

// auditFailure records that op failed on userID's user of appID (userID "" when the user was not
// found: what the caller named it by may be an externalId, which the trail never holds), with the
// error's code as the outcome. Nothing is recorded for an app that does not exist. Failing to record
// is logged, not returned: the caller returns the operation's own error.
func (s *Store) auditFailure(ctx context.Context, appID, op, userID string, err error) {
	outcome := "internal"
	if se := (*sunlamp.Error)(nil); errors.As(err, &se) {
		if se.Code == sunlamp.ErrAppNotFound.Code {
			return
		}
		outcome = se.Code
	}
	e := sunlamp.AuditEntry{AppID: appID, Operation: op, UserID: userID, Outcome: outcome}
	if rerr := s.RecordAudit(context.WithoutCancel(ctx), e); rerr != nil && !errors.Is(rerr, errForeignKey) {
		s.auditLog().Warn("audit entry not recorded", "appId", appID, "operation", op, "userId", userID, "outcome", outcome, "error", rerr.Error())
	}
}

// recordAudit stores an audit entry in the transaction, so that it commits with the change it
// records; its log line is written once the transaction commits.
func (t tx) recordAudit(ctx context.Context, e sunlamp.AuditEntry) error {
	rec, err := t.insertAudit(ctx, e)
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	if t.st != nil {
		t.st.audits = append(t.st.audits, rec)
	}
	return nil
}

// insertAudit fills in e's id, time, actor and outcome where empty, and inserts it.
func (t tx) insertAudit(ctx context.Context, e sunlamp.AuditEntry) (sunlamp.AuditEntry, error) {
	if e.ID == "" {
		e.ID = sunlamp.NewID()
	}
	if e.At.IsZero() {
		e.At = t.s.now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	if e.KeyID == "" {
		e.KeyID = sunlamp.ActorOf(ctx)
	}
	if e.Outcome == "" {
		e.Outcome = sunlamp.AuditOK
	}
	var counts any
	if len(e.Counts) > 0 {
		b, err := json.Marshal(e.Counts) // map[string]int64: names of our own, numbers only
		if err != nil {
			return e, err
		}
		counts = string(b)
	}
	_, err := t.exec(ctx, "INSERT INTO audit_entries (id, app_id, at, operation, user_id, key_id, outcome, counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.AppID, e.At.UnixMilli(), e.Operation, nullStr(e.UserID), e.KeyID, e.Outcome, counts)
	return e, err
}

// logAudits writes the log lines of the entries a committed transaction recorded.
func (s *Store) logAudits(es []sunlamp.AuditEntry) {
	for _, e := range es {
		s.logAudit(e)
	}
}

// logAudit writes one structured log line for an audit entry: ids and counts only, like the entry.
func (s *Store) logAudit(e sunlamp.AuditEntry) {
	attrs := []any{"auditId", e.ID, "appId", e.AppID, "operation", e.Operation, "userId", e.UserID, "keyId", e.KeyID, "outcome", e.Outcome}
	if len(e.Counts) > 0 {
		counts := make([]any, 0, len(e.Counts))
		for k, v := range e.Counts {
			counts = append(counts, slog.Int64(k, v))
		}
		attrs = append(attrs, slog.Group("counts", counts...))
	}
	s.auditLog().Info("audit", attrs...)
}

const auditColumns = "id, app_id, at, operation, user_id, key_id, outcome, counts"

func scanAudit(sc scanner) (sunlamp.AuditEntry, error) {
	var e sunlamp.AuditEntry
	var at int64
	var user, counts sql.NullString
	if err := sc.Scan(&e.ID, &e.AppID, &at, &e.Operation, &user, &e.KeyID, &e.Outcome, &counts); err != nil {
		return e, err
	}
	e.At, e.UserID = sunlamp.FromMillis(at), user.String
	if counts.Valid {
		if err := json.Unmarshal([]byte(counts.String), &e.Counts); err != nil {
			return e, fmt.Errorf("audit entry %s counts: %w", e.ID, err)
		}
	}
	return e, nil
}

// AuditEntries returns a page of the app's audit entries, oldest first; see sunlamp.AuditStore.
func (s *Store) AuditEntries(ctx context.Context, appID string, f sunlamp.AuditFilter, p sunlamp.Page) ([]sunlamp.AuditEntry, sunlamp.Cursor, error) {
	where, args := "app_id = ?", []any{appID}
	and := func(cond string, arg any) {
		where += " AND " + cond
		args = append(args, arg)
	}
	if f.UserID != "" {
		and("user_id = ?", f.UserID)
	}
	if f.Operation != "" {
		and("operation = ?", f.Operation)
	}
	if !f.Since.IsZero() {
		and("at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		and("at < ?", f.Until.UnixMilli())
	}
	var out []sunlamp.AuditEntry
	var cur sunlamp.Cursor
	err := s.readTx(ctx, func(t tx) error {
		if _, err := t.app(ctx, appID); err != nil {
			return err
		}
		var err error
		out, cur, err = pageOf(ctx, t, p, pageQuery{columns: auditColumns, from: "audit_entries", where: where, args: args},
			scanAudit, func(e sunlamp.AuditEntry) string { return e.ID })
		return err
	})
	if err != nil {
		return nil, cur, fmt.Errorf("list audit entries: %w", err)
	}
	return out, cur, nil
}

var _ sunlamp.AuditStore = (*Store)(nil)
