"""The management API: Cloudflare's v4 API for R2 (``/client/v4`` on the console port), so that wrangler, the
``cloudflare`` SDKs and anything built on them manage lakebox unchanged.

``api/`` holds the Litestar app (envelope, authentication, routes, error mapping); ``service/`` the operations in
plain Python over ``objectstore.service``, ``auth.service`` and ``catalog.service``; ``store/`` the installation's
account id.
"""
