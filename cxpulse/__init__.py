"""cxpulse: event-driven customer-service monitoring on Apache Kafka."""

__all__ = ["__version__"]

__version__ = "0.1.0"
