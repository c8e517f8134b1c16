"""What the TypeScript client knows of each SDK: the types of the messages it sends and the few
methods it calls, written structurally so the file compiles without the SDK's own types and
accepts analytics-node's `Analytics`, analytics-next's `AnalyticsBrowser` or the snippet's
`window.analytics` (their signatures: @segment/analytics-node dist/types, analytics-next's
AnalyticsBrowser).
"""

from __future__ import annotations

NODE_PRELUDE = """
/** Who a call is about, as analytics-node requires: a userId, an anonymousId, or both. */
export type Identity =
  | { userId: string; anonymousId?: string }
  | { userId?: string; anonymousId: string }

/** What analytics-node takes besides the properties or traits. */
export type MessageOptions = Identity & {
  context?: Record<string, unknown>
  integrations?: Record<string, unknown>
  timestamp?: Date | string
  messageId?: string
}
export type TrackMessage<P> = MessageOptions & { properties: P }
export type IdentifyMessage<T> = MessageOptions & { traits: T }
export type GroupMessage<T> = MessageOptions & { groupId: string; traits: T }
export type PageMessage<P> = MessageOptions & {
  name?: string
  category?: string
  properties: P
}

/** The methods of analytics-node's `Analytics` that this file calls. */
export interface AnalyticsLike {
  track(message: MessageOptions & { event: string; properties?: object }): void
  identify(message: MessageOptions & { traits?: object }): void
  group(message: MessageOptions & { groupId: string; traits?: object }): void
  page(message: MessageOptions & { name?: string; category?: string; properties?: object }):
    void
  screen(message: MessageOptions & { name?: string; category?: string; properties?: object }):
    void
}

function client(): AnalyticsLike {
  if (analytics === undefined) {
    throw new Error("call setTypewriterOptions({ analytics }) before sending a planned event")
  }
  return analytics
}

function withEventVersion<M extends { context?: Record<string, unknown> }>(
  message: M,
  version: number,
): M {
  const protocols = {
    ...(message.context?.protocols as object | undefined),
    event_version: version,
  }
  return { ...message, context: { ...message.context, protocols } } as M
}
"""

BROWSER_PRELUDE = """
/** What analytics-next takes besides the properties or traits (its Options). */
export type SegmentOptions = {
  context?: Record<string, unknown>
  integrations?: Record<string, unknown>
  timestamp?: Date | string
  anonymousId?: string
  userId?: string
  [option: string]: unknown
}

/** The methods of analytics-next (AnalyticsBrowser, or the snippet's window.analytics) this
 * file calls. */
export interface AnalyticsLike {
  track(event: string, properties?: object, options?: object): unknown
  identify(userId: string | null, traits?: object, options?: object): unknown
  group(groupId: string, traits?: object, options?: object): unknown
  page(
    category: string | null,
    name: string | null,
    properties?: object,
    options?: object,
  ): unknown
  screen(
    category: string | null,
    name: string | null,
    properties?: object,
    options?: object,
  ): unknown
}

function client(): AnalyticsLike | undefined {
  const found = analytics ?? (globalThis as { analytics?: AnalyticsLike }).analytics
  if (found === undefined) {
    // As Typewriter did: a page whose analytics.js was blocked keeps working.
    console.warn(
      "no analytics client: call setTypewriterOptions({ analytics }) or load analytics.js",
    )
  }
  return found
}

function withEventVersion(
  options: SegmentOptions | undefined,
  version: number,
): SegmentOptions {
  const protocols = {
    ...(options?.context?.protocols as object | undefined),
    event_version: version,
  }
  return { ...options, context: { ...options?.context, protocols } }
}
"""
