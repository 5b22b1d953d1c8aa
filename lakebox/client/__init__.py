"""The CLI's client side: finding a server, calling its Cloudflare v4 API and its S3 API. Imports nothing of the
server (``lakebox --version`` must start fast)."""
