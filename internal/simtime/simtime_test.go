package simtime_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/simtime"
)

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// at reports whether a reading is the instant want: each reading is a nanosecond after the last
// (a Lamport clock), and the tests read a few hundred times at most.
func at(got, want time.Time) bool {
	d := got.Sub(want)
	return d >= 0 && d < time.Microsecond
}

// An actor's work costs no virtual time, however long it takes on the wall clock: another
// actor's timer due in a second does not fire while it works.
func TestNothingMovesWhileAnActorWorks(t *testing.T) {
	c := simtime.New(epoch)
	worker, sleeper := c.Go("worker"), c.Go("sleeper")
	woke := make(chan time.Time)
	go func() {
		_ = sleeper.Sleep(context.Background(), time.Second)
		woke <- c.Now()
		sleeper.Done()
	}()
	time.Sleep(300 * time.Millisecond) // real work, of any length
	select {
	case at := <-woke:
		t.Fatalf("the sleeper woke at %v while the worker was still working", at)
	default:
	}
	if got := c.Now(); !at(got, epoch) {
		t.Errorf("virtual time moved to %v while an actor worked", got)
	}
	worker.Done()
	if woke := <-woke; !at(woke, epoch.Add(time.Second)) {
		t.Errorf("woke at %v, want one second on", woke)
	}
}

// Timers set by actors that run at once fire in the order of their instants, each at its
// instant exactly, whatever order the goroutines happened to run in.
func TestConcurrentTimersFireInOrder(t *testing.T) {
	c := simtime.New(epoch)
	hold := c.Go("test") // nobody's timer fires before every sleeper is asleep
	durations := []time.Duration{4 * time.Hour, time.Minute, 2 * time.Hour, time.Second, 2 * time.Hour, 90 * time.Minute}
	type wake struct {
		i  int
		at time.Time
	}
	var mu sync.Mutex
	var order []wake
	var wg sync.WaitGroup
	for i, d := range durations {
		a := c.Go("sleeper")
		wg.Go(func() {
			defer a.Done()
			if err := a.Sleep(context.Background(), d); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, wake{i, c.Now()})
			mu.Unlock()
			time.Sleep(time.Millisecond) // work after waking holds the next timer back
		})
	}
	hold.Done()
	wg.Wait()
	for k, w := range order {
		if want := epoch.Add(durations[w.i]); !at(w.at, want) {
			t.Errorf("sleeper %d woke at %v, want %v", w.i, w.at, want)
		}
		if k > 0 && w.at.Before(order[k-1].at) {
			t.Errorf("sleeper %d woke at %v, after one at %v", w.i, w.at, order[k-1].at)
		}
	}
	if len(order) != len(durations) {
		t.Fatalf("%d of %d woke", len(order), len(durations))
	}
	if got := c.Now(); !at(got, epoch.Add(4*time.Hour)) {
		t.Errorf("clock at %v", got)
	}
}

// A chain of sleeps: each actor wakes, works, sleeps again; the clock follows the timers, not
// the wall clock.
func TestSleepsChainInVirtualTime(t *testing.T) {
	c := simtime.New(epoch)
	a := c.Go("retrier")
	start := time.Now()
	for range 100 {
		if err := a.Sleep(context.Background(), 15*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	a.Done()
	if got := c.Now(); !at(got, epoch.Add(25*time.Minute)) {
		t.Errorf("100 sleeps of 15 s took %v of virtual time", got)
	}
	t.Logf("100 virtual sleeps in %v of wall clock", time.Since(start))
}

// A sleep lets the timers due meanwhile fire, in order, and ends at its own instant; a timer
// set while nobody is awake fires at once, and Advance lets time pass when nobody is.
func TestTimersDueDuringASleep(t *testing.T) {
	c := simtime.New(epoch)
	test := c.Go("test")
	var fired []time.Time
	var mu sync.Mutex
	for _, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		c.AfterFunc(epoch.Add(d), "timer", func() {
			mu.Lock()
			fired = append(fired, c.Now())
			mu.Unlock()
		})
	}
	if err := test.Sleep(context.Background(), 150*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !at(got, epoch.Add(150*time.Minute)) {
		t.Errorf("clock at %v", got)
	}
	mu.Lock()
	if want := []time.Time{epoch.Add(time.Hour), epoch.Add(2 * time.Hour)}; len(fired) != 2 || !at(fired[0], want[0]) || !at(fired[1], want[1]) {
		t.Errorf("fired %v, want %v", fired, want)
	}
	mu.Unlock()
	if c.Pending() != 1 {
		t.Errorf("%d timers pending, want the one at three hours", c.Pending())
	}
	test.Done() // nobody awake: the last timer is due at once
	for c.Pending() != 0 || c.Awake() != 0 {
		time.Sleep(time.Millisecond)
	}
	c.Advance(time.Hour)
	if got := c.Now(); !at(got, epoch.Add(4*time.Hour)) {
		t.Errorf("clock at %v after the last timer and an hour", got)
	}
}

// What an AfterFunc wakes is awake before the timer's own actor ends: the next timer cannot
// fire in between.
func TestAfterFuncHandsOverWithoutAGap(t *testing.T) {
	c := simtime.New(epoch)
	node := c.Go("runner")
	node.Idle()
	later := make(chan time.Time, 1)
	c.AfterFunc(epoch.Add(time.Second), "deliver", func() { node.Wake() })
	go func() {
		a := c.Go("other")
		defer a.Done()
		_ = a.SleepUntil(context.Background(), epoch.Add(2*time.Second))
		later <- c.Now()
	}()
	time.Sleep(100 * time.Millisecond)
	if got := c.Now(); !at(got, epoch.Add(time.Second)) || c.Awake() != 1 {
		t.Fatalf("after the delivery: clock %v, %d awake; the runner should hold it at one second", got, c.Awake())
	}
	node.Done()
	if woke := <-later; !at(woke, epoch.Add(2*time.Second)) {
		t.Errorf("the other sleeper woke at %v", woke)
	}
}

// A sleep cut short by its context is awake again, and its timer is gone.
func TestSleepEndsWithItsContext(t *testing.T) {
	c := simtime.New(epoch)
	hold := c.Go("test")
	a := c.Go("sleeper")
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error)
	go func() { errs <- a.Sleep(ctx, time.Hour) }()
	for c.Awake() != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errs; err != context.Canceled {
		t.Errorf("sleep: %v", err)
	}
	if c.Awake() != 2 || c.Pending() != 0 {
		t.Errorf("%d awake, %d pending", c.Awake(), c.Pending())
	}
	a.Done()
	hold.Done()
	if got := c.Now(); !at(got, epoch) {
		t.Errorf("clock moved to %v", got)
	}
}

// Each reading comes after the last, and after whatever another process observed.
func TestReadingsKeepTheirOrder(t *testing.T) {
	c := simtime.New(epoch)
	a, b := c.Now(), c.Now()
	if !b.After(a) || !at(b, epoch) {
		t.Errorf("readings %v then %v", a, b)
	}
	elsewhere := b.Add(5 * time.Microsecond)
	c.Observe(elsewhere)
	if got := c.Now(); !got.After(elsewhere) {
		t.Errorf("read %v after observing %v", got, elsewhere)
	}
	c.Observe(epoch) // an older reading changes nothing
	if got := c.Now(); !got.After(elsewhere) {
		t.Errorf("read %v", got)
	}
}

// Code running for an actor sleeps as that actor through its context; a caller with none does
// not hold time back.
func TestSleepThroughTheContext(t *testing.T) {
	c := simtime.New(epoch)
	a := c.Go("handler")
	if err := c.Sleep(simtime.WithActor(context.Background(), a), time.Minute); err != nil {
		t.Fatal(err)
	}
	if c.Awake() != 1 || !at(c.Now(), epoch.Add(time.Minute)) {
		t.Errorf("%d awake at %v", c.Awake(), c.Now())
	}
	a.Done()
	if err := c.Sleep(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if c.Awake() != 0 || !at(c.Now(), epoch.Add(2*time.Minute)) {
		t.Errorf("%d awake at %v", c.Awake(), c.Now())
	}
}

// An emulator in the same process delays its answer as the calling actor's sleep.
func TestLatencyPlayedAsTheCallersSleep(t *testing.T) {
	c := simtime.New(epoch)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.SleepFor(r, 150*time.Millisecond)
		_, _ = w.Write([]byte(c.Now().Format(time.RFC3339Nano)))
	}))
	defer srv.Close()
	client := &http.Client{Transport: c.Transport(nil)}
	a := c.Go("handler")
	defer a.Done()
	req, _ := http.NewRequestWithContext(simtime.WithActor(context.Background(), a), http.MethodGet, srv.URL, nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if got := c.Now(); !at(got, epoch.Add(150*time.Millisecond)) {
		t.Errorf("after the call: %v", got)
	}
}
