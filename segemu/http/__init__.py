"""The aiohttp shell around the core: Tracking API, control API, and the server runner."""
