package api

import "time"

// SetExportWriteTimeout sets the export's per-page write deadline for a test, and returns what
// restores it. (A _test.go file of package api: the package's external tests see it, nothing else.)
func SetExportWriteTimeout(d time.Duration) (restore func()) {
	old := exportWriteTimeout
	exportWriteTimeout = d
	return func() { exportWriteTimeout = old }
}
