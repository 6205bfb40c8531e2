"""How closely two code paths that compute the same features must agree."""

from __future__ import annotations

import numpy as np

LOGMEL_ATOL_DB = 1e-4
"""Log-mel of the same samples by two paths (whole file, streamed chunks, threads): the float32
mel projection runs on matrices of different shapes, which BLAS sums in an order that depends
on the shape and the processor (``make test-portability`` shows it). A mel band sums at most 52
positive terms: relative error <= 2 * 52 * 2**-24 (6e-6, i.e. 2.7e-5 dB), plus one float32 ulp
of the output (7.6e-6 at 100 dB). A real defect (a shifted frame, a wrong peak) moves log-mel
by whole dB."""
SPATIAL_ATOL = 1e-6
"""Intensity vectors and GCC-PHAT (|value| <= 1) by two paths: float32 rounding of the same sums."""


def assert_same_features(got: np.ndarray, expected: np.ndarray) -> None:
    """``got`` equals ``expected`` (``(C, T, 64)``, log-mel first) up to the rounding of two paths."""
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got[:4], expected[:4], atol=LOGMEL_ATOL_DB, rtol=0)
    np.testing.assert_allclose(got[4:], expected[4:], atol=SPATIAL_ATOL, rtol=0)
