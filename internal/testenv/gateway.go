package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// APIHandler is the api function's handler (pkg/api).
type APIHandler interface {
	Handle(ctx context.Context, r events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
}

// Gateway stands in for API Gateway with IAM authorization in front of the api function, for
// the CLI's tests and the demo: it checks each call's SigV4 signature for execute-api in Region
// (signing the same request again with the caller's secret must give the same Authorization
// header), names the caller by its access key, and hands the handler the proxy event API Gateway
// would, under the stage /v1.
type Gateway struct {
	Handler APIHandler
	Region  string
	Callers map[string]string // access key → caller ARN
	Secrets map[string]string // access key → secret
	// Context, when set, is the context the handler runs in for a call (a harness's: the calling
	// actor's, so that the handler's waits are its); default the request's.
	Context func(r *http.Request) context.Context
}

var gatewayRoutes = []string{"/requests/{id}/end", "/requests/{id}/cancel", "/requests/{id}/confirm", "/requests/{id}/approve", "/requests/{id}/deny", "/requests/{id}/review", "/requests/{id}", "/requests", "/subscriptions"}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	auth := r.Header.Get("Authorization")
	key := ""
	if i := strings.Index(auth, "Credential="); i >= 0 {
		key = strings.SplitN(auth[i+len("Credential="):], "/", 2)[0]
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	secret, known := g.Secrets[key]
	if err != nil || !known || !strings.Contains(auth, "/"+g.Region+"/execute-api/aws4_request") {
		http.Error(w, `{"message":"Missing Authentication Token"}`, http.StatusForbidden)
		return
	}
	// The same request as the client signed it: its signed headers only (a transport adds others).
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if i := strings.Index(auth, "SignedHeaders="); i >= 0 {
		for _, h := range strings.Split(strings.SplitN(auth[i+len("SignedHeaders="):], ",", 2)[0], ";") {
			if h != "host" && h != "x-amz-date" {
				again.Header.Set(h, r.Header.Get(h))
			}
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, again, fmt.Sprintf("%x", sum), "execute-api", g.Region, when); err != nil || again.Header.Get("Authorization") != auth {
		http.Error(w, `{"message":"The request signature we calculated does not match the signature you provided."}`, http.StatusForbidden)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	ev := events.APIGatewayProxyRequest{HTTPMethod: r.Method, Path: path, Body: string(body), Headers: map[string]string{},
		QueryStringParameters: map[string]string{}, PathParameters: map[string]string{}}
	for k := range r.Header {
		ev.Headers[k] = r.Header.Get(k)
	}
	for k := range r.URL.Query() {
		ev.QueryStringParameters[k] = r.URL.Query().Get(k)
	}
	for _, route := range gatewayRoutes {
		parts, got := strings.Split(route, "/"), strings.Split(path, "/")
		if len(parts) != len(got) {
			continue
		}
		match := true
		for i := range parts {
			switch {
			case parts[i] == "{id}":
				ev.PathParameters["id"] = got[i]
			case parts[i] != got[i]:
				match = false
			}
		}
		if match {
			ev.Resource = route
			break
		}
	}
	ev.RequestContext.Identity.UserArn = g.Callers[key]
	ev.RequestContext.RequestID = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	ev.RequestContext.Stage = "v1"
	ctx := r.Context()
	if g.Context != nil {
		ctx = g.Context(r)
	}
	res, err := g.Handler.Handle(ctx, ev)
	if err != nil {
		http.Error(w, `{"message":"Internal server error"}`, http.StatusBadGateway)
		return
	}
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.WriteString(w, res.Body)
}
