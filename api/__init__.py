"""The HTTP API (/api/v1): FastAPI routers over the services, errors as one-line JSON."""
