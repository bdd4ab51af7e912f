package guardrail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// A window is closed by AWS as well as by rootwindow. Lifting swaps the guardrail, on each
// account, for the window's own SCP: the guardrail's document with every Deny statement bounded
// by `DateGreaterThan aws:CurrentTime <end>`. Until the end the window's SCP denies nothing the
// guardrail's absence allows; from the end it denies exactly what the guardrail does, evaluated by
// AWS's own clock whatever becomes of rootwindow (aws:CurrentTime is in every request's context,
// the root user's included). The restore puts the guardrail back, then detaches and deletes the
// window's SCP.
//
// Order, so that no step needs a slot beyond the quota and no failure leaves root open without a
// bound: on each account the window's SCP is attached first, into the free slot the account must
// have (Report.Problem refuses an account without one), and only then is the guardrail detached;
// at the restore the guardrail is attached first (into the slot it left), then the window's SCP
// detached. At every instant each account holds the guardrail, the window's SCP, or both.

// Window is one window's lift on the guardrail.
type Window struct {
	RequestID  string
	End        time.Time // the window's SCP denies the root user from this instant (UTC)
	AccountIDs []string
	// PolicyID is the window's SCP when known (from the ledger); "" makes Lift create it, and
	// Restore find it by name.
	PolicyID string
	// Document is the guardrail's document the window's SCP bounds: its base when the exempt
	// strategy may have rewritten the live one with other windows' exemptions; "" reads it live.
	Document string
}

// WindowPolicyName is the name of a request's window SCP.
func WindowPolicyName(requestID string) string { return "rootwindow-" + requestID }

// WindowContent renders a window SCP from the guardrail's document: the same statements, each
// Deny bounded to instants after end. The rendering is deterministic: the same document and end
// give the same bytes.
func WindowContent(guardrailDoc string, end time.Time) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(guardrailDoc), &doc); err != nil {
		return "", fmt.Errorf("the guardrail's document is not JSON: %w", err)
	}
	var stmts []any
	switch st := doc["Statement"].(type) {
	case []any:
		stmts = st
	case map[string]any:
		stmts = []any{st}
	default:
		return "", errors.New("the guardrail's document has no statements")
	}
	at := end.UTC().Format(time.RFC3339)
	for i, s := range stmts {
		st, ok := s.(map[string]any)
		if !ok {
			return "", fmt.Errorf("the guardrail's statement %d is not an object", i)
		}
		if st["Effect"] != "Deny" {
			continue
		}
		cond, _ := st["Condition"].(map[string]any)
		if cond == nil {
			cond = map[string]any{}
		}
		for op, keys := range cond {
			if km, ok := keys.(map[string]any); ok && strings.HasPrefix(op, "Date") {
				for k := range km {
					if strings.EqualFold(k, "aws:CurrentTime") {
						return "", fmt.Errorf("the guardrail's statement %d already conditions on aws:CurrentTime: a window cannot be bounded by time", i)
					}
				}
			}
		}
		after, _ := cond["DateGreaterThan"].(map[string]any)
		if after == nil {
			after = map[string]any{}
		}
		after["aws:CurrentTime"] = at
		cond["DateGreaterThan"] = after
		st["Condition"] = cond
	}
	doc["Statement"] = stmts
	b, err := json.Marshal(doc) // map keys in sorted order: deterministic
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Lift swaps the guardrail on each of the window's accounts for the window's SCP, creating it
// if needed, and returns its ID. An account already swapped counts as lifted. If any account
// fails, no further account is started and every account this call touched is restored; a
// *BatchError says what failed and whether the restore worked.
func (g *Guardrail) Lift(ctx context.Context, w Window) (string, error) {
	doc := w.Document
	if doc == "" {
		c, err := g.Content(ctx)
		if err != nil {
			return "", err
		}
		doc = c.Text
	}
	content, err := WindowContent(doc, w.End)
	if err != nil {
		return "", err
	}
	if n := len(content); n > g.opts.Quotas.Size {
		return "", fmt.Errorf("the window's SCP would be %d characters, over the SCP size quota of %d: shorten the guardrail's document", n, g.opts.Quotas.Size)
	}
	w.PolicyID, err = g.windowPolicy(ctx, w, content)
	if err != nil {
		return "", err
	}
	var stop atomic.Bool
	touched := make([]bool, len(w.AccountIDs))
	failed := g.batch(ctx, w.AccountIDs, func(ctx context.Context, i int, id string) error {
		if stop.Load() {
			return nil
		}
		touched[i] = true
		err := g.swapOne(ctx, id, w.PolicyID)
		if err != nil {
			stop.Store(true)
		}
		return err
	})
	if len(failed) == 0 {
		return w.PolicyID, nil
	}
	undo := w
	undo.AccountIDs = nil
	for i, id := range w.AccountIDs {
		if touched[i] {
			undo.AccountIDs = append(undo.AccountIDs, id) // a failed call may still have taken effect
		}
	}
	g.opts.Logger.Warn("lift failed part-way; putting the guardrail back", "failed", len(failed), "touched", len(undo.AccountIDs))
	berr := &BatchError{Op: "detach", Failed: failed, compensated: true}
	if err := g.Restore(context.WithoutCancel(ctx), undo); err != nil {
		var rb *BatchError
		if !errors.As(err, &rb) {
			rb = &BatchError{Op: "reattach", Failed: map[string]error{"": err}}
		}
		berr.Compensation, berr.compensated = rb, false
	}
	return w.PolicyID, berr
}

// swapOne attaches the window's SCP to one account, then detaches the guardrail from it.
func (g *Guardrail) swapOne(ctx context.Context, id, windowPolicy string) error {
	if err := g.attach(ctx, windowPolicy, id); err != nil {
		return err
	}
	return g.detachOne(ctx, id)
}

// Restore puts the guardrail back on each of the window's accounts, then detaches the window's
// SCP from it; once it is off every account, the window's SCP is deleted. It tries every account
// even when some fail, and returns a *BatchError naming those the guardrail could not go back on.
// An account restored already counts as restored; a window with no SCP (none was created)
// restores the guardrail alone. A window SCP left on an account whose guardrail is back is not a
// failure (it denies the root user from its end, as the guardrail does): it is logged, and
// CleanUp removes it later.
func (g *Guardrail) Restore(ctx context.Context, w Window) error {
	id, err := g.ownWindowPolicy(ctx, w)
	if err != nil {
		return err
	}
	w.PolicyID = id
	var mu sync.Mutex
	left := 0
	failed := g.batch(ctx, w.AccountIDs, func(ctx context.Context, _ int, id string) error {
		if err := g.attachOne(ctx, id); err != nil {
			return err
		}
		if w.PolicyID == "" {
			return nil
		}
		if err := g.detach(ctx, w.PolicyID, id); err != nil {
			g.opts.Logger.Warn("guardrail back, but the window's SCP is still attached; the sweeper removes it", "account", id, "policy", w.PolicyID, "error", errorCode(err))
			mu.Lock()
			left++
			mu.Unlock()
		}
		return nil
	})
	if len(failed) > 0 {
		return &BatchError{Op: "reattach", Failed: failed}
	}
	if w.PolicyID != "" && left == 0 {
		g.deleteWindowPolicy(ctx, w.PolicyID)
	}
	return nil
}

// windowPolicy creates the window's SCP, or finds the one an earlier attempt created (by name)
// and checks that it is ours: a policy of that name with another document is refused.
func (g *Guardrail) windowPolicy(ctx context.Context, w Window, content string) (string, error) {
	id := w.PolicyID
	if id == "" {
		var out *organizations.CreatePolicyOutput
		err := g.call(ctx, "CreatePolicy", w.RequestID, func() (err error) {
			out, err = g.api.CreatePolicy(ctx, &organizations.CreatePolicyInput{
				Name: aws.String(WindowPolicyName(w.RequestID)), Type: types.PolicyTypeServiceControlPolicy, Content: aws.String(content),
				Description: aws.String("rootwindow: denies the root user after request " + w.RequestID + "'s window ends at " + w.End.UTC().Format(time.RFC3339)),
				Tags:        g.windowTags(w),
			})
			return err
		})
		var dup *types.DuplicatePolicyException
		switch {
		case err == nil:
			g.opts.Logger.Info("window SCP created", "policy", aws.ToString(out.Policy.PolicySummary.Id), "end", w.End.UTC().Format(time.RFC3339))
			return aws.ToString(out.Policy.PolicySummary.Id), nil
		case errors.As(err, &dup):
			if id, err = g.findWindowPolicy(ctx, w.RequestID); err != nil {
				return "", err
			}
			if id == "" {
				return "", fmt.Errorf("create window SCP %s: it exists, but is not listed", WindowPolicyName(w.RequestID))
			}
		default:
			return "", fmt.Errorf("create window SCP %s: %w", WindowPolicyName(w.RequestID), err)
		}
	}
	var out *organizations.DescribePolicyOutput
	err := g.call(ctx, "DescribePolicy", id, func() (err error) {
		out, err = g.api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("describe window SCP %s: %w", id, err)
	}
	if !sameDocument(aws.ToString(out.Policy.Content), content) {
		return "", fmt.Errorf("the SCP %s named %s does not hold this window's document: refusing to lift with a policy rootwindow did not write", id, WindowPolicyName(w.RequestID))
	}
	return id, nil
}

// ownWindowPolicy is the window's SCP that the restore may detach and delete: the one the record
// names if it is that request's window SCP (by name, and never the guardrail), else the one of
// that name, or "" when there is none. A record is a table others might write.
func (g *Guardrail) ownWindowPolicy(ctx context.Context, w Window) (string, error) {
	if w.PolicyID != "" && w.PolicyID != g.policyID {
		var out *organizations.DescribePolicyOutput
		err := g.call(ctx, "DescribePolicy", w.PolicyID, func() (err error) {
			out, err = g.api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(w.PolicyID)})
			return err
		})
		var notFound *types.PolicyNotFoundException
		switch {
		case errors.As(err, &notFound):
			return "", nil // deleted by an earlier restore
		case err != nil:
			return "", fmt.Errorf("describe window SCP %s: %w", w.PolicyID, err)
		case out.Policy != nil && out.Policy.PolicySummary != nil && aws.ToString(out.Policy.PolicySummary.Name) == WindowPolicyName(w.RequestID):
			return w.PolicyID, nil
		}
		g.opts.Logger.Error("the record names a policy that is not this window's SCP; finding the window's SCP by name", "policy", w.PolicyID, "requestId", w.RequestID)
	}
	return g.findWindowPolicy(ctx, w.RequestID)
}

// windowTags are the tags of w's window SCP.
func (g *Guardrail) windowTags(w Window) []types.Tag {
	tags := []types.Tag{
		{Key: aws.String(contract.TagWindowRequest), Value: aws.String(w.RequestID)},
		{Key: aws.String(contract.TagWindowEnd), Value: aws.String(w.End.UTC().Format(time.RFC3339))},
	}
	if g.opts.Deployment != "" {
		tags = append(tags, types.Tag{Key: aws.String(contract.TagWindowDeployment), Value: aws.String(g.opts.Deployment)})
	}
	return tags
}

// MadeByAnother reports which other deployment of rootwindow made a window SCP ("" when this one
// did, or when the SCP names none: one made before deployments were named, which this deployment
// may clean up as it did).
func (g *Guardrail) MadeByAnother(ctx context.Context, policyID string) (string, error) {
	var out *organizations.ListTagsForResourceOutput
	if err := g.call(ctx, "ListTagsForResource", policyID, func() (err error) {
		out, err = g.api.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(policyID)})
		return err
	}); err != nil {
		return "", fmt.Errorf("read the tags of %s: %w", policyID, err)
	}
	for _, t := range out.Tags {
		if v := aws.ToString(t.Value); aws.ToString(t.Key) == contract.TagWindowDeployment && v != g.opts.Deployment && !slices.Contains(g.opts.FormerNames, v) {
			return v, nil
		}
	}
	return "", nil
}

// findWindowPolicy finds a request's window SCP by name, or "" when there is none.
func (g *Guardrail) findWindowPolicy(ctx context.Context, requestID string) (string, error) {
	name := WindowPolicyName(requestID)
	in := &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy}
	for {
		var out *organizations.ListPoliciesOutput
		err := g.call(ctx, "ListPolicies", "", func() (err error) {
			out, err = g.api.ListPolicies(ctx, in)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("list policies: %w", err)
		}
		for _, p := range out.Policies {
			if aws.ToString(p.Name) == name {
				return aws.ToString(p.Id), nil
			}
		}
		if out.NextToken == nil {
			return "", nil
		}
		in.NextToken = out.NextToken
	}
}

// deleteWindowPolicy deletes a window SCP that no account holds any more. Failing to is not a
// failure of the restore: the SCP denies the root user once its window has ended.
func (g *Guardrail) deleteWindowPolicy(ctx context.Context, id string) {
	err := g.call(ctx, "DeletePolicy", id, func() error {
		_, err := g.api.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String(id)})
		return err
	})
	var notFound *types.PolicyNotFoundException
	switch {
	case err == nil:
		g.opts.Logger.Info("window SCP deleted", "policy", id)
	case errors.As(err, &notFound):
	default:
		g.opts.Logger.Warn("window SCP not deleted; it denies the root user from its end, and the sweeper deletes it later", "policy", id, "error", errorCode(err))
	}
}

// attach attaches policy to target; already attached counts as done.
func (g *Guardrail) attach(ctx context.Context, policy, target string) error {
	err := g.call(ctx, "AttachPolicy", target, func() error {
		_, err := g.api.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(policy), TargetId: aws.String(target)})
		return err
	})
	var dup *types.DuplicatePolicyAttachmentException
	if errors.As(err, &dup) {
		return nil
	}
	return err
}

// detach detaches policy from target; not attached (or no longer existing) counts as done.
func (g *Guardrail) detach(ctx context.Context, policy, target string) error {
	err := g.call(ctx, "DetachPolicy", target, func() error {
		_, err := g.api.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(policy), TargetId: aws.String(target)})
		return err
	})
	var notAttached *types.PolicyNotAttachedException
	var notFound *types.PolicyNotFoundException
	if errors.As(err, &notAttached) || errors.As(err, &notFound) {
		return nil
	}
	return err
}

// WindowPolicies lists the organization's window SCPs by the request each bounds.
func (g *Guardrail) WindowPolicies(ctx context.Context) (map[string]string, error) {
	scps, err := g.scps(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range scps {
		if req, ok := strings.CutPrefix(aws.ToString(p.Name), WindowPolicyName("")); ok && req != "" {
			out[req] = aws.ToString(p.Id)
		}
	}
	return out, nil
}

// scps lists the organization's service control policies (ListPolicies, every page).
func (g *Guardrail) scps(ctx context.Context) ([]types.PolicySummary, error) {
	var out []types.PolicySummary
	in := &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy}
	for {
		var page *organizations.ListPoliciesOutput
		err := g.call(ctx, "ListPolicies", "", func() (err error) {
			page, err = g.api.ListPolicies(ctx, in)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, page.Policies...)
		if page.NextToken == nil {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// CleanUp restores the accounts a window SCP is still attached to (the guardrail back, the
// window's SCP off) and deletes it: for a window SCP whose request no longer holds its accounts.
// Targets other than accounts (an OU or the root someone attached it to) are left alone and named
// in the error.
func (g *Guardrail) CleanUp(ctx context.Context, requestID, policyID string) error {
	var accounts, others []string
	in := &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(policyID)}
	for {
		var page *organizations.ListTargetsForPolicyOutput
		err := g.call(ctx, "ListTargetsForPolicy", policyID, func() (err error) {
			page, err = g.api.ListTargetsForPolicy(ctx, in)
			return err
		})
		var notFound *types.PolicyNotFoundException
		if errors.As(err, &notFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list targets of %s: %w", policyID, err)
		}
		for _, t := range page.Targets {
			if t.Type == types.TargetTypeAccount {
				accounts = append(accounts, aws.ToString(t.TargetId))
			} else {
				others = append(others, aws.ToString(t.TargetId))
			}
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if len(others) > 0 {
		return fmt.Errorf("window SCP %s is attached to %s, which are not accounts: detach it there by hand", policyID, strings.Join(others, ", "))
	}
	return g.Restore(ctx, Window{RequestID: requestID, AccountIDs: accounts, PolicyID: policyID})
}
