"""The one exception tree of IoT Warden: every error the library raises derives from here."""

from __future__ import annotations


class IoTWardenError(Exception):
    """Base of every error IoT Warden raises on purpose."""


class SettingsError(IoTWardenError):
    """A setting (environment variable, option) has a value we cannot use."""


class VersionError(IoTWardenError):
    """A version or version range cannot be parsed or compared."""


class StoreError(IoTWardenError):
    """The store cannot be opened, migrated, read or written."""


class IntelError(IoTWardenError):
    """Base of the errors raised while reading advisory documents."""


class InputError(IntelError):
    """An input path cannot be read (missing, unreadable, truncated, too large, bomb-like)."""

    def __init__(self, origin: str, message: str) -> None:
        super().__init__(f"{origin}: {message}")
        self.origin = origin
        self.message = message

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        return (type(self), (self.origin, self.message))


class DocumentError(IntelError):
    """A document (or one record inside it) is malformed: names the document and the JSON path."""

    def __init__(self, origin: str, json_path: str, message: str) -> None:
        where = f"{origin} at {json_path}" if json_path else origin
        super().__init__(f"{where}: {message}")
        self.origin = origin
        self.json_path = json_path
        self.message = message

    def __reduce__(self) -> tuple[type[DocumentError], tuple[str, str, str]]:
        # Crosses process boundaries (parsing workers): rebuild from the fields.
        return (type(self), (self.origin, self.json_path, self.message))


class UnknownFormatError(DocumentError):
    """No advisory parser recognises the document."""
