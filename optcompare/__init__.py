"""optcompare: measure the API options of a QEMU design debate side by side."""

__version__ = "0.1.0"
