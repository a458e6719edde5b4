package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/sunlamp/sunlamp"
)

func (s *Store) openPostgres(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s.write, s.read = db, db
	return nil
}

// classifyPostgres maps PostgreSQL error codes to the store's error kinds.
func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "23505":
		return errUnique
	case "23503":
		return errForeignKey
	case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
		return sunlamp.ErrBusy
	}
	return nil
}
