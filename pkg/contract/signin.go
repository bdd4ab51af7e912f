package contract

// SignIn is what signing in as a member account's root user takes, as rootwindow found it through
// centralized root access (see package rootaccess): recorded with a request, shown and announced.
type SignIn struct {
	AccountID    string `json:"accountId" dynamodbav:"accountId"`
	Email        string `json:"email,omitempty" dynamodbav:"email,omitempty"` // the root user's address: recovery mail goes there
	RootPassword string `json:"rootPassword" dynamodbav:"rootPassword"`       // PasswordPresent, PasswordAbsent or PasswordUnknown
	MFADevices   int    `json:"mfaDevices" dynamodbav:"mfaDevices"`
	AccessKeys   int    `json:"accessKeys" dynamodbav:"accessKeys"`
	// Prepared is set once rootwindow allowed password recovery for the window; Deleted once,
	// the window over, it deleted the root password again (nothing is left behind).
	Prepared bool `json:"prepared,omitempty" dynamodbav:"prepared,omitempty"`
	Deleted  bool `json:"deleted,omitempty" dynamodbav:"deleted,omitempty"`
	// Detail says why something is unknown, or what to do.
	Detail string `json:"detail,omitempty" dynamodbav:"detail,omitempty"`
}

// Root password states.
const (
	PasswordPresent = "present"
	PasswordAbsent  = "absent"
	PasswordUnknown = "unknown"
)
