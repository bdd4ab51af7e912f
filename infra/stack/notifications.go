package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// NotificationBus is where rootwindow's own events go: the management account's default bus,
// which no other account can put events on, so a "Root Access Window Opened" seen there is ours.
const NotificationBus = "default"

// Notifications are the operators' SNS topic and the bus rootwindow's events go to.
type Notifications struct {
	constructs.Construct
	Topic awssns.Topic
	Key   awskms.Key
	Bus   awsevents.IEventBus
}

// NewNotifications creates the topic, subscribing email when it is not "" (AWS then sends a
// confirmation message to that address).
func NewNotifications(scope constructs.Construct, id, email string) *Notifications {
	c := constructs.NewConstruct(scope, jsii.String(id))
	// Messages name accounts, people and reasons: encrypt them with a key of our own, which the
	// CloudWatch alarms may use to publish.
	key := awskms.NewKey(c, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("rootwindow: the operators' notification topic"),
		EnableKeyRotation: jsii.Bool(true),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("rootwindow"),
		EnforceSSL:  jsii.Bool(true),
		MasterKey:   key,
	})
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	return &Notifications{
		Construct: c, Topic: topic, Key: key,
		Bus: awsevents.EventBus_FromEventBusName(c, jsii.String("Bus"), jsii.String(NotificationBus)),
	}
}

// OnlyPublishedBy lets no one publish to the topic but rootwindow's roles and CloudWatch alarms,
// nor put rootwindow's events on the bus but rootwindow's roles
// (the service principal, whose calls carry aws:PrincipalServiceName and no aws:PrincipalArn): an
// explicit Deny in the topic's own policy, which a principal of the account holding sns:Publish
// in its identity policy cannot override. A message on this topic is rootwindow's, or an alarm's.
func (n *Notifications) OnlyPublishedBy(roles []awsiam.IRole) {
	arns := make([]*string, len(roles))
	for i, r := range roles {
		arns[i] = r.RoleArn()
	}
	n.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("OnlyRootwindowAndAlarmsPublish"), Effect: awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sns:Publish"), Resources: &[]*string{n.Topic.TopicArn()},
		Conditions: &map[string]any{
			"ArnNotEquals":    map[string]any{"aws:PrincipalArn": arns},
			"StringNotEquals": map[string]any{"aws:PrincipalServiceName": "cloudwatch.amazonaws.com"},
		},
	}))
	// The bus is the account's default bus, which others use too: a statement of its policy
	// denies putting events of rootwindow's source to every principal but rootwindow's roles
	// (events:source, per entry: EventBridge User Guide, "Using IAM policy conditions"), so an
	// event "Root Access Window Closed" there is rootwindow's. Other sources are left alone.
	statement := map[string]any{
		"Sid": "OnlyRootwindowPutsItsEvents", "Effect": "Deny", "Principal": "*", "Action": "events:PutEvents",
		"Resource": n.Bus.EventBusArn(),
		"Condition": map[string]any{
			"StringEquals": map[string]any{"events:source": contract.NotificationSource},
			"ArnNotEquals": map[string]any{"aws:PrincipalArn": arns},
		},
	}
	awsevents.NewCfnEventBusPolicy(n.Construct, jsii.String("OnlyRootwindowPutsItsEvents"), &awsevents.CfnEventBusPolicyProps{
		EventBusName: jsii.String(NotificationBus), StatementId: jsii.String("OnlyRootwindowPutsItsEvents"), Statement: statement,
	})
}

// GrantPublish lets a function publish notifications: events on the bus, messages on the topic
// (and the two key actions SNS needs for an encrypted topic, on its key alone).
func (n *Notifications) GrantPublish(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("PublishNotifications"), Actions: jsii.Strings("sns:Publish"), Resources: jsii.Strings(*n.Topic.TopicArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("EncryptNotifications"), Actions: jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"), Resources: jsii.Strings(*n.Key.KeyArn()),
	}))
	n.Bus.GrantPutEventsTo(fn, nil)
}
