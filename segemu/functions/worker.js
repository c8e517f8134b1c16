'use strict'
// segemu's Functions worker: runs Source, Destination and Insert Functions the way Segment's
// runtime does, one long-lived process serving many invocations at once.
//
// Protocol: newline-delimited JSON on stdin/stdout.
//   -> {op: "load", key, file, code}                   compile a function's file
//   <- {op: "loaded", key, ok, handlers | error}
//   -> {op: "invoke", id, key, handler, args, timeout} run one handler (args as JSON)
//   <- {op: "result", id, ok, value | error, logs, emitted}
//   <- {op: "fetch", id, fid, url, method, headers, body}  a function's fetch, asked of segemu
//   -> {op: "fetched", fid, ok, status, headers, body | error}
//
// Each function file gets its own vm context (node:vm), kept between invocations: Segment's
// environments are long-running, and functions may cache in globals (DOCS connections/
// functions/destination-functions.md §Caching). Console output, fetches and Segment.* calls
// are attributed to the invocation that made them through AsyncLocalStorage, so concurrent
// invocations of one function never mix their output.

const vm = require('node:vm')
const path = require('node:path')
const readline = require('node:readline')
const util = require('node:util')
const nodeCrypto = require('node:crypto')
const nodeZlib = require('node:zlib')
const nodeHttps = require('node:https')
const { AsyncLocalStorage } = require('node:async_hooks')

const current = new AsyncLocalStorage()
const contexts = new Map() // key -> {context, file}
const pendingFetches = new Map() // fid -> {resolve, reject}
let nextFetch = 0
// Segment's test panel shows at most 4 KB of console output (DOCS source-functions.md FAQ);
// segemu keeps more, but bounded per invocation.
const MAX_LOG_CHARS = 16384

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

// The libraries Segment preloads (DOCS _includes/content/functions/runtime.md), resolved from
// the runtime folder beside this file, then from the folders segemu passes in
// SEGEMU_FUNCTIONS_MODULES. A missing one is a global that says how to install it.
const searchPaths = [path.join(__dirname, 'runtime', 'node_modules')].concat(
  (process.env.SEGEMU_FUNCTIONS_MODULES || '').split(path.delimiter).filter(Boolean)
)
const installHint =
  process.env.SEGEMU_FUNCTIONS_INSTALL || `npm ci --prefix ${path.join(__dirname, 'runtime')}`

function library(name) {
  try {
    return { ok: true, value: require(require.resolve(name, { paths: searchPaths })) }
  } catch (err) {
    return { ok: false, error: `${name} is not installed for segemu's Functions runtime: run \`${installHint}\`` }
  }
}

// global name -> [package, how Segment exposes it]
const LIBRARIES = {
  _: ['lodash', (m) => m],
  moment: ['moment-timezone', (m) => m],
  jsonwebtoken: ['jsonwebtoken', (m) => m],
  xml: ['xml', (m) => m],
  xml2js: ['xml2js', (m) => m],
  uuidv5: ['uuidv5', (m) => ({ uuidv5: m })],
  OAuth: ['oauth', (m) => m],
  FormData: ['form-data', (m) => m]
}
const loaded = {}
for (const [global, [pkg, expose]] of Object.entries(LIBRARIES)) {
  const found = library(pkg)
  loaded[global] = found.ok ? { ok: true, value: expose(found.value) } : found
}

function invocation() {
  const store = current.getStore()
  if (!store) throw new Error('called outside an invocation (at load time)')
  return store
}

function log(level, args) {
  const store = current.getStore()
  const text = util.formatWithOptions({ depth: 6 }, ...args)
  if (!store) return // output at load time has no invocation to belong to
  if (store.logChars >= MAX_LOG_CHARS) return
  store.logChars += text.length
  store.logs.push({ level, message: text.slice(0, MAX_LOG_CHARS) })
}

const hostConsole = {
  log: (...a) => log('log', a),
  info: (...a) => log('info', a),
  warn: (...a) => log('warn', a),
  error: (...a) => log('error', a),
  debug: (...a) => log('debug', a)
}

// fetch: every request goes to segemu, which answers it from a mock, sends it to an allowed
// host, or refuses it, and records it with the invocation (docs/functions.md, Outbound).
async function hostFetch(input, init) {
  const store = invocation()
  const request = new Request(input, init)
  const body = request.body === null ? null : await request.text()
  const headers = {}
  request.headers.forEach((value, name) => {
    headers[name] = value
  })
  const fid = ++nextFetch
  const answer = await new Promise((resolve, reject) => {
    pendingFetches.set(fid, { resolve, reject })
    send({ op: 'fetch', id: store.id, fid, url: request.url, method: request.method, headers, body })
  })
  if (!answer.ok) {
    // node-fetch's FetchError for a network failure: Segment's RetryError guidance catches it.
    const error = new TypeError(answer.error)
    error.name = 'FetchError'
    error.type = 'system'
    throw error
  }
  const status = answer.status
  const nullBody = status === 204 || status === 205 || status === 304
  return new Response(nullBody ? null : answer.body, { status, headers: answer.headers })
}

function makeSegment() {
  // Source Functions' Segment object (DOCS source-functions.md §Sending messages).
  const emit = (type) => (message) => {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      throw new TypeError(`Segment.${type}() takes an object, got ${typeof message}`)
    }
    invocation().emitted.push({ ...JSON.parse(JSON.stringify(message)), type })
  }
  const segment = {}
  for (const type of ['identify', 'track', 'page', 'screen', 'group', 'alias', 'set']) {
    segment[type] = emit(type)
  }
  return segment
}

function makeCache() {
  // DOCS runtime.md §Caching: cache.load(key, ttl, fn) and cache.delete(key), process-local.
  const values = new Map()
  return {
    async load(key, ttl, fn) {
      const found = values.get(key)
      if (found && (found.expires === null || found.expires > Date.now())) return found.value
      const value = await fn()
      values.set(key, { value, expires: ttl === undefined || ttl === -1 ? null : Date.now() + ttl })
      return value
    },
    delete(key) {
      values.delete(key)
    }
  }
}

// Segment's error types (DOCS _includes/content/functions/errors-and-error-handling.md), and
// DropEvent for Insert Functions; defined inside each context so `instanceof` works there.
const PRELUDE = `
for (const name of ['EventNotSupported', 'InvalidEventPayload', 'ValidationError', 'RetryError', 'DropEvent']) {
  globalThis[name] = class extends Error {
    constructor(message) { super(message); this.name = name }
  }
}
`

function makeContext(file) {
  const sandbox = {
    console: hostConsole,
    fetch: hostFetch,
    Request,
    Response,
    Headers,
    URL,
    URLSearchParams,
    atob,
    btoa,
    Buffer,
    crypto: nodeCrypto,
    https: nodeHttps,
    zlib: { zlib: nodeZlib },
    TextEncoder,
    TextDecoder,
    AbortController,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    setImmediate,
    clearImmediate,
    queueMicrotask,
    structuredClone,
    Segment: makeSegment(),
    cache: makeCache()
  }
  for (const [name, found] of Object.entries(loaded)) {
    if (found.ok) sandbox[name] = found.value
    else
      Object.defineProperty(sandbox, name, {
        get() {
          throw new ReferenceError(found.error)
        },
        enumerable: false
      })
  }
  const context = vm.createContext(sandbox, { name: file })
  vm.runInContext(PRELUDE, context)
  return context
}

const HANDLERS = ['onRequest', 'onTrack', 'onIdentify', 'onPage', 'onScreen', 'onGroup', 'onAlias', 'onDelete', 'onBatch']

function syntaxLocation(err, file) {
  // V8 puts "file:line" as the first line of a SyntaxError's stack.
  const first = String(err.stack || '').split('\n')[0]
  const match = first.match(/:(\d+)$/)
  return { file, line: match ? Number(match[1]) : null }
}

function load(message) {
  const { key, file, code } = message
  const context = makeContext(file)
  try {
    const script = new vm.Script(code, { filename: file })
    script.runInContext(context, { timeout: 5000 })
  } catch (err) {
    const where = err instanceof SyntaxError || err.name === 'SyntaxError' ? syntaxLocation(err, file) : { file, line: stackLine(err, file) }
    send({ op: 'loaded', key, ok: false, error: { name: err.name || 'Error', message: String(err.message || err), ...where } })
    return
  }
  const handlers = HANDLERS.filter((name) => typeof context[name] === 'function')
  contexts.set(key, { context, file })
  send({ op: 'loaded', key, ok: true, handlers })
}

function stackLine(err, file) {
  const stack = String((err && err.stack) || '')
  const at = stack.indexOf(file + ':')
  if (at < 0) return null
  const match = stack.slice(at + file.length + 1).match(/^(\d+)/)
  return match ? Number(match[1]) : null
}

function describeError(err, file) {
  if (err === null || typeof err !== 'object') {
    return { name: 'Error', message: String(err), line: null }
  }
  if (err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    // vm stopped a synchronous loop: Segment's Timeout, which is retried.
    return { name: 'Timeout', message: String(err.message), line: null }
  }
  return {
    name: String(err.name || (err.constructor && err.constructor.name) || 'Error'),
    message: String(err.message === undefined ? err : err.message),
    line: stackLine(err, file),
    stack: String(err.stack || '').split('\n').slice(0, 8).join('\n')
  }
}

const CALL = new vm.Script('__segemuCall()', { filename: 'segemu:invoke' })

function makeRequest(raw) {
  // Source Functions' request (DOCS source-functions.md §Request processing): json() and
  // text() return the body at once (Segment's examples call them without await), headers is
  // a Headers, url a URL.
  const body = raw.body || ''
  return {
    method: raw.method || 'POST',
    headers: new Headers(raw.headers || {}),
    url: new URL(raw.url),
    text: () => body,
    json: () => JSON.parse(body)
  }
}

let inflight = 0

async function invoke(message) {
  inflight++
  try {
    await run(message)
  } finally {
    inflight--
    if (closing && inflight === 0) process.exit(0)
  }
}

async function run(message) {
  const { id, key, handler, args, timeout } = message
  const store = { id, logs: [], logChars: 0, emitted: [] }
  const entry = contexts.get(key)
  const finish = (fields) => send({ op: 'result', id, logs: store.logs, emitted: store.emitted, ...fields })
  if (!entry) {
    finish({ ok: false, error: { name: 'InvalidSettings', message: `function ${key} is not loaded` } })
    return
  }
  const fn = entry.context[handler]
  if (typeof fn !== 'function') {
    // DOCS errors-and-error-handling.md: no handler for a type throws EventNotSupported.
    finish({ ok: false, error: { name: 'EventNotSupported', message: `${handler} is not defined`, line: null } })
    return
  }
  let timer
  try {
    const callArgs = handler === 'onRequest' ? [makeRequest(args[0]), args[1]] : args
    const value = await current.run(store, () => {
      // The call's synchronous part runs under vm's own timeout: a `while (true)` before
      // the first await is stopped without losing the worker.
      entry.context.__segemuCall = () => fn(...callArgs)
      const running = Promise.resolve(CALL.runInContext(entry.context, { timeout }))
      const expired = new Promise((resolve, reject) => {
        timer = setTimeout(() => {
          const err = new Error(`timed out after ${timeout} ms`)
          err.name = 'Timeout'
          reject(err)
        }, timeout)
      })
      return Promise.race([running, expired])
    })
    let json
    try {
      json = value === undefined ? null : JSON.parse(JSON.stringify(value))
    } catch (err) {
      json = String(value)
    }
    finish({ ok: true, value: json === undefined ? null : json })
  } catch (err) {
    finish({ ok: false, error: describeError(err, entry.file) })
  } finally {
    clearTimeout(timer)
  }
}

function fetched(message) {
  const waiting = pendingFetches.get(message.fid)
  if (!waiting) return
  pendingFetches.delete(message.fid)
  waiting.resolve(message)
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (!line) return
  let message
  try {
    message = JSON.parse(line)
  } catch (err) {
    return
  }
  if (message.op === 'load') load(message)
  else if (message.op === 'unload') contexts.delete(message.key)
  else if (message.op === 'invoke') invoke(message)
  else if (message.op === 'fetched') fetched(message)
})
// segemu closed our stdin (it stopped, or died): finish what is in flight, then exit.
let closing = false
lines.on('close', () => {
  closing = true
  if (inflight === 0) process.exit(0)
})
process.on('unhandledRejection', () => {}) // a function's stray promise must not kill the worker
send({ op: 'ready', node: process.version, libraries: Object.fromEntries(Object.entries(loaded).map(([k, v]) => [k, v.ok])) })
