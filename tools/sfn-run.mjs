// Runs a state machine definition locally with aws-local-stepfunctions, for rootwindow's harness.
//
// Usage: node sfn-run.mjs <config.json>
//   config: {
//     definition:   the ASL definition (object),
//     input:        the execution input,
//     executionName, executionArn (the context's Execution.Id),
//     lambdaEndpoint: http://127.0.0.1:port, the harness (internal/harness/runner.go),
//     session:      this execution's session there (the X-Session header of every request),
//     nowNs:        the virtual time the execution starts at (Unix nanoseconds, a decimal string),
//     taskToken:    the context's Task.Token,
//     abortAt:      optional state name: stop the execution when it enters that state, as a person
//                   stopping it in the console would (the result's status is then ABORTED)
//   }
// Prints one JSON line per execution event, then {"type":"Result", ...} last.
//
// Time is virtual and discrete, kept by the harness (internal/simtime): Date is the harness's
// clock, and every timer the library sets (a Wait state, a retry's back-off, a task's or the
// execution's timeout) is a timer on it. This process tells the harness when it has nothing left
// to do but wait (/idle: the calls it made, the answers it saw, its timers); the harness fires
// its timers in order with everyone else's (GET /fires) only when every actor waits. Its calls
// (/invoke, /task/*) are the harness's work while they run. So the timeline is the same however
// slow the machine: see runner.go for the protocol.
import { readFileSync } from 'node:fs';
import http from 'node:http';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); Node 20 lacks it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// The virtual clock, in nanoseconds: moved by the harness's answers, and by one nanosecond for
// each event this process stamps (the harness's clock is a Lamport clock: every request carries
// this reading, so what the handlers do next is stamped after it).
const RealDate = Date;
let nowNs = BigInt(cfg.nowNs);
const nowMs = () => Number(nowNs / 1000000n);
const stamp = () => {
  nowNs += 1n;
  const iso = new RealDate(nowMs()).toISOString();
  return `${iso.slice(0, -1)}${(nowNs % 1000000n).toString().padStart(6, '0')}Z`;
};
class VirtualDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(nowMs()); else super(...args);
  }
  static now() { return nowMs(); }
}
globalThis.Date = VirtualDate;

// Full-jitter retries draw from Math.random: a seeded generator (mulberry32) makes them the same
// on every run.
let seed = 0x9e3779b9;
Math.random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// Talking to the harness. `sent` counts calls made, `seen` answers, timer fires and a stop received; an
// idle report is honoured only when both match the harness's counts.
const agent = new http.Agent({ keepAlive: true });
const base = new URL(cfg.lambdaEndpoint);
let sent = 0;
let seen = 0;
const writing = new Set(); // requests not yet handed to the OS: exit waits for them
const request = (method, path, body) => new Promise((resolve, reject) => {
  const data = body === undefined ? '' : JSON.stringify(body);
  const req = http.request({
    host: base.hostname, port: base.port, method, path, agent,
    headers: {
      'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'x-session': cfg.session,
      'x-virtual-now': nowNs.toString(),
    },
  }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: res.statusCode, headers: res.headers, text });
    });
    res.on('error', reject);
  });
  req.on('error', reject);
  const written = new Promise((done) => { req.on('finish', done); req.on('error', done); req.on('close', done); });
  writing.add(written);
  written.then(() => writing.delete(written));
  req.end(data);
});
const setNow = (headers) => {
  const v = headers['x-virtual-now'];
  if (v && BigInt(v) > nowNs) nowNs = BigInt(v);
};
// call is one counted call: its answer is a delivery.
const call = async (path, body) => {
  sent++;
  const res = await request('POST', path, body ?? {});
  seen++;
  setNow(res.headers);
  settleSoon();
  return res;
};

// Timers live here; the harness learns them with each idle report.
const timers = new Map(); // id → { at, fn, args }
let nextTimer = 0;
globalThis.setTimeout = (fn, ms, ...args) => {
  const id = ++nextTimer;
  timers.set(id, { at: nowMs() + Math.max(0, Number(ms) || 0), fn, args });
  settleSoon();
  return id;
};
globalThis.clearTimeout = (id) => { timers.delete(id); };

let settling = false;
let finished = false;
function settleSoon() {
  if (settling || finished) return;
  settling = true;
  // Once every promise chain this turn started has run: what remains is waiting.
  setImmediate(() => {
    settling = false;
    if (finished) return;
    const report = { sent, seen, timers: [...timers].map(([id, t]) => ({ id, at: t.at })) };
    request('POST', '/idle', report).catch(() => {});
  });
}

// StopExecution, handed over on the long poll: the run is aborted as Step Functions stops an
// execution (a task entered is already invoked, and its handler runs on).
let execution;
let stopAsked = false;
function stopRequested() {
  stopAsked = true;
  if (execution) execution.abort();
}

// The long poll on which the harness hands over the timers that fired, in order.
(async function fires() {
  while (!finished) {
    let res;
    try {
      res = await request('GET', '/fires');
    } catch {
      return;
    }
    const answer = JSON.parse(res.text || '{}');
    const fired = answer.fired ?? [];
    const stop = answer.stop === true;
    seen += fired.length + (stop ? 1 : 0);
    setNow(res.headers);
    if (stop) stopRequested();
    for (const id of fired) {
      const t = timers.get(id);
      if (!t) continue; // cleared since
      timers.delete(id);
      t.fn(...t.args);
    }
    settleSoon();
  }
})();

const { StateMachine, ExecutionAbortedError } = await import('aws-local-stepfunctions');

// Every Task invokes the real handler through the harness, with Lambda's Invoke semantics: a
// function error comes back as {errorType, errorMessage}, which Step Functions reports as
// Error = errorType and Cause = the JSON error object.
const taskResourceLocalHandlers = {};
const invoke = async (functionArn, payload) => {
  const res = await call(`/invoke/${encodeURIComponent(functionArn)}`, payload);
  const body = JSON.parse(res.text);
  if (res.headers['x-amz-function-error']) {
    const err = new Error(res.text);
    err.name = body.errorType;
    throw err;
  }
  if (res.status !== 200) {
    const err = new Error(res.text);
    err.name = 'Lambda.ServiceException';
    throw err;
  }
  return body;
};

// A .waitForTaskToken Lambda integration (aws-local-stepfunctions has none): invoke the function
// with its Payload, which carries $$.Task.Token, ignore its answer, and wait for SendTaskSuccess
// or SendTaskFailure with that token (the harness's emulator receives them); past TimeoutSeconds,
// in virtual time, fail with States.Timeout as Step Functions does.
const task = async (path) => JSON.parse((await call(`/task/${path}?token=${encodeURIComponent(cfg.taskToken)}`)).text);
const waitForTaskToken = (timeoutSeconds) => async (input) => {
  await task('wait');
  await invoke(input.FunctionName, input.Payload);
  let timer;
  const deadline = timeoutSeconds
    ? new Promise((resolve) => { timer = setTimeout(() => resolve({ status: 'TIMEOUT' }), timeoutSeconds * 1000); })
    : new Promise(() => {});
  const o = await Promise.race([task('await'), deadline]);
  clearTimeout(timer);
  if (o.status === 'SUCCEEDED') return o.output;
  if (o.status === 'FAILED') {
    const err = new Error(o.cause ?? '');
    err.name = o.error;
    throw err;
  }
  await task('timeout');
  const err = new Error('');
  err.name = 'States.Timeout';
  throw err;
};

// A Task with no TimeoutSeconds has none in Step Functions (its documented default, 99999999 s);
// the library's own default is 60 s. The task token's TimeoutSeconds is the wait above's.
const AWS_DEFAULT_TIMEOUT = 99999999;
const definition = structuredClone(cfg.definition);
for (const [name, state] of Object.entries(definition.States)) {
  if (state.Type !== 'Task') continue;
  if (state.Resource.endsWith('.waitForTaskToken')) {
    taskResourceLocalHandlers[name] = waitForTaskToken(state.TimeoutSeconds);
    state.TimeoutSeconds = AWS_DEFAULT_TIMEOUT;
  } else {
    taskResourceLocalHandlers[name] = (input) => invoke(state.Resource, input);
    state.TimeoutSeconds ??= AWS_DEFAULT_TIMEOUT;
  }
}

const sm = new StateMachine(definition, { validationOptions: { checkArn: false } });
execution = sm.run(cfg.input, {
  overrides: { taskResourceLocalHandlers },
  context: { Task: { Token: cfg.taskToken }, Execution: { Name: cfg.executionName, Id: cfg.executionArn || `arn:aws:states:local:000000000000:execution:rootwindow:${cfg.executionName}`, StartTime: new Date(nowMs()).toISOString() } },
});
if (stopAsked) execution.abort();
settleSoon();

const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const events = (async () => {
  for await (const e of execution.eventLogs) {
    const out = { type: e.type, at: stamp() };
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
finished = true;
// A call made as the execution stopped (a task entered as it was aborted) still reaches the
// harness, as a Lambda invoked goes on: the harness waits for `sent` calls before it lets go.
await Promise.all([...writing]);
result.sent = sent;
print(result);
process.exit(0);
