"""IoT Warden: IoT security principles in practice."""

__version__ = "0.1.0"
