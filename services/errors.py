"""What can go wrong for a person, independent of how they reached us. The API maps
these to HTTP statuses, the web screens to a message on the page, the CLI to one line."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a one-line message that is safe to show."""

    status = 400
    # More for the API's answer beside "detail" (e.g. the places an address may mean).
    extra: dict[str, object] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the source said
        self.message = str(self)


class Unauthenticated(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """A refused transition: the workflow's validator said no, or the thing is finished."""

    status = 409


class BadInput(ServiceError):
    status = 422


class Unavailable(ServiceError):
    """A dependency (Temporal, the database) did not answer in time."""

    status = 503
