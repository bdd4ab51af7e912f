// Package cli is the requester's command line (cmd/rootwindow): it calls rootwindow's REST API
// with requests signed by the AWS SDK's SigV4 signer, credentials from the SDK's standard chain
// (environment, shared config and profiles, SSO, instance roles), follows a window, and answers
// in text or JSON with documented exit codes.
package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client calls rootwindow's API.
type Client struct {
	Endpoint    string // the API's base URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1/
	Region      string // the API's region, for the signature
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
	Now         func() time.Time
}

// APIError is an answer of the API other than 2xx.
type APIError struct {
	Status        int
	Message       string
	Problems      []Problem
	CorrelationID string
}

// Problem is one field's problem in a 400, 403, 409 or 429 answer.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Field, p.Message)
	}
	if hint := hints[e.Status]; hint != "" {
		fmt.Fprintf(&b, "\n%s", hint)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, "\n(correlation ID %s: operators find the detail under it)", e.CorrelationID)
	}
	return b.String()
}

// hints say what to do about each kind of refusal.
var hints = map[int]string{
	http.StatusBadRequest:            "Fix the fields named above and ask again.",
	http.StatusForbidden:             "You may not ask for this: check that you are an administrator (adminPrincipals) and listed in each account's owner tag, and that you signed in with the right profile.",
	http.StatusNotFound:              "No such request that you may see: check the request ID, and that you are its requester or an administrator.",
	http.StatusConflict:              "An account already has a window, or the request is not in a state for this: see the message above.",
	http.StatusTooManyRequests:       "A limit is reached: the message names it and when it frees.",
	http.StatusUnprocessableEntity:   "This Idempotency-Key was used for another request: use a new --key.",
	http.StatusRequestEntityTooLarge: "The request is too large: shorten the reason or list fewer accounts.",
	http.StatusServiceUnavailable:    "rootwindow or a service it depends on is busy: try again shortly (the same --key is safe to retry).",
}

// Do calls method path (relative to the endpoint) with body (nil for none), signed, and decodes a
// 2xx answer into out (when not nil). Headers are extra request headers.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any, headers map[string]string, out any) error {
	base, err := url.Parse(c.Endpoint)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return fmt.Errorf("the endpoint %q is not a URL: give --endpoint, ROOTWINDOW_ENDPOINT or --stack", c.Endpoint)
	}
	u := base.JoinPath(strings.TrimPrefix(path, "/"))
	u.RawQuery = query.Encode()
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %w (sign in, e.g. aws sso login --profile <profile>, or set AWS_PROFILE)", err)
	}
	sum := sha256.Sum256(payload)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.Region, now()); err != nil {
		return fmt.Errorf("sign the request: %w", err)
	}
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 35 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("call rootwindow's API: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read rootwindow's answer: %w", err)
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Message       string    `json:"message"`
			Problems      []Problem `json:"problems"`
			CorrelationID string    `json:"correlationId"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
			if e.Message == "" {
				e.Message = res.Status
			}
		}
		return &APIError{Status: res.StatusCode, Message: e.Message, Problems: e.Problems, CorrelationID: e.CorrelationID}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("rootwindow's answer is not what this CLI expects: %w", err)
		}
	}
	return nil
}

// IsAPIError reports the status of an API refusal, or 0.
func IsAPIError(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
