package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
)

var emailAddress = regexp.MustCompile(`^[^@\s",;<>]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$`)

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
		switch u, err := url.Parse(endpoint); {
		case len(endpoint) > 2048:
			probs.Add("endpoint", "is %d characters; at most 2048", len(endpoint))
		case protocol == "email" && !emailAddress.MatchString(endpoint):
			probs.Add("endpoint", "%s is not an email address", request.Quote(endpoint))
		case protocol == "https" && (err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(endpoint, " \t\r\n")):
			probs.Add("endpoint", "%s is not an https URL without credentials", request.Quote(endpoint))
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
