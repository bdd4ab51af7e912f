package harness

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
)

// The runner's protocol without node: a call is work from its arrival to its answer. Node may
// report itself idle while a short call (/task/wait) is on its way back; time must not slip
// then, or the execution's far timers (its timeout, days ahead) fire before the answer.
func TestACallIsWorkUntilItsAnswer(t *testing.T) {
	clock := simtime.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	inv := newInvoker(nil, clock, awsemu.New())
	defer inv.close()
	s := inv.open("protocol")
	far := clock.Now().Add(8 * 24 * time.Hour)
	arrived, reported := make(chan struct{}), make(chan struct{})
	inv.answering = func(string) {
		close(arrived)
		<-reported // node's idle report is in before the answer goes
	}
	post := func(path string, body any) *http.Response {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, inv.srv.URL+path, bytes.NewReader(b))
		req.Header.Set("X-Session", s.id)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	answered := make(chan *http.Response)
	go func() { answered <- post("/task/wait?token=t-1", nil) }() // node's first call
	<-arrived
	post("/idle", map[string]any{"sent": 1, "seen": 0, "timers": []map[string]any{{"id": 1, "at": far.UnixMilli()}}}).Body.Close()
	close(reported)
	res := <-answered
	defer res.Body.Close()
	if got := clock.Now(); !got.Before(far) {
		t.Errorf("the clock jumped to %v while a call was unanswered", got)
	}
	if res.StatusCode != http.StatusOK {
		t.Errorf("answer %d", res.StatusCode)
	}
	inv.end(s)
}
