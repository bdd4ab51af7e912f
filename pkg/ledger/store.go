package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI lists the DynamoDB calls the ledger makes, with the SDK's signatures.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// KeyAttribute is the table's partition key.
const KeyAttribute = "pk"

// Store is the ledger in one DynamoDB table.
type Store struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
}

// New returns the ledger kept in table.
func New(db DynamoDBAPI, table string, now func() time.Time) *Store {
	return &Store{db: db, table: table, now: now}
}

func requestKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttribute: str("request#" + id)}
}

func leaseKey(account string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttribute: str("lease#" + account)}
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
// REJECTED, and returns *ConflictError. Reserving the same request again is a no-op that returns
// the stored record.
func (s *Store) Reserve(ctx context.Context, rec Record, actor string) (Record, error) {
	rec, err := s.putNew(ctx, rec, Scheduled, actor, "validated")
	if isConditionFailed(err) {
		existing, gerr := s.Get(ctx, rec.RequestID)
		if gerr != nil {
			return Record{}, gerr
		}
		if existing.Requester != rec.Requester || !slices.Equal(existing.AccountIDs, rec.AccountIDs) || existing.Hours != rec.Hours {
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
	if _, err := s.Transition(ctx, rec.RequestID, Rejected, actor, cerr.Error(), Change{}); err != nil {
		return Record{}, err
	}
	return Record{}, cerr
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
		ExpressionAttributeNames: map[string]string{"#pk": KeyAttribute},
	})
	return rec, err
}

func (s *Store) takeLease(ctx context.Context, account, requestID string, until time.Time) (*Conflict, error) {
	for range 3 { // a holder releasing between our write and our read makes us try again
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table,
			Item: map[string]types.AttributeValue{
				KeyAttribute: str("lease#" + account), "kind": str("lease"), "accountId": str(account),
				"requestId": str(requestID), "until": timeAttr(until), "since": timeAttr(s.now()),
			},
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR requestId = :rid"),
			ExpressionAttributeNames:  map[string]string{"#pk": KeyAttribute},
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
	for chunk := range slices.Chunk(accounts, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, a := range chunk {
			keys[i] = leaseKey(a)
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
			}
			if attempt > 8 {
				return nil, fmt.Errorf("read leases: DynamoDB kept keys unprocessed")
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("read leases: %w", err)
			}
			for _, item := range out.Responses[s.table] {
				until, _ := time.Parse(time.RFC3339, getS(item, "until"))
				l := Lease{AccountID: getS(item, "accountId"), RequestID: getS(item, "requestId"), Until: until}
				leases[l.AccountID] = l
			}
			req = out.UnprocessedKeys
		}
	}
	return leases, nil
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

// RecordRejection keeps a rejected request for the audit trail. A request ID already recorded is
// left as it is.
func (s *Store) RecordRejection(ctx context.Context, rec Record, actor string) error {
	_, err := s.putNew(ctx, rec, Rejected, actor, "rejected at validation")
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("record rejection of %s: %w", rec.RequestID, err)
	}
	return nil
}

// Change lists what a transition sets besides the status; zero fields are left alone.
type Change struct {
	OpenedAt, RestoreAt, ClosedAt time.Time
	LastError                     string
}

// Transition moves a request to status `to` if it is in a status allowed to move there, appending
// to its history. Moving to the status it already has is a no-op returning the record; any other
// refused move is a *TransitionError.
func (s *Store) Transition(ctx context.Context, id string, to Status, actor, note string, c Change) (Record, error) {
	from := allowedFrom[to]
	now := s.now().UTC()
	h := Transition{Status: to, At: now, Actor: actor, Note: note}
	names := map[string]string{"#pk": KeyAttribute, "#status": "status"}
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

// NoteError records the latest error of a request without changing its status (a restore that
// keeps failing, say), so that a person reading the record sees why.
func (s *Store) NoteError(ctx context.Context, id, msg string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:          aws.String("SET lastError = :e, updatedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyAttribute},
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
