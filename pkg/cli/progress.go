package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// progressEvery is how often a progress line is redrawn at most.
const progressEvery = 250 * time.Millisecond

// progressLine draws how a long read goes on one terminal line, redrawn in place: the phase, how
// many of how many, the Organizations calls made, and at the current rate the time left. It
// draws at most every progressEvery, and the last state of each phase always; done ends the
// line.
type progressLine struct {
	w     io.Writer
	now   func() time.Time
	mu    sync.Mutex
	start time.Time // when the current phase started
	phase string
	drawn time.Time
	open  bool // a line is drawn and not yet ended
}

func newProgressLine(w io.Writer, now func() time.Time) *progressLine {
	return &progressLine{w: w, now: now}
}

// update is guardrail.Options.Progress.
func (p *progressLine) update(pr guardrail.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if pr.Phase != p.phase {
		p.phase, p.start = pr.Phase, now
	}
	last := pr.Done >= pr.Total
	if !last && now.Sub(p.drawn) < progressEvery {
		return
	}
	p.drawn = now
	line := fmt.Sprintf("%s: %d of %d %s, %d calls", pr.Phase, pr.Done, pr.Total, pr.Unit, pr.Calls)
	if elapsed := now.Sub(p.start); pr.Done > 0 && !last && elapsed > 0 {
		left := time.Duration(float64(elapsed) / float64(pr.Done) * float64(pr.Total-pr.Done)).Round(time.Second)
		line += fmt.Sprintf(", about %s left", left)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.open = true
}

// done ends the line, if one is drawn.
func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
