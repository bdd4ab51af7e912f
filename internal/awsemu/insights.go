package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CloudWatch Logs Insights, as far as rootwindow queries a log group an organization trail
// delivers to (AWS JSON 1.1, Logs_20140328): StartQuery over a time range (epoch seconds, both
// ends included), GetQueryResults until Complete, MaxItems rows a call with a NextToken. The
// query is parsed, not matched: commands joined by | — fields a, b; filter conditions joined by
// and, each a field = "string" or a field in ["a", "b"]; sort field asc|desc; limit n — over
// CloudTrail's fields as Logs Insights flattens them (userIdentity.type); anything else is
// MalformedQueryException, as Logs Insights answers a query it cannot parse.

type insightsQuery struct {
	statement string
	rows      [][]map[string]string
	polls     int
}

type insightsState struct {
	groups  map[string][]LakeEvent // log group ARN (no trailing :*) → its events
	queries map[string]*insightsQuery
	order   []string
}

// AddLogGroup creates a log group of the ARN given.
func (s *Server) AddLogGroup(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insightsOf().groups[strings.TrimSuffix(arn, ":*")] = nil
}

// AddLogEvents delivers CloudTrail events to the log group of arn.
func (s *Server) AddLogEvents(arn string, events ...LakeEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := strings.TrimSuffix(arn, ":*")
	s.insightsOf().groups[g] = append(s.insights.groups[g], events...)
}

// InsightsQueries are the queries started, in order.
func (s *Server) InsightsQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.insightsOf().order {
		out = append(out, s.insights.queries[id].statement)
	}
	return out
}

func (s *Server) insightsOf() *insightsState {
	if s.insights == nil {
		s.insights = &insightsState{groups: map[string][]LakeEvent{}, queries: map[string]*insightsQuery{}}
	}
	return s.insights
}

func (s *Server) startInsightsQuery(w http.ResponseWriter, body []byte) {
	var in struct {
		LogGroupIdentifiers []string
		QueryString         string
		StartTime, EndTime  *int64
		Limit               int
	}
	if err := json.Unmarshal(body, &in); err != nil || in.QueryString == "" || in.StartTime == nil || in.EndTime == nil || len(in.LogGroupIdentifiers) == 0 {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", "StartQuery needs logGroupIdentifiers, queryString, startTime and endTime")
		return
	}
	if *in.EndTime < *in.StartTime {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", "endTime is before startTime")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.insightsOf()
	q, err := parseInsights(in.QueryString)
	if err != nil {
		jsonError(w, "1.1", http.StatusBadRequest, "MalformedQueryException", err.Error())
		return
	}
	var events []LakeEvent
	for _, g := range in.LogGroupIdentifiers {
		if strings.HasSuffix(g, ":*") {
			jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", "a log group ARN in logGroupIdentifiers must not end with :*")
			return
		}
		evs, ok := st.groups[g]
		if !ok {
			jsonError(w, "1.1", http.StatusBadRequest, "ResourceNotFoundException", "Log group "+g+" does not exist")
			return
		}
		for _, e := range evs {
			if sec := e.Time.Unix(); sec >= *in.StartTime && sec <= *in.EndTime {
				events = append(events, e)
			}
		}
	}
	if in.Limit > 0 && (q.limit == 0 || in.Limit < q.limit) {
		q.limit = in.Limit
	}
	id := fmt.Sprintf("%08x-1111-4000-8000-%012x", len(st.order)+1, len(st.order)+1)
	st.queries[id] = &insightsQuery{statement: in.QueryString, rows: q.run(events), polls: s.lakeOf().polls}
	st.order = append(st.order, id)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]string{"queryId": id})
}

func (s *Server) getInsightsResults(w http.ResponseWriter, body []byte) {
	var in struct {
		QueryID   string `json:"queryId"`
		NextToken string `json:"nextToken"`
		MaxItems  int    `json:"maxItems"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", err.Error())
		return
	}
	if in.MaxItems == 0 || in.MaxItems > 10000 {
		in.MaxItems = 10000
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.insightsOf().queries[in.QueryID]
	if !ok {
		jsonError(w, "1.1", http.StatusBadRequest, "ResourceNotFoundException", "Query does not exist")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if q.polls > 0 {
		q.polls--
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "Running", "results": []any{}})
		return
	}
	offset := 0
	if _, err := fmt.Sscanf(in.NextToken, "items-%d", &offset); in.NextToken != "" && (err != nil || offset < 0 || offset > len(q.rows)) {
		jsonError(w, "1.1", http.StatusBadRequest, "InvalidParameterException", "not a token this emulator gave")
		return
	}
	end := min(offset+in.MaxItems, len(q.rows))
	out := map[string]any{"status": "Complete", "results": q.rows[offset:end],
		"statistics": map[string]float64{"recordsMatched": float64(len(q.rows)), "recordsScanned": float64(len(q.rows))}}
	if end < len(q.rows) {
		out["nextToken"] = fmt.Sprintf("items-%d", end)
	}
	_ = json.NewEncoder(w).Encode(out)
}

type insightsStatement struct {
	fields []string
	where  []lakeCond // op "=" or "IN"
	sortBy string
	desc   bool
	limit  int
}

var (
	insightsEquals = regexp.MustCompile(`^([A-Za-z_@][A-Za-z0-9_.@]*)\s*=\s*"([^"]*)"$`)
	insightsIn     = regexp.MustCompile(`^([A-Za-z_@][A-Za-z0-9_.@]*)\s+in\s+\[([^\]]*)\]$`)
	insightsString = regexp.MustCompile(`^\s*"([^"]*)"\s*$`)
)

func parseInsights(query string) (insightsStatement, error) {
	var q insightsStatement
	for _, command := range strings.Split(query, "|") {
		command = strings.TrimSpace(command)
		verb, rest, _ := strings.Cut(command, " ")
		rest = strings.TrimSpace(rest)
		switch verb {
		case "fields":
			for _, f := range strings.Split(rest, ",") {
				f = strings.TrimSpace(f)
				if !slices.Contains(lakeColumns, f) {
					return q, fmt.Errorf("unknown field %q", f)
				}
				q.fields = append(q.fields, f)
			}
		case "filter":
			for _, cond := range regexp.MustCompile(`\s+and\s+`).Split(rest, -1) {
				cond = strings.TrimSpace(cond)
				if m := insightsEquals.FindStringSubmatch(cond); m != nil {
					q.where = append(q.where, lakeCond{column: m[1], op: "=", values: []string{m[2]}})
					continue
				}
				m := insightsIn.FindStringSubmatch(cond)
				if m == nil {
					return q, fmt.Errorf("unexpected filter %q", cond)
				}
				c := lakeCond{column: m[1], op: "IN"}
				for _, v := range strings.Split(m[2], ",") {
					s := insightsString.FindStringSubmatch(v)
					if s == nil {
						return q, fmt.Errorf("expected a string in %q", m[2])
					}
					c.values = append(c.values, s[1])
				}
				q.where = append(q.where, c)
			}
		case "sort":
			field, order, _ := strings.Cut(rest, " ")
			if !slices.Contains(lakeColumns, field) || (order != "asc" && order != "desc") {
				return q, fmt.Errorf("unexpected sort %q", rest)
			}
			q.sortBy, q.desc = field, order == "desc"
		case "limit":
			n, err := strconv.Atoi(rest)
			if err != nil || n < 1 || n > 100000 {
				return q, fmt.Errorf("limit must be from 1 to 100000, got %q", rest)
			}
			q.limit = n
		default:
			return q, fmt.Errorf("unexpected command %q", command)
		}
	}
	if len(q.fields) == 0 {
		return q, fmt.Errorf("no fields")
	}
	return q, nil
}

func (q insightsStatement) run(events []LakeEvent) [][]map[string]string {
	hits := matching(events, q.where, q.sortBy, q.desc, LakeEvent.insightsValue)
	if q.limit > 0 && len(hits) > q.limit {
		hits = hits[:q.limit]
	}
	rows := make([][]map[string]string, 0, len(hits))
	for i, e := range hits {
		row := []map[string]string{}
		for _, f := range q.fields {
			if v := e.insightsValue(f); v != "" {
				row = append(row, map[string]string{"field": f, "value": v})
			}
		}
		rows = append(rows, append(row, map[string]string{"field": "@ptr", "value": "ptr-" + strconv.Itoa(i)}))
	}
	return rows
}

// insightsValue is a field as CloudTrail's JSON record has it in the log (eventTime in RFC 3339).
func (e LakeEvent) insightsValue(field string) string {
	if field == "eventTime" {
		return e.Time.UTC().Format(time.RFC3339)
	}
	return e.Fields[field]
}
