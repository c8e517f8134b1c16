// Drives the official @segment/analytics-node against a segemu that fails requests: CALLS
// track calls in one batch, then closeAndFlush. Prints one JSON line: the messageIds, the
// X-Retry-Count of each request the SDK made, the status of each answer, and the errors it
// reported (delivery_failure when it gave up).
import { Analytics } from '@segment/analytics-node'

const calls = Number(process.env.CALLS ?? '3')
const analytics = new Analytics({
  writeKey: process.env.SEGEMU_WRITE_KEY,
  host: process.env.SEGEMU_URL,
  flushAt: calls,
  maxRetries: Number(process.env.MAX_RETRIES ?? '3'),
  httpRequestTimeout: Number(process.env.HTTP_TIMEOUT ?? '10000'),
})
const messageIds = []
const retryCounts = []
const statuses = []
const errors = []
analytics.on('http_request', (request) => {
  retryCounts.push(request.headers['X-Retry-Count'] ?? null)
  for (const event of JSON.parse(request.body).batch) {
    if (!messageIds.includes(event.messageId)) messageIds.push(event.messageId)
  }
})
analytics.on('http_response', (response) => statuses.push(response.status))
analytics.on('error', (error) => errors.push({ code: error.code, reason: String(error.reason) }))

for (let n = 0; n < calls; n++) {
  analytics.track({ userId: 'u-1', event: 'Order Completed', properties: { n } })
}
await analytics.closeAndFlush({ timeout: 20000 })
console.log(JSON.stringify({ messageIds, retryCounts, statuses, errors }))
