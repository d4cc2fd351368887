"""The admission webhook (`deploysafe serve`) and its install manifests.

The same rules `deploysafe scan` runs, judged on what the API server is about to store:
`policy` reads the `webhook:` section, `review` turns an AdmissionReview into a verdict
(pure, synchronous), `app` is the ASGI application, `server` runs it under uvicorn with
TLS that reloads, `manifests` writes what installs it in a cluster.
"""
