// Package simtime is a discrete-event clock: the time rootwindow's handlers, its emulators and
// the local state machine runner share when the workflow runs on one machine (the harness, the
// demo).
//
// Virtual time never follows the wall clock. It stands still while anything works, and jumps to
// the next timer (a Wait state's end, a retry's back-off, a task's deadline, a sweep) only when
// every actor is waiting on one. So a busy CPU, a slow start of node or a GC pause costs no
// virtual time at all, and a run gives the same virtual timeline on a loaded machine as on an
// idle one.
//
// Now never reads the same instant twice: while time stands still, each reading is one
// nanosecond after the last (a Lamport clock), so that what happens within one instant keeps
// its order in what it stamps; another process's readings are merged with Observe. Apart from
// that nanosecond per reading, time does not move while an actor is awake.
//
// An Actor is anything that works: an execution's runner, one Lambda invocation, a test that
// means to act before time moves on. An actor is awake from Go until it sleeps (Sleep), goes
// idle (Idle) or ends (Done); time moves only while no actor is awake. Code that must see time
// pass — a retry loop — calls Sleep with a context carrying its actor (WithActor); the sleep is a
// timer like the others. A sleep whose context carries no actor waits for its timer without
// holding time back: that caller is outside the simulation.
package simtime

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Clock is a discrete-event clock. The zero value is not usable: use New.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	awake  int // actors awake
	timers timerHeap
	seq    uint64
	actors map[uint64]*Actor // actors not Done, by ID
	nextID uint64
}

// New returns a clock standing at start.
func New(start time.Time) *Clock {
	return &Clock{now: start.UTC(), actors: map[uint64]*Actor{}}
}

// Now is the virtual time, one nanosecond after the last reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Nanosecond)
	return c.now
}

// Observe merges a reading another process made of this clock (the state machine runner's):
// whatever is read here from now on comes after it.
func (c *Clock) Observe(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t.UTC()
	}
}

// Awake is how many actors are awake now.
func (c *Clock) Awake() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.awake
}

// String says who is awake and what the next timers are: what a run that seems stuck waits on.
func (c *Clock) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var awake []string
	for _, a := range c.actors {
		if a.awake {
			awake = append(awake, a.name)
		}
	}
	slices.Sort(awake)
	next := make([]string, 0, 3)
	timers := slices.Clone(c.timers)
	slices.SortFunc(timers, func(a, b *Timer) int { return a.at.Compare(b.at) })
	for _, t := range timers[:min(3, len(timers))] {
		next = append(next, t.at.Format(time.RFC3339))
	}
	return fmt.Sprintf("virtual time %s; awake: %s; next timers: %s (%d in all)", c.now.Format(time.RFC3339Nano),
		strings.Join(awake, ", "), strings.Join(next, ", "), len(c.timers))
}

// Pending is how many timers wait to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Actor is one thing that works on the clock's time. Its methods may be called from any
// goroutine, but an actor stands for one line of work: two goroutines working at once are two
// actors.
type Actor struct {
	c     *Clock
	id    uint64
	name  string
	awake bool
	done  bool
}

// Go starts an actor, awake: time stands still until it sleeps, goes idle or is done.
func (c *Clock) Go(name string) *Actor {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	a := &Actor{c: c, id: c.nextID, name: name, awake: true}
	c.actors[a.id] = a
	c.awake++
	return a
}

// ID identifies the actor to another process (see Transport).
func (a *Actor) ID() uint64 { return a.id }

// Name is what the actor was started as.
func (a *Actor) Name() string { return a.name }

// Done ends the actor. Calling it again does nothing.
func (a *Actor) Done() {
	c := a.c
	c.mu.Lock()
	if a.done {
		c.mu.Unlock()
		return
	}
	a.done = true
	delete(c.actors, a.id)
	a.setAwake(false)
	c.advance() // unlocks
}

// Idle marks the actor as waiting for something other than its own timer (a message, a timer
// set with AfterFunc): time may move on without it. Wake ends it.
func (a *Actor) Idle() {
	a.c.mu.Lock()
	a.setAwake(false)
	a.c.advance() // unlocks
}

// Wake marks an idle actor awake again.
func (a *Actor) Wake() {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	if !a.done {
		a.setAwake(true)
	}
}

// setAwake runs with c.mu held.
func (a *Actor) setAwake(v bool) {
	if a.awake == v {
		return
	}
	a.awake = v
	if v {
		a.c.awake++
	} else {
		a.c.awake--
	}
}

// Sleep waits until d of virtual time has passed. The actor is asleep meanwhile: when every
// other actor is too, time jumps to the earliest timer. It returns early with ctx.Err() if ctx
// ends first (awake again).
func (a *Actor) Sleep(ctx context.Context, d time.Duration) error {
	c := a.c
	c.mu.Lock()
	return a.sleepUntil(ctx, c.now.Add(d))
}

// SleepUntil is Sleep until the instant t.
func (a *Actor) SleepUntil(ctx context.Context, t time.Time) error {
	a.c.mu.Lock()
	return a.sleepUntil(ctx, t)
}

// sleepUntil runs with c.mu held and releases it.
func (a *Actor) sleepUntil(ctx context.Context, t time.Time) error {
	c := a.c
	if err := ctx.Err(); err != nil {
		c.mu.Unlock()
		return err
	}
	if !t.After(c.now) {
		c.mu.Unlock()
		return nil
	}
	fired := make(chan struct{})
	tm := c.add(t, func() {
		a.setAwake(!a.done)
		close(fired)
	})
	a.setAwake(false)
	c.advance() // unlocks
	select {
	case <-fired:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if tm.index < 0 { // fired meanwhile: the actor is awake already
			return nil
		}
		heap.Remove(&c.timers, tm.index)
		if !a.done {
			a.setAwake(true)
		}
		return ctx.Err()
	}
}

// Sleep waits d of virtual time as the actor ctx carries (WithActor); a caller without one waits
// for its timer without holding time back.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if a := ActorFrom(ctx); a != nil && a.c == c {
		return a.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	fired := make(chan struct{})
	c.mu.Lock()
	tm := c.add(c.now.Add(d), func() { close(fired) })
	c.advance() // unlocks
	select {
	case <-fired:
		return nil
	case <-ctx.Done():
		c.Stop(tm)
		return ctx.Err()
	}
}

// Advance lets d of virtual time pass, firing every timer due meanwhile in order, as time
// passing between executions would (say, until the sweeper's next run). It waits for every
// actor awake to sleep first.
func (c *Clock) Advance(d time.Duration) {
	a := c.Go("advance")
	defer a.Done()
	_ = a.Sleep(context.Background(), d)
}

// Timer is a timer set with AfterFunc.
type Timer struct {
	at    time.Time
	seq   uint64
	index int // in the heap; -1 once fired or stopped
	fire  func()
}

// At is when the timer fires.
func (t *Timer) At() time.Time { return t.at }

// AfterFunc calls fn in its own goroutine at the instant at, as a new actor that is done when fn
// returns: whatever fn wakes (an Actor's Wake) is awake before that actor ends, so time cannot
// slip between the two.
func (c *Clock) AfterFunc(at time.Time, name string, fn func()) *Timer {
	c.mu.Lock()
	tm := c.add(at, func() {
		c.nextID++
		a := &Actor{c: c, id: c.nextID, name: name}
		c.actors[a.id] = a
		a.setAwake(true)
		go func() {
			defer a.Done()
			fn()
		}()
	})
	c.advance() // unlocks
	return tm
}

// Stop cancels a timer; it reports whether the timer had yet to fire.
func (c *Clock) Stop(t *Timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	return true
}

// add runs with c.mu held.
func (c *Clock) add(at time.Time, fire func()) *Timer {
	c.seq++
	t := &Timer{at: at, seq: c.seq, fire: fire}
	heap.Push(&c.timers, t)
	return t
}

// advance runs with c.mu held and releases it. While no actor is awake, it fires the earliest
// timer (timers due at the same instant in the order they were set), moving the clock to it;
// firing wakes an actor, so one timer fires at a time and the next waits until everyone sleeps
// again.
func (c *Clock) advance() {
	if c.awake > 0 || len(c.timers) == 0 {
		c.mu.Unlock()
		return
	}
	t := heap.Pop(&c.timers).(*Timer)
	if t.at.After(c.now) {
		c.now = t.at
	}
	t.fire()
	// A timer whose waiter holds nothing back (Clock.Sleep without an actor) wakes nobody: the
	// next one is due at once.
	c.advance()
}

type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

type actorKey struct{}

// WithActor returns ctx carrying a: the Sleep of code running for a uses a's turn.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor ctx carries, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}
