package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// isTerminal reports whether w is a terminal (a character device), where a progress bar redraws in
// place; anywhere else (a file, a pipe, CI logs) progress is printed as plain periodic lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows how far a run is: a bar with rate and ETA redrawn on a terminal, or a line every
// interval otherwise. It never prints ids or anything else personal.
type progress struct {
	w        io.Writer
	tty      bool
	label    string
	total    int
	interval time.Duration
	stats    func() string // extra counters for the line

	mu    sync.Mutex
	done  int
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer, tty bool, label string, total int, interval time.Duration, stats func() string) *progress {
	p := &progress{w: w, tty: tty, label: label, total: total, interval: interval, stats: stats, start: time.Now(), stop: make(chan struct{})}
	if interval > 0 && total > 0 {
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

// add counts n more users done.
func (p *progress) add(n int) {
	p.mu.Lock()
	p.done += n
	p.mu.Unlock()
}

func (p *progress) loop() {
	defer p.wg.Done()
	every := p.interval
	if p.tty {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.print(false)
		}
	}
}

// finish stops the updates and prints a last one.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.total > 0 && p.interval > 0 {
		p.print(true)
	}
}

func (p *progress) print(last bool) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	el := time.Since(p.start)
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el.Seconds()
	}
	eta := "--"
	if rate > 0 && done < p.total {
		eta = fmtDuration(time.Duration(float64(p.total-done) / rate * float64(time.Second)))
	}
	pct := 100 * float64(done) / float64(p.total)
	extra := ""
	if p.stats != nil {
		extra = p.stats()
	}
	if p.tty {
		const width = 30
		fill := int(float64(width) * float64(done) / float64(p.total))
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		end := ""
		if last {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s [%s] %d/%d %3.0f%% %.1f/s ETA %s %s%s", p.label, bar, done, p.total, pct, rate, eta, extra, end)
		return
	}
	if last {
		return // the summary line follows
	}
	fmt.Fprintf(p.w, "%s: %d/%d done (%.0f%%), %.1f users/s, ETA %s %s\n", p.label, done, p.total, pct, rate, eta, extra)
}

// fmtDuration formats d as h:mm:ss or m:ss.
func fmtDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
