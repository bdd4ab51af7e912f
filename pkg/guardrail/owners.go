package guardrail

import (
	"context"
	"sync"
)

// Owners reads owner tags for one check: an account's own tag, else the tag of its nearest OU (or
// the root) that has it, so that owners can be kept per OU rather than per account. Each target's
// tags are read once per Owners.
type Owners struct {
	g    *Guardrail
	key  string
	mu   sync.Mutex
	tags map[string]*once[map[string]string]
}

// Owners returns an owner lookup for the tag key.
func (g *Guardrail) Owners(key string) *Owners {
	return &Owners{g: g, key: key, tags: map[string]*once[map[string]string]{}}
}

// Of returns the owner tag's value for account (whose tags are accountTags, nil to read them) and
// the target it came from: the account, or the nearest of parents (nearest first) that has the
// tag. found is false when none of them has it.
func (o *Owners) Of(ctx context.Context, account string, accountTags map[string]string, parents []string) (value, from string, found bool, err error) {
	if accountTags == nil {
		if accountTags, err = o.tagsOf(ctx, account); err != nil {
			return "", "", false, err
		}
	}
	if v, ok := accountTags[o.key]; ok {
		return v, account, true, nil
	}
	for _, p := range parents {
		if p == "" {
			continue
		}
		tags, err := o.tagsOf(ctx, p)
		if err != nil {
			return "", "", false, err
		}
		if v, ok := tags[o.key]; ok {
			return v, p, true, nil
		}
	}
	return "", "", false, nil
}

// Owned reports whether account has an owner for rootwindow: the owner tag on it or on any of
// parents. It asks the parents first (each read once per Owners, shared by every account under
// them) and reads the account's own tags only when none of them has the tag: where owners are
// kept per OU, telling whether every account is owned reads no account's tags. (Who owns it,
// Of, asks the account first: its own tag wins.)
func (o *Owners) Owned(ctx context.Context, account string, parents []string) (bool, error) {
	for _, p := range parents {
		if p == "" {
			continue
		}
		tags, err := o.tagsOf(ctx, p)
		if err != nil {
			return false, err
		}
		if _, ok := tags[o.key]; ok {
			return true, nil
		}
	}
	tags, err := o.tagsOf(ctx, account)
	if err != nil {
		return false, err
	}
	_, ok := tags[o.key]
	return ok, nil
}

func (o *Owners) tagsOf(ctx context.Context, target string) (map[string]string, error) {
	return readOnce(&o.mu, o.tags, target, func() (map[string]string, error) { return o.g.tags(ctx, target) })
}
