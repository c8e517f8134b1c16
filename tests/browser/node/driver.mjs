// Drives headless Debian chromium for segemu's browser tests, through playwright-core.
// The Python test sends one JSON command per line on stdin and reads one JSON answer per line
// on stdout: {"id", "result"} or {"id", "error"}.
//
// Every page runs with the internet unreachable: Chromium resolves no host name but localhost
// (--host-resolver-rules), every request the page makes is recorded, and those to an origin
// not in `allowed` (the page's own server and segemu) are listed in `blocked`, so a test can
// assert that nothing tried to reach Segment's hosts.
//
// With `route: true` Playwright's request routing also aborts any request to another origin.
// Routing is not the default because, once any route is set, Playwright answers CORS
// preflights itself (seen with playwright-core 1.65): segemu's own preflight answers, which a
// real page depends on, would go untested. Interventions (which need routing) simulate what a
// flaky network does to a request: deliver it to segemu but hand the page a 500 (the answer
// was lost), deliver it and never answer (still in flight when the page is left), or hold it
// until another request has been delivered (arrival out of order).
import readline from 'node:readline'
import { chromium } from 'playwright-core'

const browser = await chromium.launch({
  executablePath: process.env.SEGEMU_CHROMIUM,
  args: ['--no-sandbox', '--disable-dev-shm-usage',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
})

let context = null
let page = null
const requests = [] // every request the page made, as sent
const blocked = [] // requests to origins other than the allowed ones
const consoleMessages = []
const pageErrors = []
const frames = [] // what the page's websockets received, as text (the web view's screen)
const frameWaiters = [] // waitForFrameText calls not answered yet

// The screen the web view drew, without its escape sequences (colours, cursor moves).
function framesText () {
  return frames.join('').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '')
}
const held = [] // routes never answered
const delivered = new Set() // paths of requests delivered by an intervention

async function newPage({ allowed, route = false, interventions = [] }) {
  await closePage()
  requests.length = blocked.length = consoleMessages.length = pageErrors.length = 0
  frames.length = 0
  delivered.clear()
  context = await browser.newContext()
  context.on('request', async (request) => {
    const entry = { method: request.method(), url: request.url(), body: request.postData() }
    requests.push(entry)
    entry.headers = await request.allHeaders().catch(() => request.headers())
    if (!allowed.includes(new URL(request.url()).origin)) blocked.push(request.url())
  })
  if (route || interventions.length) await routeRequests(allowed, interventions)
  page = await context.newPage()
  page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`))
  page.on('pageerror', (error) => pageErrors.push(String(error)))
  page.on('websocket', (socket) => socket.on('framereceived', ({ payload }) => {
    frames.push(typeof payload === 'string' ? payload : payload.toString('utf8'))
    const text = framesText()
    for (const waiter of frameWaiters.filter((w) => text.includes(w.text))) {
      frameWaiters.splice(frameWaiters.indexOf(waiter), 1)
      waiter.resolve(true)
    }
  }))
  return true
}

async function routeRequests(allowed, interventions) {
  const rules = interventions.map((rule) => ({ ...rule, left: rule.times ?? 1 }))
  await context.route('**/*', async (route) => {
    const request = route.request()
    const url = new URL(request.url())
    if (!allowed.includes(url.origin)) return route.abort('internetdisconnected')
    const rule = rules.find((r) => r.left > 0 && url.pathname === r.path)
    if (!rule) return route.continue()
    rule.left -= 1
    if (rule.action === 'fail') return route.abort('connectionreset')
    if (rule.action === 'hold-until') {
      while (!delivered.has(rule.until)) await new Promise((resolve) => setTimeout(resolve, 10))
      return route.continue()
    }
    const response = await route.fetch() // it reaches segemu...
    delivered.add(url.pathname)
    if (rule.action === 'deliver-then-fail') {
      // ...but the page is told it failed, as when an answer is lost on the way back.
      return route.fulfill({ status: 500, body: 'lost', headers: {
        'access-control-allow-origin': request.headers()['origin'] ?? '*' } })
    }
    if (rule.action === 'deliver-then-hold') {
      held.push(route) // ...and the page never hears back: the request stays in flight
      return undefined
    }
    return route.fulfill({ response }) // 'deliver': ...and its answer comes back
  })
}

async function closePage() {
  held.length = 0
  if (context) await context.close()
  context = page = null
}

const commands = {
  newPage,
  closePage,
  goto: async ({ url }) => { await page.goto(url, { waitUntil: 'load' }); return page.url() },
  // A function's source, called in the page with `arg`; its (awaited) result comes back.
  evaluate: async ({ source, arg }) => page.evaluate(`(${source})(${JSON.stringify(arg ?? null)})`),
  // A function's source is called in the page at each poll, as `evaluate` calls it; anything
  // else is an expression. Playwright evaluates a string as an expression, so the source of a
  // function alone ('() => ...') would be a function object, truthy at once: the wait would
  // check nothing.
  waitForFunction: async ({ source, timeout_ms }) => {
    const expression = FUNCTION_SOURCE.test(source) ? `(${source})()` : source
    await page.waitForFunction(expression, null, { timeout: timeout_ms ?? 10000 })
    return true
  },
  requests: async () => requests,
  blocked: async () => blocked,
  console: async () => consoleMessages,
  pageErrors: async () => pageErrors,
  version: async () => browser.version(),
  websocketText: async () => framesText(),
  waitForFrameText: ({ text, timeout_ms }) => new Promise((resolve, reject) => {
    if (framesText().includes(text)) return resolve(true)
    frameWaiters.push({ text, resolve })
    setTimeout(() => reject(new Error(`no "${text}" on the page within ${timeout_ms} ms`)),
      timeout_ms ?? 10000)
  }),
  screenshot: async ({ path }) => {
    // Two animation frames: xterm.js paints what it was written on the next one.
    await page.evaluate(() => new Promise((resolve) =>
      requestAnimationFrame(() => requestAnimationFrame(resolve))))
    await page.screenshot({ path })
    return path
  },
  // Keys typed into the page, as a person would after clicking it.
  type: async ({ text, selector }) => {
    if (selector) await page.focus(selector)
    await page.keyboard.type(text)
    return true
  },
}

const FUNCTION_SOURCE = /^\s*(async\s+)?(\(|function\b|[A-Za-z_$][\w$]*\s*=>)/

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  const { id, command, params } = JSON.parse(line)
  let answer
  try {
    answer = { id, result: (await commands[command](params ?? {})) ?? null }
  } catch (error) {
    answer = { id, error: String(error && error.stack ? error.stack : error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
await closePage()
await browser.close()
