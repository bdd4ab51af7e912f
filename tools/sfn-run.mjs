// Runs a state machine definition locally with aws-local-stepfunctions, for rootwindow's harness.
//
// Usage: node sfn-run.mjs <config.json>
//   config: {
//     definition:   the ASL definition (object),
//     input:        the execution input,
//     executionName, executionArn (the context's Execution.Id), lambdaEndpoint (http://127.0.0.1:port: POST /invoke/<resource ARN>; POST /clock
//       starts the virtual clock shared with the Lambda handlers and answers its parameters; /task/wait, /task/outcome and /task/timeout
//       for a .waitForTaskToken state's token),
//     taskToken:    the context's Task.Token,
//     retryIntervalMs: delay of every retry (real milliseconds),
//     abortAt:      optional state name: stop the execution when it enters that state, as a person
//                   stopping it in the console would (the result's status is then ABORTED)
//   }
// Prints one JSON line per execution event, then {"type":"Result", ...} last.
//
// Time compression: Step Functions' Wait states compare their timestamp with the wall clock.
// Here Date.now() is a virtual clock that runs `factor` times faster than the wall clock (the same
// formula the Lambda handlers use), and the sleep of a Wait state is divided by `factor`. The
// TimestampPath is read from the state's input exactly as in AWS.
import { readFileSync } from 'node:fs';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); Node 20 lacks it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { StateMachine, ExecutionAbortedError } = await import('aws-local-stepfunctions');
const realNow = Date.now.bind(Date);
let clock = null; // set just before the execution starts
Date.now = () => (clock ? clock.baseMs + (realNow() - clock.realStartMs) * clock.factor : realNow());

// Scale the one timer a Wait state starts, and no other (task timeouts keep real time).
const realSetTimeout = globalThis.setTimeout;
let scaleNextTimer = false;
globalThis.setTimeout = (fn, ms, ...args) => {
  if (scaleNextTimer) {
    scaleNextTimer = false;
    ms = Math.max(0, ms) / clock.factor;
  }
  return realSetTimeout(fn, ms, ...args);
};
const waitStates = Object.entries(cfg.definition.States)
  .filter(([, s]) => s.Type === 'Wait').map(([name]) => name);
const waitTimeOverrides = new Proxy({}, {
  // Read by the library just before it starts a Wait state's timer: flag that timer for scaling
  // and let the state compute its own duration.
  get(_, name) {
    if (waitStates.includes(name)) {
      scaleNextTimer = true;
      queueMicrotask(() => { scaleNextTimer = false; });
    }
    return undefined;
  },
});

// Every Task invokes the real handler through the harness, with Lambda's Invoke semantics: a
// function error comes back as {errorType, errorMessage}, which Step Functions reports as
// Error = errorType and Cause = the JSON error object.
const taskResourceLocalHandlers = {};
const retryIntervalOverrides = {};
const invoke = async (functionArn, payload) => {
  const res = await fetch(`${cfg.lambdaEndpoint}/invoke/${encodeURIComponent(functionArn)}`, {
    method: 'POST', body: JSON.stringify(payload), headers: { 'content-type': 'application/json' },
  });
  const body = await res.json();
  if (res.headers.get('x-amz-function-error')) {
    const err = new Error(JSON.stringify(body));
    err.name = body.errorType;
    throw err;
  }
  if (!res.ok) {
    const err = new Error(JSON.stringify(body));
    err.name = 'Lambda.ServiceException';
    throw err;
  }
  return body;
};

// A .waitForTaskToken Lambda integration (aws-local-stepfunctions has none): invoke the function
// with its Payload, which carries $$.Task.Token, ignore its answer, and wait for SendTaskSuccess
// or SendTaskFailure with that token (the harness's emulator receives them); past TimeoutSeconds,
// on the virtual clock, fail with States.Timeout as Step Functions does.
const task = (path) => fetch(`${cfg.lambdaEndpoint}/task/${path}?token=${encodeURIComponent(cfg.taskToken)}`,
  { method: path === 'outcome' ? 'GET' : 'POST' }).then((r) => r.json());
const waitForTaskToken = (state) => async (input) => {
  await task('wait');
  await invoke(input.FunctionName, input.Payload);
  const deadline = state.TimeoutSeconds ? Date.now() + state.TimeoutSeconds * 1000 : Infinity;
  for (;;) {
    const o = await task('outcome');
    if (o.status === 'SUCCEEDED') return o.output;
    if (o.status === 'FAILED') {
      const err = new Error(o.cause ?? '');
      err.name = o.error;
      throw err;
    }
    if (Date.now() >= deadline) {
      await task('timeout');
      const err = new Error('');
      err.name = 'States.Timeout';
      throw err;
    }
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
};

for (const [name, state] of Object.entries(cfg.definition.States)) {
  if (state.Type !== 'Task') continue;
  retryIntervalOverrides[name] = cfg.retryIntervalMs;
  taskResourceLocalHandlers[name] = state.Resource.endsWith('.waitForTaskToken')
    ? waitForTaskToken(state)
    : (input) => invoke(state.Resource, input);
}

const sm = new StateMachine(cfg.definition, { validationOptions: { checkArn: false } });
// Everything is ready: the harness's clock, frozen while node started, runs from here.
clock = await (await fetch(`${cfg.lambdaEndpoint}/clock`, { method: 'POST' })).json();
const execution = sm.run(cfg.input, {
  overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
  // The execution started the moment the clock resumed: the harness recorded its StartExecution
  // event (CloudTrail) at that instant.
  context: { Task: { Token: cfg.taskToken }, Execution: { Name: cfg.executionName, Id: cfg.executionArn || `arn:aws:states:local:000000000000:execution:rootwindow:${cfg.executionName}`, StartTime: new Date(clock.baseMs).toISOString() } },
});

const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const events = (async () => {
  for await (const e of execution.eventLogs) {
    const out = { type: e.type, at: new Date(e.timestamp).toISOString() };
    if (e.state) out.state = e.state.name;
    if (e.Error !== undefined) { out.error = e.Error; out.cause = String(e.Cause ?? ''); }
    if (e.retry) out.attempt = e.retry.attempt;
    print(out);
    if (cfg.abortAt && e.type === 'StateEntered' && e.state?.name === cfg.abortAt) execution.abort();
  }
})();

let result;
try {
  const output = await execution.result;
  result = { type: 'Result', status: 'SUCCEEDED', output };
} catch (err) {
  if (err instanceof ExecutionAbortedError) {
    result = { type: 'Result', status: 'ABORTED' };
  } else {
    const failure = err.cause instanceof Error ? err.cause : err; // ExecutionError wraps the state's error
    result = { type: 'Result', status: 'FAILED', error: failure.name, cause: String(failure.message) };
  }
}
await events;
print(result);
