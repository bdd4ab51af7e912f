// Package directory answers IAM Identity Center group membership from the identity store, for
// accounts owned by a group (authz.GroupPrefix), and users' IDs, for the four-eyes rule:
// window.Groups over the AWS SDK.
//
// The identity store's API can be called from a member account as well as from the account
// that holds Identity Center (Identity Store API Reference, IsMemberInGroups: "If you have
// access to a member account, you can use this API operation from the member account"), so a
// fenced home can ask it.
package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"
)

// API is the part of the identity store client used here.
type API interface {
	GetUserId(ctx context.Context, in *identitystore.GetUserIdInput, opts ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error)
	IsMemberInGroups(ctx context.Context, in *identitystore.IsMemberInGroupsInput, opts ...func(*identitystore.Options)) (*identitystore.IsMemberInGroupsOutput, error)
}

// FromConfig asks the identity store storeID with the identity store client of cfg, sent to
// endpoint when not nil.
func FromConfig(cfg aws.Config, endpoint *string, storeID string) *Directory {
	return New(identitystore.NewFromConfig(cfg, func(o *identitystore.Options) { o.BaseEndpoint = endpoint }), storeID)
}

// Directory asks one identity store.
type Directory struct {
	api   API
	store string
}

// New asks the identity store storeID (d-1234567890) through api.
func New(api API, storeID string) *Directory { return &Directory{api: api, store: storeID} }

// maxGroups is how many groups one IsMemberInGroups call takes (GroupIds: 1 to 100 items).
const maxGroups = 100

// UserID is the user ID of the user named userName; "" for a user the identity store does not
// know (ResourceNotFoundException for a USER; for the identity store itself it is an error: a
// wrong identityStoreId must not read as "no such user").
func (d *Directory) UserID(ctx context.Context, userName string) (string, error) {
	user, err := d.api.GetUserId(ctx, &identitystore.GetUserIdInput{
		IdentityStoreId: aws.String(d.store),
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument(userName),
		}},
	})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound) && notFound.ResourceType == types.ResourceTypeUser:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("find the user %s in identity store %s: %w", userName, d.store, err)
	}
	return aws.ToString(user.UserId), nil
}

// MemberOf is the subset of groupIDs the user named userName is a direct member of; none for a
// user the identity store does not know.
func (d *Directory) MemberOf(ctx context.Context, userName string, groupIDs []string) ([]string, error) {
	if len(groupIDs) == 0 {
		return nil, nil
	}
	userID, err := d.UserID(ctx, userName)
	if err != nil || userID == "" {
		return nil, err
	}
	var in []string
	for start := 0; start < len(groupIDs); start += maxGroups {
		chunk := groupIDs[start:min(start+maxGroups, len(groupIDs))]
		out, err := d.api.IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{
			IdentityStoreId: aws.String(d.store), MemberId: &types.MemberIdMemberUserId{Value: userID}, GroupIds: chunk,
		})
		if err != nil {
			return nil, fmt.Errorf("check the groups of %s in identity store %s: %w", userName, d.store, err)
		}
		for _, r := range out.Results {
			if r.MembershipExists && r.GroupId != nil {
				in = append(in, *r.GroupId)
			}
		}
	}
	return in, nil
}
