"""Traffic in and out of segemu: call files read and written a line at a time (calls.py,
jsonstream.py, archive.py, storefiles.py), calls shipped to any Tracking API with batching and
retries (shipping.py), relayed as they arrive (forward.py), and generated from flows (flows.py).

Like the rest of the core, nothing here imports an HTTP client: shipping goes through the
`Sender` the shell hands in (segemu/outbound.py).
"""
