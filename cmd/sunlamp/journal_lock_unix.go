//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockJournal takes an exclusive lock on the journal file for the life of the process, so that two
// runs over the same journal (which could both erase the same user) cannot happen at once.
func lockJournal(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("journal %s is in use by another sunlamp dsr run", f.Name())
	}
	if err != nil {
		return fmt.Errorf("lock journal %s: %w", f.Name(), err)
	}
	return nil
}
