package notify

import (
	"encoding/json"
	"strings"
)

// Chat is a notification in the custom-notification form that Amazon Q Developer in chat
// applications (formerly AWS Chatbot) renders in Slack and Microsoft Teams: a title, a markdown
// description, the next steps, and metadata that threads the messages of one request together.
// It is sent to the topic's https subscriptions (SNS's per-protocol messages); email and every
// other protocol receive the plain text. A chat channel subscribed to the topic forwards nothing
// else (the service takes only this form).
type Chat struct {
	Version  string       `json:"version"` // "1.0"
	Source   string       `json:"source"`  // "custom"
	ID       string       `json:"id,omitempty"`
	Content  ChatContent  `json:"content"`
	Metadata ChatMetadata `json:"metadata"`
}

// ChatContent is what the channel shows.
type ChatContent struct {
	TextType    string   `json:"textType"` // "client-markdown"
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

// ChatMetadata threads and labels the message.
type ChatMetadata struct {
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary"`
	EventType         string            `json:"eventType"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

// severe are the notifications a person must act on now.
var severe = map[Kind]bool{RestoreFailed: true, DriftDetected: true, RootOutsideWindow: true}

// BreakGlassMark starts the subject and the text of every message about a break-glass request.
const BreakGlassMark = "BREAK-GLASS"

// ChatMessage is the chat form of a notification of kind k whose plain text is subject and body,
// about request id ("" for one about no request, such as drift).
func ChatMessage(k Kind, id, subject, body string) []byte {
	title := subject
	breakGlass := strings.Contains(subject, BreakGlassMark)
	if severe[k] || breakGlass {
		title = ":rotating_light: " + title
	}
	headline, rest, _ := strings.Cut(body, "\n\n")
	c := Chat{Version: "1.0", Source: "custom", ID: strings.TrimSuffix(id+"/"+string(k), "/"),
		Content: ChatContent{TextType: "client-markdown", Title: title,
			Description: "*" + headline + "*\n" + strings.TrimRight(rest, "\n"),
			NextSteps:   nextSteps(k, id, breakGlass), Keywords: []string{"rootwindow", string(k)}},
		Metadata: ChatMetadata{ThreadID: id, Summary: subject, EventType: k.DetailType()},
	}
	if id != "" {
		c.Metadata.AdditionalContext = map[string]string{"requestId": id}
	}
	b, _ := json.Marshal(c)
	return b
}

// nextSteps are the commands a reader of kind k's message runs next: each with their own
// credentials (a chat channel is not an identity rootwindow trusts, so nothing is decided from it).
func nextSteps(k Kind, id string, breakGlass bool) []string {
	if breakGlass && k != Rejected {
		return []string{"Another administrator reviews this break-glass window with their own credentials: `rootwindow review " + id + " --note TEXT`", "`rootwindow status " + id + "`"}
	}
	switch k {
	case ApprovalRequested:
		return []string{"A second administrator decides with their own credentials: `rootwindow approve " + id + "` or `rootwindow deny " + id + "`"}
	case Scheduled, Opened:
		return []string{"`rootwindow status " + id + "`", "End it early: `rootwindow end " + id + "`"}
	case RestoreFailed:
		return []string{"Put the guardrail back by hand now: RUNBOOK.md, \"Restoring by hand\"", "`rootwindow status " + id + "`"}
	case DriftDetected:
		return []string{"Find who detached the guardrail (CloudTrail DetachPolicy, UpdatePolicy) and attach it again: RUNBOOK.md, DriftDetected"}
	case RootOutsideWindow:
		return []string{"Find who used root, and how: RUNBOOK.md, RootOutsideWindow"}
	case WindowReport:
		return []string{"`rootwindow report " + id + "`"}
	}
	if id == "" {
		return nil
	}
	return []string{"`rootwindow status " + id + "`"}
}
