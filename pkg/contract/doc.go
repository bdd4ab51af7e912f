// Package contract is what rootwindow's parts agree on and nothing else: the state machine's task
// names, each step's input and output, the error names Step Functions matches, the environment
// variables the stack sets and the functions read, the ledger table's schema, the events and
// metrics rootwindow emits. It imports only the standard library, so the CDK app can use it
// without linking the Lambda runtime or any AWS service client.
package contract
