"""The registered advisory parsers, in detection order (most specific first)."""

from __future__ import annotations

from iotwarden.intel.csaf import CsafParser
from iotwarden.intel.cve5 import Cve5Parser
from iotwarden.intel.cyclonedx_vex import CycloneDxVexParser
from iotwarden.intel.epss import EpssCsvParser
from iotwarden.intel.interface import AdvisoryParser
from iotwarden.intel.kev import KevCsvParser, KevJsonParser
from iotwarden.intel.nvd import NvdParser
from iotwarden.intel.openvex import OpenVexParser
from iotwarden.intel.osv import OsvParser

PARSERS: list[type[AdvisoryParser]] = [
    CsafParser,
    Cve5Parser,
    NvdParser,
    KevJsonParser,
    OpenVexParser,
    CycloneDxVexParser,
    OsvParser,
    KevCsvParser,
    EpssCsvParser,
]
