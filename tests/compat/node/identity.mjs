// Drives the official @segment/analytics-node against segemu's identity graph, then reads the
// result through the Profile API as a Node server would (fetch, Basic auth with the access
// token as the user name). Prints, as one JSON line, the Profile API's answers by name.
import { Analytics } from '@segment/analytics-node'

const host = process.env.SEGEMU_URL
const writeKey = process.env.SEGEMU_WRITE_KEY
const analytics = new Analytics({ writeKey, host, flushAt: 20 })
analytics.on('error', (error) => { console.error('segment error', error); process.exitCode = 1 })

const android = { type: 'android', id: 'droid-1', advertisingId: 'gaid-1', adTrackingEnabled: true, token: 'push-1' }
analytics.identify({ userId: 'n1', traits: { plan: 'pro' } })
analytics.track({ userId: 'n1', event: 'Order Completed', properties: { revenue: 42 } })
analytics.track({ userId: 'n1', event: 'App Opened', context: { device: android } })
analytics.track({ anonymousId: 'crm-7', event: 'Lead Created' })
analytics.alias({ userId: 'n1', previousId: 'crm-7' })
analytics.identify({ userId: 'n2', anonymousId: 'tablet', traits: { name: 'Ada' } })
analytics.identify({ userId: 'n3', anonymousId: 'tablet', traits: { name: 'Bob' } })
analytics.track({ userId: 'null', anonymousId: 'visitor-1', event: 'Viewed' })
analytics.track({ userId: 'null', anonymousId: 'visitor-2', event: 'Viewed' })
await analytics.closeAndFlush({ timeout: 10000 })

const base = `${host}/v1/spaces/default/collections/users/profiles`
const auth = { Authorization: `Basic ${Buffer.from('node-token:').toString('base64')}` }
async function get (path) {
  const response = await fetch(`${base}/${path}`, { headers: auth })
  return { status: response.status, body: await response.json() }
}
const answers = {
  traits: await get('android.id:droid-1/traits'),
  external_ids: await get('user_id:n1/external_ids?limit=100'),
  events: await get('anonymous_id:crm-7/events?sort=asc'),
  metadata: await get('user_id:n1/metadata'),
  tablet: await get('anonymous_id:tablet/traits'),
  n3: await get('user_id:n3/external_ids'),
  null: await get('user_id:null/traits'),
  visitor: await get('anonymous_id:visitor-2/external_ids')
}
console.log(JSON.stringify(answers))
