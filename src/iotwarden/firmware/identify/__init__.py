"""Component identification: which software (and which release of it) a firmware image carries.

Two steps, so the expensive one can be cached by content hash:

* ``scan_content(data)`` - per file, pure: every component signature found in the content
  (one multi-pattern pass, see ``scanner``);
* ``identify_components(root, hits)`` - per root file system: joins the hits of all files with
  the installed-package databases (opkg, dpkg) and version-bearing file names into components
  with evidence and a confidence (the rule is in ``combine``).

Signatures are data (``iotwarden/data/firmware/signatures.yaml``); ``SIGNATURES_VERSION`` names
the catalogue in use.
"""

from iotwarden.firmware.identify.combine import identify_components
from iotwarden.firmware.identify.packages import InstalledPackage, read_installed_packages
from iotwarden.firmware.identify.scanner import SignatureHit, scan_content
from iotwarden.firmware.identify.signatures import (
    SIGNATURES_VERSION,
    Signature,
    SignatureError,
    load_signatures,
    looks_like_version,
)

__all__ = [
    "SIGNATURES_VERSION",
    "InstalledPackage",
    "Signature",
    "SignatureError",
    "SignatureHit",
    "identify_components",
    "load_signatures",
    "looks_like_version",
    "read_installed_packages",
    "scan_content",
]
