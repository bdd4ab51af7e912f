// Package dynamofake is an in-process stand-in for the DynamoDB calls the ledger makes (GetItem,
// PutItem, UpdateItem, DeleteItem, BatchGetItem, Query on a global secondary index, and the table
// calls tests need), for logic tests that run without Node. It evaluates the subset of DynamoDB's
// condition, update, key-condition and filter expressions that the ledger writes, and answers
// ConditionalCheckFailedException and ResourceNotFoundException as DynamoDB does. The wire-level
// suites run the same code against dynalite; an expression the fake does not know is an error,
// so a ledger change that outgrows it fails loudly instead of passing by accident.
package dynamofake

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

type item = map[string]types.AttributeValue

type table struct {
	key     string               // partition key attribute
	indexes map[string][2]string // index name → partition and sort key attributes
	items   map[string]item      // by partition key value
}

// DB is the in-process store of tables. The zero value is not usable; call New.
type DB struct {
	mu     sync.Mutex
	tables map[string]*table
}

// New returns an empty DB.
func New() *DB { return &DB{tables: map[string]*table{}} }

func notFound(name string) error {
	return &types.ResourceNotFoundException{Message: aws.String("Requested resource not found: Table: " + name + " not found")}
}

func validation(msg string) error {
	return &smithy.GenericAPIError{Code: "ValidationException", Message: msg, Fault: smithy.FaultClient}
}

func conditionFailed() error {
	return &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
}

func (db *DB) table(name *string) (*table, error) {
	t, ok := db.tables[aws.ToString(name)]
	if !ok {
		return nil, notFound(aws.ToString(name))
	}
	return t, nil
}

// CreateTable creates a table with a string partition key and any global secondary indexes.
func (db *DB) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	name := aws.ToString(in.TableName)
	if _, ok := db.tables[name]; ok {
		return nil, &types.ResourceInUseException{Message: aws.String("Table already exists: " + name)}
	}
	t := &table{indexes: map[string][2]string{}, items: map[string]item{}}
	for _, k := range in.KeySchema {
		if k.KeyType == types.KeyTypeHash {
			t.key = aws.ToString(k.AttributeName)
		}
	}
	for _, gsi := range in.GlobalSecondaryIndexes {
		var keys [2]string
		for _, k := range gsi.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				keys[0] = aws.ToString(k.AttributeName)
			} else {
				keys[1] = aws.ToString(k.AttributeName)
			}
		}
		t.indexes[aws.ToString(gsi.IndexName)] = keys
	}
	db.tables[name] = t
	return &dynamodb.CreateTableOutput{TableDescription: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
}

// DescribeTable answers ACTIVE for a table that exists.
func (db *DB) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, err := db.table(in.TableName); err != nil {
		return nil, err
	}
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
}

// DeleteTable drops a table and its items.
func (db *DB) DeleteTable(_ context.Context, in *dynamodb.DeleteTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, err := db.table(in.TableName); err != nil {
		return nil, err
	}
	delete(db.tables, aws.ToString(in.TableName))
	return &dynamodb.DeleteTableOutput{}, nil
}

func (t *table) keyOf(key item) (string, error) {
	v, ok := key[t.key].(*types.AttributeValueMemberS)
	if !ok || len(key) != 1 {
		return "", validation("The provided key element does not match the schema")
	}
	return v.Value, nil
}

// GetItem reads one item (always consistently).
func (db *DB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, err := db.table(in.TableName)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(in.Key)
	if err != nil {
		return nil, err
	}
	return &dynamodb.GetItemOutput{Item: clone(t.items[k])}, nil
}

// PutItem writes an item if its condition holds.
func (db *DB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, k, _, err := db.conditional(in.TableName, func(t *table) item { return item{t.key: in.Item[t.key]} },
		in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	t.items[k] = clone(in.Item)
	return &dynamodb.PutItemOutput{}, nil
}

// conditional finds the table and the item's key (from the key key gives for the table) and
// evaluates the condition on the item there: ConditionalCheckFailedException when it does not
// hold. It runs with db.mu held.
func (db *DB) conditional(name *string, key func(*table) item, cond *string, names map[string]string, values map[string]types.AttributeValue) (*table, string, expr, error) {
	e := expr{names: names, values: values}
	t, err := db.table(name)
	if err != nil {
		return nil, "", e, err
	}
	k, err := t.keyOf(key(t))
	if err != nil {
		return nil, "", e, err
	}
	if ok, err := e.condition(aws.ToString(cond), t.items[k]); err != nil || !ok {
		return nil, "", e, orFailed(err)
	}
	return t, k, e, nil
}

// DeleteItem removes an item if its condition holds.
func (db *DB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, k, _, err := db.conditional(in.TableName, func(*table) item { return in.Key },
		in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	delete(t.items, k)
	return &dynamodb.DeleteItemOutput{}, nil
}

// UpdateItem applies SET and ADD clauses to an item (creating it if absent) if its condition
// holds, and returns the new item when asked.
func (db *DB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, k, e, err := db.conditional(in.TableName, func(*table) item { return in.Key },
		in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	next := clone(t.items[k])
	if next == nil {
		next = clone(in.Key)
	}
	if err := e.update(aws.ToString(in.UpdateExpression), next); err != nil {
		return nil, err
	}
	t.items[k] = next
	out := &dynamodb.UpdateItemOutput{}
	if in.ReturnValues == types.ReturnValueAllNew {
		out.Attributes = clone(next)
	}
	return out, nil
}

// BatchGetItem reads items by key from one or more tables; it never leaves keys unprocessed.
func (db *DB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]item{}}
	for name, ka := range in.RequestItems {
		t, err := db.table(aws.String(name))
		if err != nil {
			return nil, err
		}
		if len(ka.Keys) > 100 {
			return nil, validation("Too many items requested for the BatchGetItem call")
		}
		for _, key := range ka.Keys {
			k, err := t.keyOf(key)
			if err != nil {
				return nil, err
			}
			if it, ok := t.items[k]; ok {
				out.Responses[name] = append(out.Responses[name], clone(it))
			}
		}
	}
	return out, nil
}

// Query reads a global secondary index by partition key, in sort-key order, Limit items
// evaluated a page, the filter applied after the limit, as DynamoDB does.
func (db *DB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, err := db.table(in.TableName)
	if err != nil {
		return nil, err
	}
	keys, ok := t.indexes[aws.ToString(in.IndexName)]
	if !ok {
		return nil, validation("The table does not have the specified index: " + aws.ToString(in.IndexName))
	}
	// DynamoDB's key sizes (Developer Guide, "Quotas", attributes): a partition key value at most
	// 2048 bytes, a sort key value at most 1024; an ExclusiveStartKey over them is refused.
	for name, limit := range map[string]int{t.key: 2048, keys[0]: 2048, keys[1]: 1024} {
		if v, ok := in.ExclusiveStartKey[name]; ok && len(text(v)) > limit {
			return nil, validation(fmt.Sprintf("One or more parameter values were invalid: Size of hashkey or rangekey %s has exceeded the size limit of %d bytes", name, limit))
		}
	}
	e := expr{names: in.ExpressionAttributeNames, values: in.ExpressionAttributeValues}
	var matched []item
	for _, it := range t.items {
		if _, hasSort := it[keys[1]]; !hasSort {
			continue // a sparse index holds only items with both keys
		}
		if ok, err := e.condition(aws.ToString(in.KeyConditionExpression), it); err != nil {
			return nil, err
		} else if ok {
			matched = append(matched, it)
		}
	}
	less := func(a, b item) bool {
		sa, sb := text(a[keys[1]]), text(b[keys[1]])
		if sa != sb {
			return sa < sb
		}
		return text(a[t.key]) < text(b[t.key])
	}
	sort.Slice(matched, func(i, j int) bool { return less(matched[i], matched[j]) })
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		for i, j := 0, len(matched)-1; i < j; i, j = i+1, j-1 {
			matched[i], matched[j] = matched[j], matched[i]
		}
	}
	if start := in.ExclusiveStartKey; start != nil {
		for i, it := range matched {
			if text(it[t.key]) == text(start[t.key]) {
				matched = matched[i+1:]
				break
			}
		}
	}
	out := &dynamodb.QueryOutput{}
	for i, it := range matched {
		if in.Limit != nil && int32(i) == *in.Limit {
			last := matched[i-1]
			out.LastEvaluatedKey = item{t.key: last[t.key], keys[0]: last[keys[0]], keys[1]: last[keys[1]]}
			break
		}
		if ok, err := e.condition(aws.ToString(in.FilterExpression), it); err != nil {
			return nil, err
		} else if ok {
			out.Items = append(out.Items, clone(it))
		}
	}
	out.Count = int32(len(out.Items))
	return out, nil
}

func orFailed(err error) error {
	if err != nil {
		return err
	}
	return conditionFailed()
}

func clone(it item) item {
	if it == nil {
		return nil
	}
	out := make(item, len(it))
	for k, v := range it {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v types.AttributeValue) types.AttributeValue {
	switch t := v.(type) {
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(t.Value))
		for i, e := range t.Value {
			l[i] = cloneValue(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: clone(t.Value)}
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: append([]string(nil), t.Value...)}
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: t.Value}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: t.Value}
	}
	return v
}

func text(v types.AttributeValue) string {
	switch t := v.(type) {
	case *types.AttributeValueMemberS:
		return t.Value
	case *types.AttributeValueMemberN:
		return t.Value
	}
	return ""
}

func equal(a, b types.AttributeValue) bool {
	if a == nil || b == nil {
		return false
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && reflect.DeepEqual(cloneValue(a), cloneValue(b))
}

// ordered compares two strings (by their UTF-8 bytes, as DynamoDB does) or two numbers; any other
// pair, or a missing attribute, does not hold.
func ordered(a, b types.AttributeValue, op string) (bool, error) {
	var c int
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		if !ok {
			return false, nil
		}
		c = strings.Compare(x.Value, y.Value)
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		if !ok {
			return false, nil
		}
		fx, err1 := strconv.ParseFloat(x.Value, 64)
		fy, err2 := strconv.ParseFloat(y.Value, 64)
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("dynamofake: numbers %q and %q", x.Value, y.Value)
		}
		c = cmp.Compare(fx, fy)
	default:
		return false, nil
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// expr evaluates expressions with their name and value placeholders.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

func (e expr) name(tok string) (string, error) {
	if strings.HasPrefix(tok, "#") {
		n, ok := e.names[tok]
		if !ok {
			return "", fmt.Errorf("dynamofake: attribute name %s is not defined", tok)
		}
		return n, nil
	}
	return tok, nil
}

// operand is a value placeholder or an attribute of it.
func (e expr) operand(tok string, it item) (types.AttributeValue, error) {
	tok = strings.TrimSpace(tok)
	if strings.HasPrefix(tok, ":") {
		v, ok := e.values[tok]
		if !ok {
			return nil, fmt.Errorf("dynamofake: value %s is not defined", tok)
		}
		return v, nil
	}
	n, err := e.name(tok)
	if err != nil {
		return nil, err
	}
	return it[n], nil
}

var (
	funcCall = regexp.MustCompile(`^(attribute_exists|attribute_not_exists|contains)\(\s*([^,\s)]+)\s*(?:,\s*([^)\s]+)\s*)?\)$`)
	inList   = regexp.MustCompile(`^(\S+)\s+IN\s+\(([^)]*)\)$`)
	equals   = regexp.MustCompile(`^(\S+)\s*=\s*(\S+)$`)
	compares = regexp.MustCompile(`^(\S+)\s*(<>|<=|>=|<|>)\s*(\S+)$`)
	// a BETWEEN b AND c is a >= b AND a <= c (both ends included), written out before the
	// condition is split on AND.
	between = regexp.MustCompile(`(\S+)\s+BETWEEN\s+(\S+)\s+AND\s+(\S+)`)
)

// condition evaluates a condition of OR'd groups of AND'd terms; "" holds.
func (e expr) condition(c string, it item) (bool, error) {
	if strings.TrimSpace(c) == "" {
		return true, nil
	}
	c = between.ReplaceAllString(c, "$1 >= $2 AND $1 <= $3")
	for _, group := range splitWord(c, "OR") {
		all := true
		for _, term := range splitWord(group, "AND") {
			ok, err := e.term(strings.TrimSpace(term), it)
			if err != nil {
				return false, err
			}
			all = all && ok
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

func (e expr) term(term string, it item) (bool, error) {
	if m := funcCall.FindStringSubmatch(term); m != nil {
		n, err := e.name(m[2])
		if err != nil {
			return false, err
		}
		attr, has := it[n]
		switch m[1] {
		case "attribute_exists":
			return has, nil
		case "attribute_not_exists":
			return !has, nil
		}
		want, err := e.operand(m[3], it)
		if err != nil {
			return false, err
		}
		switch a := attr.(type) {
		case *types.AttributeValueMemberL:
			for _, el := range a.Value {
				if equal(el, want) {
					return true, nil
				}
			}
		case *types.AttributeValueMemberSS:
			for _, s := range a.Value {
				if s == text(want) {
					return true, nil
				}
			}
		case *types.AttributeValueMemberS:
			return strings.Contains(a.Value, text(want)), nil
		}
		return false, nil
	}
	if m := inList.FindStringSubmatch(term); m != nil {
		left, err := e.operand(m[1], it)
		if err != nil {
			return false, err
		}
		for _, tok := range strings.Split(m[2], ",") {
			right, err := e.operand(tok, it)
			if err != nil {
				return false, err
			}
			if equal(left, right) {
				return true, nil
			}
		}
		return false, nil
	}
	if m := compares.FindStringSubmatch(term); m != nil {
		left, err := e.operand(m[1], it)
		if err != nil {
			return false, err
		}
		right, err := e.operand(m[3], it)
		if err != nil {
			return false, err
		}
		if m[2] == "<>" {
			// DynamoDB: a missing attribute is not equal to anything.
			return left == nil || !equal(left, right), nil
		}
		return ordered(left, right, m[2])
	}
	if m := equals.FindStringSubmatch(term); m != nil {
		left, err := e.operand(m[1], it)
		if err != nil {
			return false, err
		}
		right, err := e.operand(m[2], it)
		if err != nil {
			return false, err
		}
		return equal(left, right), nil
	}
	return false, fmt.Errorf("dynamofake: condition %q is not one it knows", term)
}

// update applies "SET a = v, b = list_append(a, :v), c = if_not_exists(c, :v)" and
// "ADD s :set", "DELETE s :set" and "REMOVE a" clauses to it.
func (e expr) update(u string, it item) error {
	clauses := regexp.MustCompile(`\b(SET|ADD|DELETE|REMOVE)\b`).Split(u, -1)
	kinds := regexp.MustCompile(`\b(SET|ADD|DELETE|REMOVE)\b`).FindAllString(u, -1)
	if len(kinds) == 0 || strings.TrimSpace(clauses[0]) != "" {
		return fmt.Errorf("dynamofake: update %q is not one it knows", u)
	}
	for i, kind := range kinds {
		for _, action := range splitTop(clauses[i+1]) {
			var err error
			switch kind {
			case "SET":
				err = e.set(action, it)
			case "ADD":
				err = e.add(action, it)
			case "DELETE":
				err = e.deleteFromSet(action, it)
			default:
				var n string
				if n, err = e.name(strings.TrimSpace(action)); err == nil {
					delete(it, n)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	listAppend  = regexp.MustCompile(`^list_append\(\s*(\S+)\s*,\s*(\S+)\s*\)$`)
	ifNotExists = regexp.MustCompile(`^if_not_exists\(\s*(\S+)\s*,\s*(\S+)\s*\)$`)
)

func (e expr) set(action string, it item) error {
	path, value, ok := strings.Cut(action, "=")
	if !ok {
		return fmt.Errorf("dynamofake: SET %q has no '='", action)
	}
	n, err := e.name(strings.TrimSpace(path))
	if err != nil {
		return err
	}
	value = strings.TrimSpace(value)
	var v types.AttributeValue
	switch {
	case listAppend.MatchString(value):
		m := listAppend.FindStringSubmatch(value)
		a, err := e.operand(m[1], it)
		if err != nil {
			return err
		}
		b, err := e.operand(m[2], it)
		if err != nil {
			return err
		}
		la, okA := a.(*types.AttributeValueMemberL)
		lb, okB := b.(*types.AttributeValueMemberL)
		if !okA || !okB {
			return validation("An operand in the update expression has an incorrect data type")
		}
		v = &types.AttributeValueMemberL{Value: append(append([]types.AttributeValue{}, la.Value...), lb.Value...)}
	case ifNotExists.MatchString(value):
		m := ifNotExists.FindStringSubmatch(value)
		if v, err = e.operand(m[1], it); err != nil {
			return err
		}
		if v == nil {
			if v, err = e.operand(m[2], it); err != nil {
				return err
			}
		}
	default:
		if v, err = e.operand(value, it); err != nil {
			return err
		}
	}
	if v == nil {
		return fmt.Errorf("dynamofake: SET %q has no value", action)
	}
	it[n] = cloneValue(v)
	return nil
}

// setClause reads "name :set" of an ADD or DELETE clause: the attribute's name and the string set.
func (e expr) setClause(verb, action string, it item) (string, *types.AttributeValueMemberSS, error) {
	f := strings.Fields(action)
	if len(f) != 2 {
		return "", nil, fmt.Errorf("dynamofake: %s %q is not one it knows", verb, action)
	}
	n, err := e.name(f[0])
	if err != nil {
		return "", nil, err
	}
	v, err := e.operand(f[1], it)
	if err != nil {
		return "", nil, err
	}
	set, ok := v.(*types.AttributeValueMemberSS)
	if !ok {
		return "", nil, fmt.Errorf("dynamofake: %s of %T is not one it knows", verb, v)
	}
	return n, set, nil
}

// deleteFromSet takes a string set's members out of an attribute's set; an empty set is removed,
// as DynamoDB keeps no empty set.
func (e expr) deleteFromSet(action string, it item) error {
	n, del, err := e.setClause("DELETE", action, it)
	if err != nil {
		return err
	}
	cur, ok := it[n].(*types.AttributeValueMemberSS)
	if !ok {
		return nil
	}
	var kept []string
	for _, s := range cur.Value {
		if !slices.Contains(del.Value, s) {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		delete(it, n)
		return nil
	}
	it[n] = &types.AttributeValueMemberSS{Value: kept}
	return nil
}

func (e expr) add(action string, it item) error {
	n, add, err := e.setClause("ADD", action, it)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	if cur, ok := it[n].(*types.AttributeValueMemberSS); ok {
		for _, s := range cur.Value {
			set[s] = true
		}
	}
	for _, s := range add.Value {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	it[n] = &types.AttributeValueMemberSS{Value: out}
	return nil
}

// splitWord splits s on a keyword standing alone outside parentheses.
func splitWord(s, word string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ' ':
			if depth == 0 && strings.HasPrefix(s[i:], " "+word+" ") {
				parts = append(parts, s[start:i])
				start = i + len(word) + 2
				i = start - 1
			}
		}
	}
	return append(parts, s[start:])
}

// splitTop splits s on commas outside parentheses.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		parts = append(parts, rest)
	}
	return parts
}
