package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Request items: one per request, moved from status to status by conditional writes.

// Get reads one request; ErrNotFound if there is none.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: requestKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Record{}, fmt.Errorf("read request %s: %w", id, err)
	}
	if out.Item == nil {
		return Record{}, ErrNotFound
	}
	return decodeRecord(out.Item)
}

// Reserve records a new request as SCHEDULED and takes a lease on each of its accounts. If any
// account is held by another request, it releases what it took, records the request as
// REJECTED, and returns that record with *ConflictError. Reserving the same request again is a no-op that returns
// the stored record.
func (s *Store) Reserve(ctx context.Context, rec Record, actor string) (Record, error) {
	rec, err := s.putNew(ctx, rec, Scheduled, actor, "validated")
	if isConditionFailed(err) {
		existing, gerr := s.Get(ctx, rec.RequestID)
		if gerr != nil {
			return Record{}, gerr
		}
		if !existing.SameRequest(rec) {
			return Record{}, &DuplicateError{RequestID: rec.RequestID}
		}
		if existing.Status != Scheduled {
			return existing, nil
		}
		rec = existing // a retry: make sure every lease is held
	} else if err != nil {
		return Record{}, fmt.Errorf("record request %s: %w", rec.RequestID, err)
	}

	var taken []string
	var conflicts []Conflict
	for _, account := range rec.AccountIDs {
		c, err := s.takeLease(ctx, account, rec.RequestID, rec.PlannedEnd())
		if err != nil {
			_ = s.Release(context.WithoutCancel(ctx), rec.RequestID, taken)
			return Record{}, err
		}
		if c != nil {
			conflicts = append(conflicts, *c)
			continue
		}
		taken = append(taken, account)
	}
	if len(conflicts) == 0 {
		return rec, nil
	}
	if err := s.Release(context.WithoutCancel(ctx), rec.RequestID, taken); err != nil {
		return Record{}, err
	}
	cerr := &ConflictError{Conflicts: conflicts}
	rejected, err := s.Transition(ctx, rec.RequestID, Rejected, actor, cerr.Error(), Change{})
	if err != nil {
		return Record{}, err
	}
	return rejected, cerr
}

// putNew writes a request's first record in status, unless the request ID is already recorded
// (a ConditionalCheckFailedException). Its CreatedAt is when the request was read, if rec says
// (the request is as of then, and is read again as of then), else now; its history starts now.
func (s *Store) putNew(ctx context.Context, rec Record, status Status, actor, note string) (Record, error) {
	now := s.now().UTC()
	rec.Status = status
	if rec.CreatedAt.IsZero() || rec.CreatedAt.After(now) {
		rec.CreatedAt = now
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.History = []Transition{{Status: status, At: now, Actor: actor, Note: note}}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: encodeRecord(rec),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	return rec, err
}

// RecordRejection keeps a rejected request for the audit trail and returns the record. A request
// ID already recorded is left as it is, and its record returned.
func (s *Store) RecordRejection(ctx context.Context, rec Record, actor string) (Record, error) {
	rec, err := s.putNew(ctx, rec, Rejected, actor, "rejected at validation")
	if isConditionFailed(err) {
		return s.Get(ctx, rec.RequestID)
	}
	if err != nil {
		return Record{}, fmt.Errorf("record rejection of %s: %w", rec.RequestID, err)
	}
	return rec, nil
}

// Change lists what a transition sets besides the status; zero fields are left alone.
type Change struct {
	OpenedAt, RestoreAt, ClosedAt time.Time
	LastError                     string
	WindowPolicyID                string
	SignIn                        []contract.SignIn
}

// Transition moves a request to status `to` if it is in a status allowed to move there, appending
// to its history. Moving to the status it already has is a no-op returning the record; any other
// refused move is a *TransitionError.
func (s *Store) Transition(ctx context.Context, id string, to Status, actor, note string, c Change) (Record, error) {
	from := allowedFrom[to]
	now := s.now().UTC()
	h := Transition{Status: to, At: now, Actor: actor, Note: note}
	names := map[string]string{"#pk": contract.KeyAttribute, "#status": "status"}
	values := map[string]types.AttributeValue{
		":to": str(string(to)), ":h": &types.AttributeValueMemberL{Value: []types.AttributeValue{encodeTransition(h)}},
		":now": timeAttr(now),
	}
	update := "SET #status = :to, history = list_append(history, :h), updatedAt = :now"
	set := func(attr string, v types.AttributeValue) {
		update += fmt.Sprintf(", %s = :%s", attr, attr)
		values[":"+attr] = v
	}
	if !c.OpenedAt.IsZero() {
		set("openedAt", timeAttr(c.OpenedAt))
	}
	if !c.RestoreAt.IsZero() {
		set("restoreAt", timeAttr(c.RestoreAt))
	}
	if !c.ClosedAt.IsZero() {
		set("closedAt", timeAttr(c.ClosedAt))
	}
	if c.LastError != "" {
		set("lastError", str(c.LastError))
	}
	if c.SignIn != nil {
		av, err := attributevalue.Marshal(c.SignIn)
		if err != nil {
			return Record{}, fmt.Errorf("encode the sign-in of %s: %w", id, err)
		}
		set("signIn", av)
	}
	if c.WindowPolicyID != "" {
		set("windowPolicyId", str(c.WindowPolicyID))
	}
	cond := "attribute_exists(#pk) AND #status IN ("
	for i, f := range from {
		k := ":from" + strconv.Itoa(i)
		values[k] = str(string(f))
		if i > 0 {
			cond += ", "
		}
		cond += k
	}
	cond += ")"
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression: &update, ConditionExpression: &cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		current, gerr := s.Get(ctx, id)
		if gerr != nil {
			return Record{}, gerr
		}
		if current.Status == to {
			return current, nil
		}
		return current, &TransitionError{RequestID: id, Current: current.Status, To: to}
	}
	if err != nil {
		return Record{}, fmt.Errorf("move request %s to %s: %w", id, to, err)
	}
	return decodeRecord(out.Attributes)
}

// Confirm records that by, the request's requester, confirmed it: only a SCHEDULED request that
// waits for confirmation, and only by its requester (both conditions of the write, so a record
// someone else changed meanwhile is not confirmed). Confirming it again is a no-op returning the
// record; a refused confirmation is a *ConfirmError saying why.
func (s *Store) Confirm(ctx context.Context, id, by string) (Record, error) {
	now := s.now().UTC()
	h := Transition{Status: Scheduled, At: now, Actor: by, Note: "confirmed by the requester"}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:         aws.String("SET confirmedBy = :by, confirmedAt = :now, updatedAt = :now, history = list_append(history, :h)"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #status = :scheduled AND requester = :by AND attribute_exists(confirmBy) AND attribute_not_exists(confirmedAt)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute, "#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":by": str(by), ":now": timeAttr(now), ":scheduled": str(string(Scheduled)),
			":h": &types.AttributeValueMemberL{Value: []types.AttributeValue{encodeTransition(h)}},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		current, gerr := s.Get(ctx, id)
		if gerr != nil {
			return Record{}, gerr
		}
		if current.ConfirmedBy == by && !current.ConfirmedAt.IsZero() {
			return current, nil
		}
		return current, &ConfirmError{RequestID: id, Current: current, By: by}
	}
	if err != nil {
		return Record{}, fmt.Errorf("confirm request %s: %w", id, err)
	}
	return decodeRecord(out.Attributes)
}

// SetApprovalToken records the task token the request's execution waits on for its approval:
// only on a SCHEDULED request that needs one. It returns the record, whose decision may already
// be there (an approver quicker than the execution).
func (s *Store) SetApprovalToken(ctx context.Context, id, token string) (Record, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:          aws.String("SET approvalToken = :t, updatedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #status = :scheduled AND attribute_exists(approveBy)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute, "#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(token), ":now": timeAttr(s.now()), ":scheduled": str(string(Scheduled))},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		current, gerr := s.Get(ctx, id)
		if gerr != nil {
			return Record{}, gerr
		}
		return current, &DecisionError{RequestID: id, Current: current}
	}
	if err != nil {
		return Record{}, fmt.Errorf("record the approval token of %s: %w", id, err)
	}
	return decodeRecord(out.Attributes)
}

// Decide records an approver's decision on a SCHEDULED request that waits for one, before its
// deadline, by someone other than its requester (all conditions of the write). The same decision
// by the same approver again returns the record; any other is a *DecisionError.
func (s *Store) Decide(ctx context.Context, id, by string, approve bool, words string) (Record, error) {
	now := s.now().UTC()
	note, set := "denied by "+by, "deniedBy = :by, deniedAt = :now"
	if approve {
		note, set = "approved by "+by, "approvedBy = :by, approvedAt = :now"
	}
	if words != "" {
		note += ": " + words
	}
	h := Transition{Status: Scheduled, At: now, Actor: by, Note: note}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression: aws.String("SET " + set + ", decision = :words, updatedAt = :now, history = list_append(history, :h)"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #status = :scheduled AND requester <> :by AND approveBy > :now" +
			" AND attribute_not_exists(approvedAt) AND attribute_not_exists(deniedAt)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute, "#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":by": str(by), ":now": timeAttr(now), ":scheduled": str(string(Scheduled)), ":words": str(words),
			":h": &types.AttributeValueMemberL{Value: []types.AttributeValue{encodeTransition(h)}},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		current, gerr := s.Get(ctx, id)
		if gerr != nil {
			return Record{}, gerr
		}
		if (approve && current.ApprovedBy == by) || (!approve && current.DeniedBy == by) {
			return current, nil
		}
		return current, &DecisionError{RequestID: id, Current: current, By: by, At: now}
	}
	if err != nil {
		return Record{}, fmt.Errorf("record the decision on %s: %w", id, err)
	}
	return decodeRecord(out.Attributes)
}

// NoteError records the latest error of a request without changing its status (a restore that
// keeps failing, say), so that a person reading the record sees why.
func (s *Store) NoteError(ctx context.Context, id, msg string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:          aws.String("SET lastError = :e, updatedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": str(msg), ":now": timeAttr(s.now())},
	})
	if err != nil {
		return fmt.Errorf("note error on %s: %w", id, err)
	}
	return nil
}

// NoteSignIn records a request's sign-in state as it is now (a root password deleted after the
// window, say) with a note in its history, its status unchanged.
func (s *Store) NoteSignIn(ctx context.Context, rec Record, signIn []contract.SignIn, actor, note string) (Record, error) {
	av, err := attributevalue.Marshal(signIn)
	if err != nil {
		return rec, fmt.Errorf("encode the sign-in of %s: %w", rec.RequestID, err)
	}
	now := s.now().UTC()
	h := Transition{Status: rec.Status, At: now, Actor: actor, Note: note}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(rec.RequestID),
		UpdateExpression:         aws.String("SET signIn = :s, history = list_append(history, :h), updatedAt = :now"),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": av, ":h": &types.AttributeValueMemberL{Value: []types.AttributeValue{encodeTransition(h)}}, ":now": timeAttr(now),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return rec, fmt.Errorf("note the sign-in of %s: %w", rec.RequestID, err)
	}
	return decodeRecord(out.Attributes)
}

// MarkNotified records notifications as delivered.
func (s *Store) MarkNotified(ctx context.Context, id string, kinds []string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:          aws.String("ADD notified :k"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberSS{Value: kinds}},
	})
	if err != nil {
		return fmt.Errorf("mark %s notified: %w", id, err)
	}
	return nil
}

// MarkRestoreFailed records that the workflow gave up restoring the guardrail, and why. The
// status and the leases stay as they are, for whoever restores it next.
func (s *Store) MarkRestoreFailed(ctx context.Context, id, cause string) (Record, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:          aws.String("SET restoreFailedAt = if_not_exists(restoreFailedAt, :now), lastError = :e, updatedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": str(cause), ":now": timeAttr(s.now())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("record failed restore of %s: %w", id, err)
	}
	return decodeRecord(out.Attributes)
}
