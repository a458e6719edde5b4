package sqlstore

// UniqueViolations returns how many unique violations the database raised to this store.
func (s *Store) UniqueViolations() int64 { return s.uniqueViolations.Load() }
