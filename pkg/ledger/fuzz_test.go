package ledger

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FuzzPageToken decodes arbitrary page tokens as the listing does: never a panic; a token either
// is refused (ErrBadPageToken) or is a key of the listing index (a request's key, its kind and its
// creation time, nothing else), which encodes back to the same token.
func FuzzPageToken(f *testing.F) {
	f.Add("")
	f.Add("eyJrIjoxfQ")
	f.Add(encodePageToken(map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "request#api-1"}, "kind": &types.AttributeValueMemberS{Value: "request"},
		"createdAt": &types.AttributeValueMemberS{Value: "2026-11-23T10:00:00.000000000Z"},
	}))
	f.Fuzz(func(t *testing.T, token string) {
		key, err := decodePageToken(token)
		if err != nil {
			if err != ErrBadPageToken {
				t.Fatalf("error %v", err)
			}
			return
		}
		if token == "" {
			return
		}
		if len(key) != 3 || !strings.HasPrefix(key["pk"].(*types.AttributeValueMemberS).Value, "request#") {
			t.Fatalf("accepted %v", key)
		}
		if again := encodePageToken(key); again == "" {
			t.Fatalf("a key that does not encode: %v", key)
		}
	})
}
