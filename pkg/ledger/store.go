package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// DynamoDBAPI lists the DynamoDB calls the ledger makes, with the SDK's signatures.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// The table's schema is contract's (contract.KeyAttribute, contract.KindAttribute, contract.CreatedAttribute, contract.ByCreatedIndex);
// these are the kinds of item in the index.
const (
	kindRequest = "request"
	kindLease   = "lease"
)

// Store is the ledger in one DynamoDB table.
type Store struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns the ledger kept in table, reading the time from now and waiting between its
// bounded retries (unprocessed keys, a lock held) with sleep (nil: the wall clock's).
func New(db DynamoDBAPI, table string, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *Store {
	if sleep == nil {
		sleep = wait
	}
	return &Store{db: db, table: table, now: now, sleep: sleep}
}

func requestKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.KeyAttribute: str("request#" + id)}
}

func leaseKey(account string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.KeyAttribute: str("lease#" + account)}
}

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
// (a ConditionalCheckFailedException).
func (s *Store) putNew(ctx context.Context, rec Record, status Status, actor, note string) (Record, error) {
	now := s.now().UTC()
	rec.Status, rec.CreatedAt = status, now
	rec.History = []Transition{{Status: status, At: now, Actor: actor, Note: note}}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: encodeRecord(rec),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	return rec, err
}

func (s *Store) takeLease(ctx context.Context, account, requestID string, until time.Time) (*Conflict, error) {
	for range 3 { // a holder releasing between our write and our read makes us try again
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.table,
			Item:                      encodeLease(Lease{AccountID: account, RequestID: requestID, Until: until}, s.now()),
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR requestId = :rid"),
			ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID)},
		})
		if err == nil {
			return nil, nil
		}
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("take lease on %s: %w", account, err)
		}
		leases, err := s.Leases(ctx, []string{account})
		if err != nil {
			return nil, err
		}
		if l, ok := leases[account]; ok {
			return &Conflict{AccountID: account, RequestID: l.RequestID, Until: l.Until}, nil
		}
	}
	return nil, fmt.Errorf("take lease on %s: the lease kept changing hands", account)
}

// Leases reads the leases held on accounts; accounts without one are absent from the map.
func (s *Store) Leases(ctx context.Context, accounts []string) (map[string]Lease, error) {
	leases := map[string]Lease{}
	err := s.batchGet(ctx, "leases", "lease#", accounts, func(item map[string]types.AttributeValue) error {
		l, err := decodeLease(item)
		if err == nil {
			leases[l.AccountID] = l
		}
		return err
	})
	return leases, err
}

// batchGet reads the items keyed prefix+id for ids, consistently, a hundred at a time, asking
// again (a bounded number of times, honouring ctx) for keys DynamoDB leaves unprocessed, and
// hands each item found to each. what names the items in errors.
func (s *Store) batchGet(ctx context.Context, what, prefix string, ids []string, each func(map[string]types.AttributeValue) error) error {
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]types.AttributeValue{contract.KeyAttribute: str(prefix + id)}
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := s.sleep(ctx, time.Duration(attempt*attempt)*20*time.Millisecond); err != nil {
					return fmt.Errorf("read %s: %w", what, err)
				}
			}
			if attempt > 8 {
				return fmt.Errorf("read %s: DynamoDB kept keys unprocessed", what)
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("read %s: %w", what, err)
			}
			for _, item := range out.Responses[s.table] {
				if err := each(item); err != nil {
					return err
				}
			}
			req = out.UnprocessedKeys
		}
	}
	return nil
}

// AllLeases lists every lease held now, oldest first.
func (s *Store) AllLeases(ctx context.Context) ([]Lease, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(contract.ByCreatedIndex),
		KeyConditionExpression:    aws.String("#kind = :kind"),
		ExpressionAttributeNames:  map[string]string{"#kind": contract.KindAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":kind": str(kindLease)},
	}
	var leases []Lease
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
		for _, item := range out.Items {
			l, err := decodeLease(item)
			if err != nil {
				return nil, err
			}
			leases = append(leases, l)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return leases, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ExtendLeases sets the end of the leases a request holds (once the window's real end is known).
func (s *Store) ExtendLeases(ctx context.Context, requestID string, accounts []string, until time.Time) error {
	for _, account := range accounts {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: leaseKey(account),
			UpdateExpression:          aws.String("SET #until = :until"),
			ConditionExpression:       aws.String("requestId = :rid"),
			ExpressionAttributeNames:  map[string]string{"#until": "until"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID), ":until": timeAttr(until)},
		})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("extend lease on %s: %w", account, err)
		}
	}
	return nil
}

// Release drops the leases a request holds on accounts; leases held by others are left alone.
func (s *Store) Release(ctx context.Context, requestID string, accounts []string) error {
	for _, account := range accounts {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: &s.table, Key: leaseKey(account),
			ConditionExpression:       aws.String("requestId = :rid"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID)},
		})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("release lease on %s: %w", account, err)
		}
	}
	return nil
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

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
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

// ClaimEvent ties an EventBridge event to the request it started, so that a second delivery of
// the same event is recognised. It returns the request that holds the event: requestID when the
// claim is new or already ours, another request ID for a duplicate delivery.
func (s *Store) ClaimEvent(ctx context.Context, eventID, requestID string) (string, error) {
	key := map[string]types.AttributeValue{contract.KeyAttribute: str("event#" + eventID)}
	item := marshal(eventItem{PK: "event#" + eventID, Kind: "event", RequestID: requestID, Since: timeText(s.now())})
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR requestId = :rid"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID)},
	})
	if err == nil {
		return requestID, nil
	}
	if !isConditionFailed(err) {
		return "", fmt.Errorf("claim event %s: %w", eventID, err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read claim of event %s: %w", eventID, err)
	}
	var claim eventItem
	if err := attributevalue.UnmarshalMap(out.Item, &claim); err != nil || claim.RequestID == "" {
		return "", fmt.Errorf("ledger item for event %s holds no request", eventID)
	}
	return claim.RequestID, nil
}

type eventItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	RequestID string `dynamodbav:"requestId"`
	Since     string `dynamodbav:"since"`
}

// Filter narrows a listing; zero fields match everything.
type Filter struct {
	AccountID string
	Status    Status
}

// ErrBadPageToken means a listing's page token was not one the ledger gave.
var ErrBadPageToken = errors.New("not a page token from an earlier answer")

// List returns requests newest first, up to limit of them matching filter, and a token for the
// next page ("" when there is none). It reads the index of requests by creation time; the filter
// applies within each page read, so a page can hold fewer than limit records and still have a
// next one.
func (s *Store) List(ctx context.Context, f Filter, limit int, token string) ([]Record, string, error) {
	start, err := decodePageToken(token)
	if err != nil {
		return nil, "", err
	}
	names := map[string]string{"#kind": contract.KindAttribute}
	values := map[string]types.AttributeValue{":kind": str(kindRequest)}
	var conds []string
	if f.AccountID != "" {
		conds = append(conds, "contains(accountIds, :account)")
		values[":account"] = str(f.AccountID)
	}
	if f.Status != "" {
		conds = append(conds, "#status = :status")
		names["#status"] = "status"
		values[":status"] = str(string(f.Status))
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(contract.ByCreatedIndex),
		KeyConditionExpression:    aws.String("#kind = :kind"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ExclusiveStartKey:         start,
	}
	if len(conds) > 0 {
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
	}
	var recs []Record
	// A filtered page may come back short; read on, a bounded number of pages, to fill it.
	for range 10 {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list requests: %w", err)
		}
		for _, item := range out.Items {
			rec, err := decodeRecord(item)
			if err != nil {
				return nil, "", err
			}
			recs = append(recs, rec)
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if len(out.LastEvaluatedKey) == 0 || len(recs) >= limit {
			break
		}
		in.Limit = aws.Int32(int32(limit - len(recs)))
	}
	return recs, encodePageToken(in.ExclusiveStartKey), nil
}

// A page token is the index key to start after, as JSON of its string attributes in base64url.
func encodePageToken(key map[string]types.AttributeValue) string {
	if len(key) == 0 {
		return ""
	}
	var m map[string]string
	if err := attributevalue.UnmarshalMap(key, &m); err != nil {
		return "" // not an index key of ours; nothing to page on
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(token string) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, ErrBadPageToken
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 3 || m[contract.KindAttribute] != kindRequest ||
		!strings.HasPrefix(m[contract.KeyAttribute], "request#") || m[contract.CreatedAttribute] == "" {
		return nil, ErrBadPageToken
	}
	key := map[string]types.AttributeValue{}
	for k, v := range m {
		key[k] = str(v)
	}
	return key, nil
}

// wait sleeps for d, or less if ctx ends first (and then says so).
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type pinItem struct {
	PK     string `dynamodbav:"pk"`
	Kind   string `dynamodbav:"kind"`
	SHA256 string `dynamodbav:"sha256"`
	Since  string `dynamodbav:"since"`
}

// PinGuardrail records sha256 as the guardrail's pinned document unless one is pinned already,
// and returns the pinned one. Only an operator re-pins (deleting the item with the break-glass
// role, or setting guardrailContentSha256).
func (s *Store) PinGuardrail(ctx context.Context, sha256 string) (string, error) {
	key := map[string]types.AttributeValue{contract.KeyAttribute: str("pin#guardrail")}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: marshal(pinItem{PK: "pin#guardrail", Kind: "pin", SHA256: sha256, Since: timeText(s.now())}),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	if err == nil {
		return sha256, nil
	}
	if !isConditionFailed(err) {
		return "", fmt.Errorf("pin the guardrail: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read the guardrail's pin: %w", err)
	}
	var pin pinItem
	if err := attributevalue.UnmarshalMap(out.Item, &pin); err != nil || pin.SHA256 == "" {
		return "", fmt.Errorf("the guardrail's pin in the ledger is not whole")
	}
	return pin.SHA256, nil
}

type endedItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	AccountID string `dynamodbav:"accountId"`
	RequestID string `dynamodbav:"requestId"`
	At        string `dynamodbav:"at"`
}

// MarkEnded records that a window of requestID on accounts ended at at (for the cooldown).
func (s *Store) MarkEnded(ctx context.Context, requestID string, accounts []string, at time.Time) error {
	for _, a := range accounts {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: marshal(endedItem{PK: "ended#" + a, Kind: "ended", AccountID: a, RequestID: requestID, At: timeText(at)}),
		})
		if err != nil {
			return fmt.Errorf("record the end of the window on %s: %w", a, err)
		}
	}
	return nil
}

// Ended reads when the last window on each of accounts ended; accounts that never had one are
// absent.
func (s *Store) Ended(ctx context.Context, accounts []string) (map[string]time.Time, error) {
	ended := map[string]time.Time{}
	err := s.batchGet(ctx, "window ends", "ended#", accounts, func(item map[string]types.AttributeValue) error {
		var it endedItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("ledger item %s is not a window's end: %w", keyOf(item), err)
		}
		at, err := time.Parse(time.RFC3339, it.At)
		if err != nil || it.AccountID == "" {
			return fmt.Errorf("ledger item %s is not a whole window's end", keyOf(item))
		}
		ended[it.AccountID] = at
		return nil
	})
	return ended, err
}

// Base is the guardrail's document as the exempt strategy renders from it: the document with no
// window open, as rootwindow first found it (or as an operator pinned it), its SHA-256 as
// found, and the SHA-256 of the canonical document rootwindow last wrote.
type Base struct {
	Content string
	SHA256  string
	Written string
}

type baseItem struct {
	PK      string `dynamodbav:"pk"`
	Kind    string `dynamodbav:"kind"`
	Content string `dynamodbav:"content"`
	SHA256  string `dynamodbav:"sha256"`
	Written string `dynamodbav:"written"`
	Since   string `dynamodbav:"since"`
}

var baseKey = map[string]types.AttributeValue{contract.KeyAttribute: str("base#guardrail")}

// GuardrailBase reads the pinned base document; found is false when none is pinned yet.
func (s *Store) GuardrailBase(ctx context.Context) (b Base, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: baseKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Base{}, false, fmt.Errorf("read the guardrail's base document: %w", err)
	}
	if out.Item == nil {
		return Base{}, false, nil
	}
	var it baseItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil || it.Content == "" || it.SHA256 == "" || it.Written == "" {
		return Base{}, false, fmt.Errorf("the guardrail's base document in the ledger is not whole")
	}
	return Base{Content: it.Content, SHA256: it.SHA256, Written: it.Written}, true, nil
}

// PinBase records b as the guardrail's base document unless one is pinned already, and returns
// the pinned one.
func (s *Store) PinBase(ctx context.Context, b Base) (Base, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: marshal(baseItem{PK: "base#guardrail", Kind: "pin", Content: b.Content, SHA256: b.SHA256, Written: b.Written, Since: timeText(s.now())}),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	if err == nil {
		return b, nil
	}
	if !isConditionFailed(err) {
		return Base{}, fmt.Errorf("pin the guardrail's base document: %w", err)
	}
	pinned, _, err := s.GuardrailBase(ctx)
	return pinned, err
}

// MarkWritten records the SHA-256 of the canonical document rootwindow just wrote.
func (s *Store) MarkWritten(ctx context.Context, sha string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: baseKey,
		UpdateExpression:          aws.String("SET written = :w"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":w": str(sha)},
	})
	if err != nil {
		return fmt.Errorf("record the guardrail's document as written: %w", err)
	}
	return nil
}

type lockItem struct {
	PK     string `dynamodbav:"pk"`
	Kind   string `dynamodbav:"kind"`
	Holder string `dynamodbav:"holder"`
	Until  string `dynamodbav:"until"`
}

// ErrLocked is a lock still held by someone else after the wait.
var ErrLocked = errors.New("locked by another writer")

// Lock takes the named lock for holder for at most ttl, waiting up to patience for another holder to
// release it; a lock whose holder's ttl has passed is taken over. It returns the release.
// Organizations' UpdatePolicy has no compare-and-swap, so writers of one document take turns.
func (s *Store) Lock(ctx context.Context, name, holder string, ttl, patience time.Duration) (func(context.Context) error, error) {
	key := map[string]types.AttributeValue{contract.KeyAttribute: str("lock#" + name)}
	var waited time.Duration // real time, whatever the store's clock says
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: marshal(lockItem{PK: "lock#" + name, Kind: "lock", Holder: holder, Until: timeText(s.now().Add(ttl))}),
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR holder = :h"),
			ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(holder)},
		})
		if err == nil {
			return func(ctx context.Context) error {
				_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
					TableName: &s.table, Key: key,
					ConditionExpression:       aws.String("holder = :h"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(holder)},
				})
				if err != nil && !isConditionFailed(err) {
					return fmt.Errorf("release lock %s: %w", name, err)
				}
				return nil
			}, nil
		}
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("take lock %s: %w", name, err)
		}
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read lock %s: %w", name, err)
		}
		var it lockItem
		if out.Item != nil && attributevalue.UnmarshalMap(out.Item, &it) == nil {
			if until, perr := time.Parse(time.RFC3339, it.Until); perr == nil && s.now().After(until) {
				// Its holder is gone: take it over, unless someone else did first.
				_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
					TableName: &s.table, Key: key,
					ConditionExpression:       aws.String("holder = :h AND #until = :u"),
					ExpressionAttributeNames:  map[string]string{"#until": "until"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(it.Holder), ":u": str(it.Until)},
				})
				if err != nil && !isConditionFailed(err) {
					return nil, fmt.Errorf("take over lock %s: %w", name, err)
				}
				continue
			}
		}
		if waited >= patience {
			return nil, fmt.Errorf("lock %s (held by %s): %w", name, it.Holder, ErrLocked)
		}
		if err := s.sleep(ctx, delay); err != nil {
			return nil, err
		}
		waited += delay
	}
}

type driftItem struct {
	PK   string `dynamodbav:"pk"`
	Kind string `dynamodbav:"kind"`
	What string `dynamodbav:"what"`
	At   string `dynamodbav:"at"`
}

var driftKey = map[string]types.AttributeValue{contract.KeyAttribute: str("drift#announced")}

// DriftDue reports whether a drift should be announced: it is not the one last announced, or that
// was announced more than every ago.
func (s *Store) DriftDue(ctx context.Context, what string, every time.Duration) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: driftKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("read the last drift notification: %w", err)
	}
	if out.Item == nil {
		return true, nil
	}
	var it driftItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return true, nil
	}
	at, err := time.Parse(time.RFC3339Nano, it.At)
	return it.What != what || err != nil || s.now().Sub(at) >= every, nil
}

// MarkDriftAnnounced records the drift just announced.
func (s *Store) MarkDriftAnnounced(ctx context.Context, what string) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: marshal(driftItem{PK: "drift#announced", Kind: "drift", What: what, At: timeText(s.now())})})
	if err != nil {
		return fmt.Errorf("record the drift notification: %w", err)
	}
	return nil
}

// Protection is what the last drift scan of the whole organization found: the accounts the
// guardrail protects (it applied to them at a scan, or rootwindow knew them), those of them it
// found without the guardrail and without an open window, and when it ran. One item: a DynamoDB
// item holds 400 KB, about 25,000 account IDs.
type Protection struct {
	Accounts  []string  // protected: they stay watched until they leave the organization
	Drifted   []string  // found without the guardrail by the last scan
	ScannedAt time.Time // zero when no scan has run
}

type protectionItem struct {
	PK        string   `dynamodbav:"pk"`
	Kind      string   `dynamodbav:"kind"`
	Accounts  []string `dynamodbav:"accounts"`
	Drifted   []string `dynamodbav:"drifted"`
	ScannedAt string   `dynamodbav:"scannedAt"`
}

var protectionKey = map[string]types.AttributeValue{contract.KeyAttribute: str("drift#protected")}

// Protection reads what the last drift scan found (zero before the first).
func (s *Store) Protection(ctx context.Context) (Protection, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: protectionKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Protection{}, fmt.Errorf("read the protected accounts: %w", err)
	}
	if out.Item == nil {
		return Protection{}, nil
	}
	var it protectionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Protection{}, fmt.Errorf("the protected accounts' item is not whole: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, it.ScannedAt)
	if err != nil {
		return Protection{}, fmt.Errorf("the protected accounts' item is not whole: scannedAt %q", it.ScannedAt)
	}
	return Protection{Accounts: it.Accounts, Drifted: it.Drifted, ScannedAt: at}, nil
}

// SaveProtection records what a drift scan found.
func (s *Store) SaveProtection(ctx context.Context, p Protection) error {
	it := protectionItem{PK: "drift#protected", Kind: "drift", Accounts: p.Accounts, Drifted: p.Drifted, ScannedAt: timeText(p.ScannedAt)}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: marshal(it)}); err != nil {
		return fmt.Errorf("record the protected accounts: %w", err)
	}
	return nil
}
