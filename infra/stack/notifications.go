package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NotificationBus is where rootwindow's own events go: the management account's default bus,
// which no other account can put events on, so a "Root Access Window Opened" seen there is ours.
const NotificationBus = "default"

// Notifications are the operators' SNS topic and the bus rootwindow's events go to.
type Notifications struct {
	constructs.Construct
	Topic awssns.Topic
	Bus   awsevents.IEventBus
}

// NewNotifications creates the topic, subscribing email when it is not "" (AWS then sends a
// confirmation message to that address).
func NewNotifications(scope constructs.Construct, id, email string) *Notifications {
	c := constructs.NewConstruct(scope, jsii.String(id))
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("rootwindow"),
		EnforceSSL:  jsii.Bool(true),
	})
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	return &Notifications{
		Construct: c, Topic: topic,
		Bus: awsevents.EventBus_FromEventBusName(c, jsii.String("Bus"), jsii.String(NotificationBus)),
	}
}

// GrantPublish lets grantee publish notifications: events on the bus, messages on the topic.
func (n *Notifications) GrantPublish(grantee awsiam.IGrantable) {
	n.Topic.GrantPublish(grantee)
	n.Bus.GrantPutEventsTo(grantee, nil)
}
