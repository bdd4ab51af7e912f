package orgemu

import "maps"

// State is the organization as it stands (accounts, OUs, policies and their documents,
// attachments, tags), to put back later: a harness starts each scenario from the same
// organization whatever the one before it left behind.
type State struct {
	accounts   map[string]Account
	ous        map[string]string
	policies   map[string]string
	contents   map[string]string
	described  map[string]string
	policyTags map[string]map[string]string
	targetTags map[string]map[string]string
	attached   map[string][]string
}

// Save copies the organization as it stands.
func (s *Server) Save() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{accounts: map[string]Account{}, ous: maps.Clone(s.ous), policies: maps.Clone(s.policies),
		contents: maps.Clone(s.contents), described: maps.Clone(s.described),
		policyTags: cloneTags(s.policyTags), targetTags: cloneTags(s.targetTags), attached: map[string][]string{}}
	for id, a := range s.accounts {
		c := *a
		c.Tags = maps.Clone(a.Tags)
		st.accounts[id] = c
	}
	for id, ps := range s.attached {
		st.attached[id] = append([]string(nil), ps...)
	}
	return st
}

// Restore puts the organization back as st holds it. Policies created since are gone; new ones
// still get IDs never used before.
func (s *Server) Restore(st State) {
	accounts := make(map[string]*Account, len(st.accounts))
	for id, a := range st.accounts {
		c := a
		c.Tags = maps.Clone(a.Tags)
		accounts[id] = &c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts = accounts
	s.ous, s.policies, s.contents, s.described = maps.Clone(st.ous), maps.Clone(st.policies), maps.Clone(st.contents), maps.Clone(st.described)
	s.policyTags, s.targetTags = cloneTags(st.policyTags), cloneTags(st.targetTags)
	s.attached = map[string][]string{}
	for id, ps := range st.attached {
		s.attached[id] = append([]string(nil), ps...)
	}
}

func cloneTags(m map[string]map[string]string) map[string]map[string]string {
	out := make(map[string]map[string]string, len(m))
	for k, v := range m {
		out[k] = maps.Clone(v)
	}
	return out
}
