"""EventBridge in the embedded AWS: what moto lacks of it (gaps.py)."""
