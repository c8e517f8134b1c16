"""Source, Destination and Insert Functions, run on Node as Segment runs them.

config.py   the function entries of [sources], [destinations] and [functions]
node.py     finding Node 18+
pool.py     the pool of Node worker processes (worker.js), over newline-delimited JSON
outbound.py a function's fetch: mocked, sent to an allowed host, or refused; recorded
service.py  Functions: files, hot reload, invocations, Source Function webhooks
deliver.py  Destination and Insert Functions as deliveries, error types, onBatch
"""
