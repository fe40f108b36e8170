// The Worker's entry module: starts the Go API (app.wasm) once per isolate and hands it every
// /api/* request, instead of syumai/workers' generated worker.mjs, which instantiates and runs
// a fresh Go program in each fetch (4–8 ms of start-up and a cold heap every time).
//
// One Go program serves requests concurrently (a handler awaiting KV yields to the next), so
// per-request state never goes into the runtime context that Go's syumai/workers reads as a
// global: each request's env and ExecutionContext go into a scope, in the map `scopes`, under a
// fresh id that travels to Go in the X-Finetuner-Scope header (cloudflare/wasm/main.go).
// If the Go program exits (a crash), requests in flight get a 500 and the next one starts a
// new program.
import "./wasm_exec.js";
import mod from "./app.wasm";

// syumai/workers' Go side calls this global (its generated worker.mjs defines it too).
globalThis.tryCatch = (fn) => {
  try {
    return { result: fn() };
  } catch (error) {
    return { error };
  }
};

const SCOPE = "X-Finetuner-Scope";
const TRACE = "X-Finetuner-Trace";
// MAX_DRAIN is the largest body the API reads (its predict limit, 8 MiB, and a byte).
const MAX_DRAIN = (8 << 20) + 1;

let program; // a Promise of {binding, scopes, exited} for the Go program now running
let seq = 0;

function start(env) {
  const started = boot(env, () => {
    if (program === started) program = undefined;
  });
  return started;
}

async function boot(env, onExit) {
  const go = new Go();
  const binding = {};
  const scopes = new Map();
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const instance = new WebAssembly.Instance(mod, {
    ...go.importObject,
    workers: { ready: () => ready() },
  });
  // env is the same for every request of an isolate; it is here only for syumai/workers'
  // own helpers. ctx is left out on purpose: it belongs to one request.
  const exited = go.run(instance, { env, binding, scopes }).then(() => {
    onExit();
    throw new Error("the Go program exited");
  });
  exited.catch(() => {});
  await Promise.race([isReady, exited]);
  return { binding, scopes, exited };
}

function failure(message) {
  return new Response(JSON.stringify({ error: message, status: 500 }) + "\n", {
    status: 500,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*" },
  });
}

async function fetch(req, env, ctx) {
  if (!program) program = start(env);
  const starting = program;
  let p;
  try {
    p = await starting;
  } catch (e) {
    if (program === starting) program = undefined;
    return failure(`the Worker's Go program did not start: ${e}`);
  }
  const id = String(++seq);
  // The trace is taken from the caller's header before Go runs; Go echoes it from the scope.
  p.scopes.set(id, { env, ctx, trace: req.headers.get(TRACE) ?? undefined });
  const headers = new Headers(req.headers);
  headers.set(SCOPE, id);
  headers.delete(TRACE);
  const inner = new Request(req, { headers });
  try {
    const res = await Promise.race([p.binding.handleRequest(inner), p.exited]);
    // An answer given without reading the body (a wrong id or type) must still take the upload
    // in, or the connection it came on breaks for the next request (wrangler dev answers that
    // one with a 503); the runtime allows reading it only until the answer is returned. Bodies
    // beyond the API's own limits are left alone.
    if (inner.body && !inner.body.locked && Number(req.headers.get("Content-Length") ?? Infinity) <= MAX_DRAIN) {
      await drain(inner.body);
    }
    return res;
  } catch (e) {
    return failure(`the Worker failed: ${e}`);
  } finally {
    p.scopes.delete(id);
  }
}

async function drain(body) {
  try {
    const reader = body.getReader();
    while (!(await reader.read()).done);
  } catch {
    // A body that fails to arrive changes nothing about the answer.
  }
}

export default { fetch };
