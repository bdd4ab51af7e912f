package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// CloudTrail Lake, as far as rootwindow queries it (AWS JSON 1.1, CloudTrail_20131101):
// StartQuery runs a SQL statement over an event data store, GetQueryResults answers its status
// and, once FINISHED, its rows a page at a time. Statements are parsed, not matched: the subset
// of Lake's SQL rootwindow writes (SELECT columns FROM <event data store ID> WHERE conditions
// joined by AND, each a column compared with a string or IN a list of strings, ORDER BY one
// column), over the columns below; anything else is refused as Lake refuses a statement it
// cannot run (InvalidQueryStatementException), so a statement rootwindow gets wrong fails here
// too. As AWS documents: at most 10 queries run at once (MaxConcurrentQueriesException), a page
// holds 1 to 1,000 rows, eventTime compares as 'YYYY-MM-DD HH:MM:SS' text.

// LakeEvent is one event of an event data store, by Lake's column names (userIdentity.type,
// recipientAccountId, ...); eventTime is set from Time.
type LakeEvent struct {
	Time   time.Time
	Fields map[string]string
}

// RootEvent is an event of the root user of account: name at at, from iam.amazonaws.com in
// us-east-1, with extra fields (column, value, ...) over those.
func RootEvent(id, account, name string, at time.Time, extra ...string) LakeEvent {
	f := map[string]string{"eventID": id, "recipientAccountId": account, "eventName": name, "eventSource": "iam.amazonaws.com",
		"awsRegion": "us-east-1", "userIdentity.type": "Root"}
	for i := 0; i+1 < len(extra); i += 2 {
		f[extra[i]] = extra[i+1]
	}
	return LakeEvent{Time: at, Fields: f}
}

// lakeColumns are the columns this emulator knows (CloudTrail Lake's event schema).
var lakeColumns = []string{"eventID", "eventTime", "eventName", "eventSource", "awsRegion", "errorCode", "errorMessage",
	"sourceIPAddress", "recipientAccountId", "userIdentity.type", "userIdentity.arn", "userIdentity.accountId", "userIdentity.accessKeyId", "eventType"}

const (
	lakeTimeFormat    = "2006-01-02 15:04:05.000"
	lakeMaxConcurrent = 10
	lakeMaxPage       = 1000
)

type lakeQuery struct {
	id, statement string
	rows          [][]map[string]string
	polls         int // GetQueryResults calls still answered RUNNING
}

type lake struct {
	stores  map[string][]LakeEvent // event data store ID → its events
	queries map[string]*lakeQuery
	order   []string // query IDs as started
	polls   int
}

// AddEventDataStore creates an event data store of the ARN given (its ID is the part after
// "eventdatastore/").
func (s *Server) AddEventDataStore(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lakeOf().stores[storeID(arn)] = nil
}

// AddLakeEvents records events in the event data store of arn.
func (s *Server) AddLakeEvents(arn string, events ...LakeEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lakeOf()
	l.stores[storeID(arn)] = append(l.stores[storeID(arn)], events...)
}

// SetQueryRuns makes each query (Lake's and Logs Insights') answer RUNNING to its first n
// GetQueryResults calls.
func (s *Server) SetQueryRuns(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lakeOf().polls = n
}

// LakeQueries are the statements started, in order.
func (s *Server) LakeQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.lakeOf().order {
		out = append(out, s.lake.queries[id].statement)
	}
	return out
}

func (s *Server) lakeOf() *lake {
	if s.lake == nil {
		s.lake = &lake{stores: map[string][]LakeEvent{}, queries: map[string]*lakeQuery{}}
	}
	return s.lake
}

func storeID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func (s *Server) startQuery(w http.ResponseWriter, body []byte) {
	var in struct{ QueryStatement string }
	if err := json.Unmarshal(body, &in); err != nil || in.QueryStatement == "" || len(in.QueryStatement) > 10000 {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", "QueryStatement must be 1 to 10,000 characters")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lakeOf()
	running := 0
	for _, q := range l.queries {
		if q.polls > 0 {
			running++
		}
	}
	if running >= lakeMaxConcurrent {
		jsonError(w, "1.1", http.StatusBadRequest, "MaxConcurrentQueriesException", "You are already running the maximum number of concurrent queries. The maximum number of concurrent queries is 10.")
		return
	}
	q, err := parseLakeQuery(in.QueryStatement)
	if err != nil {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidQueryStatementException", err.Error())
		return
	}
	events, ok := l.stores[q.from]
	if !ok {
		jsonError(w, "1.1", http.StatusBadRequest, "EventDataStoreNotFoundException", "The specified event data store "+q.from+" was not found.")
		return
	}
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", len(l.order)+1, len(l.order)+1)
	l.queries[id] = &lakeQuery{id: id, statement: in.QueryStatement, rows: q.run(events), polls: l.polls}
	l.order = append(l.order, id)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]string{"QueryId": id})
}

func (s *Server) getQueryResults(w http.ResponseWriter, body []byte) {
	var in struct {
		QueryId         string
		NextToken       string
		MaxQueryResults int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", err.Error())
		return
	}
	if in.MaxQueryResults == 0 {
		in.MaxQueryResults = lakeMaxPage
	}
	if in.MaxQueryResults < 1 || in.MaxQueryResults > lakeMaxPage {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidMaxResultsException", "MaxQueryResults must be from 1 to 1000")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.lakeOf().queries[in.QueryId]
	if !ok {
		jsonError(w, "1.1", http.StatusBadRequest, "QueryIdNotFoundException", "The query ID does not exist or does not map to a query.")
		return
	}
	out := map[string]any{}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if q.polls > 0 {
		q.polls--
		out["QueryStatus"] = "RUNNING"
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	offset := 0
	if _, err := fmt.Sscanf(in.NextToken, "rows-%d", &offset); in.NextToken != "" && (err != nil || offset < 0 || offset > len(q.rows)) {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidNextTokenException", "not a token this emulator gave")
		return
	}
	end := min(offset+in.MaxQueryResults, len(q.rows))
	out["QueryStatus"] = "FINISHED"
	out["QueryResultRows"] = q.rows[offset:end]
	out["QueryStatistics"] = map[string]int{"ResultsCount": end - offset, "TotalResultsCount": len(q.rows), "BytesScanned": 512 * len(q.rows)}
	if end < len(q.rows) {
		out["NextToken"] = fmt.Sprintf("rows-%d", end)
	}
	_ = json.NewEncoder(w).Encode(out)
}

// A parsed statement.
type lakeStatement struct {
	columns []string
	from    string
	where   []lakeCond
	orderBy string
	desc    bool
}

type lakeCond struct {
	column, op string
	values     []string
}

var lakeToken = regexp.MustCompile(`\s*('(?:[^']|'')*'|>=|<=|<>|!=|[=<>(),*]|[A-Za-z_][A-Za-z0-9_.\-]*)`)

func lakeTokens(statement string) ([]string, error) {
	var out []string
	rest := strings.TrimSpace(statement)
	for rest != "" {
		m := lakeToken.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("line 1: mismatched input at %q", rest[:min(len(rest), 20)])
		}
		out = append(out, rest[m[2]:m[3]])
		rest = strings.TrimSpace(rest[m[1]:])
	}
	return out, nil
}

func parseLakeQuery(statement string) (lakeStatement, error) {
	var q lakeStatement
	toks, err := lakeTokens(statement)
	if err != nil {
		return q, err
	}
	i := 0
	next := func() string {
		if i < len(toks) {
			i++
			return toks[i-1]
		}
		return ""
	}
	keyword := func(want string) error {
		if t := next(); !strings.EqualFold(t, want) {
			return fmt.Errorf("expected %s, found %q", want, t)
		}
		return nil
	}
	column := func() (string, error) {
		c := next()
		if !slices.Contains(lakeColumns, c) {
			return "", fmt.Errorf("column '%s' cannot be resolved", c)
		}
		return c, nil
	}
	if err := keyword("SELECT"); err != nil {
		return q, err
	}
	for {
		c, err := column()
		if err != nil {
			return q, err
		}
		q.columns = append(q.columns, c)
		if i < len(toks) && toks[i] == "," {
			i++
			continue
		}
		break
	}
	if err := keyword("FROM"); err != nil {
		return q, err
	}
	if q.from = next(); q.from == "" || strings.HasPrefix(q.from, "'") {
		return q, fmt.Errorf("FROM needs an event data store ID")
	}
	if i < len(toks) && strings.EqualFold(toks[i], "WHERE") {
		i++
		for {
			var c lakeCond
			if c.column, err = column(); err != nil {
				return q, err
			}
			switch c.op = strings.ToUpper(next()); c.op {
			case "=", "<>", "!=", ">=", "<=", "<", ">":
				v, err := lakeString(next())
				if err != nil {
					return q, err
				}
				c.values = []string{v}
			case "IN":
				if next() != "(" {
					return q, fmt.Errorf("IN needs a list in parentheses")
				}
				for {
					v, err := lakeString(next())
					if err != nil {
						return q, err
					}
					c.values = append(c.values, v)
					if t := next(); t == ")" {
						break
					} else if t != "," {
						return q, fmt.Errorf("expected , or ) in the IN list, found %q", t)
					}
				}
			default:
				return q, fmt.Errorf("unsupported comparison %q", c.op)
			}
			q.where = append(q.where, c)
			if i < len(toks) && strings.EqualFold(toks[i], "AND") {
				i++
				continue
			}
			break
		}
	}
	if i < len(toks) && strings.EqualFold(toks[i], "ORDER") {
		i++
		if err := keyword("BY"); err != nil {
			return q, err
		}
		if q.orderBy, err = column(); err != nil {
			return q, err
		}
		if i < len(toks) && (strings.EqualFold(toks[i], "ASC") || strings.EqualFold(toks[i], "DESC")) {
			q.desc = strings.EqualFold(next(), "DESC")
		}
	}
	if i < len(toks) {
		return q, fmt.Errorf("unexpected %q", toks[i])
	}
	return q, nil
}

func lakeString(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '\'' || tok[len(tok)-1] != '\'' {
		return "", fmt.Errorf("expected a string literal, found %q", tok)
	}
	return strings.ReplaceAll(tok[1:len(tok)-1], "''", "'"), nil
}

func (e LakeEvent) value(column string) string {
	if column == "eventTime" {
		return e.Time.UTC().Format(lakeTimeFormat)
	}
	return e.Fields[column]
}

func (c lakeCond) holds(e LakeEvent) bool {
	v := e.value(c.column)
	if c.column == "eventTime" {
		v = v[:len("2006-01-02 15:04:05")] // compared with 'YYYY-MM-DD HH:MM:SS'
	}
	switch c.op {
	case "=":
		return v == c.values[0]
	case "<>", "!=":
		return v != c.values[0]
	case ">=":
		return v >= c.values[0]
	case "<=":
		return v <= c.values[0]
	case "<":
		return v < c.values[0]
	case ">":
		return v > c.values[0]
	}
	return slices.Contains(c.values, v) // IN
}

// matching are the events every condition holds for, sorted by sortBy when one is named, value
// giving a field's text as the service compares it.
func matching(events []LakeEvent, where []lakeCond, sortBy string, desc bool, value func(LakeEvent, string) string) []LakeEvent {
	var hits []LakeEvent
	for _, e := range events {
		ok := true
		for _, c := range where {
			ok = ok && c.holds(e)
		}
		if ok {
			hits = append(hits, e)
		}
	}
	if sortBy != "" {
		slices.SortStableFunc(hits, func(a, b LakeEvent) int {
			c := strings.Compare(value(a, sortBy), value(b, sortBy))
			if desc {
				return -c
			}
			return c
		})
	}
	return hits
}

func (q lakeStatement) run(events []LakeEvent) [][]map[string]string {
	hits := matching(events, q.where, q.orderBy, q.desc, LakeEvent.value)
	rows := make([][]map[string]string, 0, len(hits))
	for _, e := range hits {
		var row []map[string]string
		for _, c := range q.columns {
			if v := e.value(c); v != "" { // a null column is left out of the row
				row = append(row, map[string]string{c: v})
			}
		}
		rows = append(rows, row)
	}
	return rows
}
