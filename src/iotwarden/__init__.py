"""IoT Warden: IoT security principles in practice."""

import sys

__version__ = "0.1.0"

# jsonschema imports rfc3987_syntax whenever it is installed (cyclonedx-python-lib's
# json-validation extra brings it in), and that module builds a grammar at import time: about
# 1.5 s added to every command and every worker process. No schema IoT Warden validates uses the
# IRI formats it checks, so it is kept out; jsonschema then skips those two formats.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
