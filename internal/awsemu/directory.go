package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
)

// IAM Identity Center's identity store, as far as rootwindow asks it (AWS JSON 1.1): GetUserId by
// user name and IsMemberInGroups, with the API reference's input rules (identity store and group
// ID patterns, 1 to 100 groups a call). Users and memberships are set with AddUser, AddToGroup
// and RemoveFromGroup.

var (
	storeIDPattern = regexp.MustCompile(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	groupIDPattern = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
)

// identityStore is one store's users (user name → user ID) and memberships (group ID → user IDs).
type identityStore struct {
	users  map[string]string
	groups map[string][]string
}

func (s *Server) store(id string) *identityStore {
	if s.stores == nil {
		s.stores = map[string]*identityStore{}
	}
	if s.stores[id] == nil {
		s.stores[id] = &identityStore{users: map[string]string{}, groups: map[string][]string{}}
	}
	return s.stores[id]
}

// AddUser makes the user userName in identity store storeID and returns its user ID.
func (s *Server) AddUser(storeID, userName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(storeID)
	if id, ok := st.users[userName]; ok {
		return id
	}
	id := fmt.Sprintf("9067000000-%08x-1111-2222-3333-%012x", len(st.users), len(st.users))
	st.users[userName] = id
	return id
}

// AddToGroup makes userName (made if new) a member of groupID in storeID.
func (s *Server) AddToGroup(storeID, groupID, userName string) {
	id := s.AddUser(storeID, userName)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(storeID)
	if !slices.Contains(st.groups[groupID], id) {
		st.groups[groupID] = append(st.groups[groupID], id)
	}
}

// RenameUser gives the user userName of storeID the user name newName; the user keeps its user
// ID and its groups, as an Identity Center user does when an administrator changes its user name.
func (s *Server) RenameUser(storeID, userName, newName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(storeID)
	if id, ok := st.users[userName]; ok {
		delete(st.users, userName)
		st.users[newName] = id
	}
}

// RemoveFromGroup ends userName's membership of groupID in storeID.
func (s *Server) RemoveFromGroup(storeID, groupID, userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(storeID)
	st.groups[groupID] = slices.DeleteFunc(st.groups[groupID], func(id string) bool { return id == st.users[userName] })
}

// DirectoryCalls is how many identity store calls were made.
func (s *Server) DirectoryCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.directoryCalls
}

func (s *Server) getUserID(w http.ResponseWriter, body []byte) {
	var in struct {
		IdentityStoreId     string
		AlternateIdentifier struct {
			UniqueAttribute *struct {
				AttributePath  string
				AttributeValue any
			}
		}
	}
	if json.Unmarshal(body, &in) != nil {
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "malformed request")
		return
	}
	ua := in.AlternateIdentifier.UniqueAttribute
	s.mu.Lock()
	defer s.mu.Unlock()
	s.directoryCalls++
	name, isString := any(nil), false
	if ua != nil {
		name = ua.AttributeValue
		_, isString = name.(string)
	}
	switch {
	case !storeIDPattern.MatchString(in.IdentityStoreId):
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "IdentityStoreId does not match its pattern")
		return
	case ua == nil || ua.AttributePath != "userName" || !isString:
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "this emulator finds users by the unique attribute userName, a string")
		return
	case s.stores[in.IdentityStoreId] == nil:
		notFound(w, "IDENTITY_STORE", in.IdentityStoreId)
		return
	case s.failing(OpGetUserID):
		jsonError(w, "1.1", http.StatusInternalServerError, "InternalServerException", "injected failure")
		return
	}
	id, ok := s.stores[in.IdentityStoreId].users[name.(string)]
	if !ok {
		notFound(w, "USER", "")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]string{"IdentityStoreId": in.IdentityStoreId, "UserId": id})
}

func (s *Server) isMemberInGroups(w http.ResponseWriter, body []byte) {
	var in struct {
		IdentityStoreId string
		MemberId        struct{ UserId string }
		GroupIds        []string
	}
	if json.Unmarshal(body, &in) != nil {
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "malformed request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.directoryCalls++
	switch {
	case !storeIDPattern.MatchString(in.IdentityStoreId):
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "IdentityStoreId does not match its pattern")
		return
	case len(in.GroupIds) < 1 || len(in.GroupIds) > 100:
		jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "GroupIds takes 1 to 100 items")
		return
	case s.stores[in.IdentityStoreId] == nil:
		notFound(w, "IDENTITY_STORE", in.IdentityStoreId)
		return
	}
	for _, g := range in.GroupIds {
		if !groupIDPattern.MatchString(g) {
			jsonError(w, "1.1", http.StatusBadRequest, "ValidationException", "a group ID does not match its pattern")
			return
		}
	}
	st := s.stores[in.IdentityStoreId]
	if !slices.Contains(mapValues(st.users), in.MemberId.UserId) {
		notFound(w, "USER", in.MemberId.UserId)
		return
	}
	type result struct {
		GroupId          string
		MemberId         map[string]string
		MembershipExists bool
	}
	var out []result
	for _, g := range in.GroupIds {
		out = append(out, result{GroupId: g, MemberId: map[string]string{"UserId": in.MemberId.UserId}, MembershipExists: slices.Contains(st.groups[g], in.MemberId.UserId)})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"Results": out})
}

func notFound(w http.ResponseWriter, kind, id string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "ResourceNotFoundException", "message": kind + " not found", "ResourceType": kind, "ResourceId": id})
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
