"""Domain errors: a clear Chinese message for people and a stable machine code for programs."""


class DomainError(Exception):
    """Raised by services when an operation is refused; nothing has changed when it is raised."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, code: str | None = None, *, field: str | None = None, **context):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.context = context

    def as_dict(self) -> dict:
        data = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        data.update({k: v for k, v in self.context.items() if v is not None})
        return data


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDeniedError(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"
