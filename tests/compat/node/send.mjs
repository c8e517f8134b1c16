// Drives the official @segment/analytics-node against segemu: all six calls, then a flush.
// Prints, as one JSON line, every request body the SDK sent (from its own http_request event),
// so the test can compare each stored event with what really went over the wire.
import { Analytics } from '@segment/analytics-node'

const host = process.env.SEGEMU_URL
const writeKey = process.env.SEGEMU_WRITE_KEY
const analytics = new Analytics({ writeKey, host, flushAt: 20 })
const sent = []
analytics.on('http_request', (request) => sent.push(JSON.parse(request.body)))
analytics.on('error', (error) => { console.error('segment error', error); process.exitCode = 1 })

analytics.identify({ userId: 'user-1', traits: { email: 'a@example.com', name: 'Ada' } })
analytics.track({ userId: 'user-1', event: 'Order Completed',
  properties: { revenue: 42.5, currency: 'USD', products: [{ sku: 'A-1', quantity: 2 }] } })
analytics.page({ userId: 'user-1', category: 'Docs', name: 'Home', properties: { url: 'http://example.com/' } })
analytics.screen({ userId: 'user-1', name: 'Settings', properties: { tab: 'profile' } })
analytics.group({ userId: 'user-1', groupId: 'group-1', traits: { name: 'Initech', employees: 42 } })
analytics.alias({ userId: 'user-1', previousId: 'anon-1' })
analytics.track({ anonymousId: 'anon-2', event: 'Product Viewed', properties: { sku: 'B-2' } })
await analytics.closeAndFlush({ timeout: 10000 })
console.log(JSON.stringify(sent))
