"""Hashing and dedup (native extension with a pure-Python fallback). Filled in by the native work."""


def native_backend() -> str:
    """Return ``"native"`` or ``"python"``."""
    return "python"
