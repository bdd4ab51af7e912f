package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// An email address's local part, as RFC 5322's dot-atom: printable ASCII without specials.
var localPart = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

// A DNS label in ASCII (punycode for an internationalised name: xn--…).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// hostProblem says why host is not a DNS host name rootwindow will send notifications to, or "":
// names only, in ASCII, at least two labels, the last not a number. So no IP literal (loopback,
// private ranges, 169.254.169.254, or their hex and integer forms), no single-label or look-alike
// Unicode host.
func hostProblem(host string) string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, r := range h {
		if r > 127 {
			return "is not in ASCII: give the host name in its punycode form (xn--…)"
		}
	}
	labels := strings.Split(h, ".")
	if len(h) > 253 || len(labels) < 2 {
		return "is not a DNS host name (a name with a domain, at most 253 characters)"
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return "is not a DNS host name (letters, digits and '-', in labels of 1 to 63)"
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" || strings.HasPrefix(labels[len(labels)-1], "0x") {
		return "is an IP address, not a host name: notifications go to names only"
	}
	return ""
}

// emailProblem says why address is not a plausible email address, or "".
func emailProblem(address string) string {
	local, domain, ok := strings.Cut(address, "@")
	switch {
	case !ok || len(local) > 64 || !localPart.MatchString(local):
		return "is not an email address (name@domain)"
	case hostProblem(domain) != "":
		return "is not an email address: its domain " + hostProblem(domain)
	}
	return ""
}

// httpsProblem says why endpoint is not an https URL rootwindow will post notifications to, or "".
func httpsProblem(endpoint string) string {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Scheme != "https" || u.Opaque != "" || u.Host == "" || strings.ContainsAny(endpoint, " \t\r\n"):
		return "is not an https URL"
	case u.User != nil:
		return "holds user information (credentials in a URL are not kept secret)"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has the port " + p + ", not one from 1 to 65535"
		}
	}
	if problem := hostProblem(u.Hostname()); problem != "" {
		return "has a host that " + problem
	}
	return ""
}

// subscribe subscribes an endpoint the caller names to the notifications about the caller's own
// requests: {"protocol": "email"|"https", "endpoint": "..."}. The filter policy is rootwindow's,
// on the requester message attribute: the caller cannot widen it.
func (h *Handler) subscribe(ctx context.Context, c call) response {
	if !h.windows.Settings().Authz().IsAdmin(c.caller) {
		return fail(http.StatusForbidden, "only administrators, who may ask for windows, may subscribe to their own requests' notifications")
	}
	body, err := c.body()
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	var probs request.Problems
	raw, bad := request.StrictObject(body, "protocol", "endpoint")
	for _, b := range bad {
		probs.Add("body", "%s", b)
	}
	var protocol, endpoint string
	if len(probs) == 0 {
		if json.Unmarshal(raw["protocol"], &protocol) != nil || (protocol != "email" && protocol != "https") {
			probs.Add("protocol", "must be \"email\" or \"https\"")
		}
		if json.Unmarshal(raw["endpoint"], &endpoint) != nil || endpoint == "" {
			probs.Add("endpoint", "is required: an email address, or an https URL")
		}
	}
	if len(probs) == 0 {
		problem := emailProblem(endpoint)
		if protocol == "https" {
			problem = httpsProblem(endpoint)
		}
		switch {
		case len(endpoint) > 2048:
			probs.Add("endpoint", "is %d characters; at most 2048", len(endpoint))
		case problem != "":
			probs.Add("endpoint", "%s %s", request.Quote(endpoint), problem)
		}
	}
	if len(probs) > 0 {
		return invalid(probs)
	}
	sub, err := h.windows.Subscribe(ctx, c.caller, protocol, endpoint)
	if errors.Is(err, window.ErrNoNotifications) {
		return fail(http.StatusServiceUnavailable, err.Error())
	}
	if err != nil {
		return h.internal(ctx, c, "subscribe", err)
	}
	return response{status: http.StatusOK, body: sub}
}
