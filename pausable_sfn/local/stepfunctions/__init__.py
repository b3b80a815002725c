"""Step Functions in the embedded AWS: moto's interpreter, with the gaps closed (gaps.py)."""

from ..quick_start import defer_moto_batch

defer_moto_batch()  # before any module of this package imports moto's interpreter
