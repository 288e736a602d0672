"""Firmware analysis: extraction, component identification, security checks and SBOMs."""
