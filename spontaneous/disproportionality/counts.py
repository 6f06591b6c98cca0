"""The 2x2 tables of drug-event pairs, and the count a pair would have by chance.

The cells of a pair's table: a = reports naming the drug and the event, b = the drug without the
event, c = the event without the drug, d = neither. The checks on cells every statistic of the
package starts with (:func:`_cells`), and the grouping of equal counts that lets a costly function
of a count be computed once per distinct count (:func:`_distinct`), live here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


# --- inputs -------------------------------------------------------------------------------


def _cells(**cells: ArrayLike) -> list[FloatArray]:
    """The named count arrays as float64, broadcast together, checked finite and >= 0."""
    arrays = []
    for name, values in cells.items():
        array = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite")
        if np.any(array < 0):
            raise ValueError(f"{name} must not be negative")
        arrays.append(array)
    return [np.asarray(array, dtype=np.float64) for array in np.broadcast_arrays(*arrays)]


def _factorize(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """(labels, codes): the sorted distinct values and each value's position among them.

    By sorting rather than np.unique, whose hashing is many times slower than a sort on
    millions of integers; whole numbers in a compact range skip the sort altogether.
    """
    flat = values.ravel()
    if flat.size == 0:
        return flat[:0], np.zeros(values.shape, dtype=np.intp)
    if flat.dtype.kind in "iu" or (flat.dtype.kind == "f" and bool(np.all(np.isfinite(flat)))):
        low, high = flat.min(), flat.max()
        span = float(high) - float(low)
        if span + 1 <= max(4096.0, 2.0 * flat.size) and (
            flat.dtype.kind != "f" or bool(np.all(flat == np.floor(flat)))
        ):
            offsets = (flat - low).astype(np.intp)
            present = np.zeros(int(span) + 1, dtype=np.bool_)
            present[offsets] = True
            rank = np.cumsum(present, dtype=np.intp) - 1
            labels = (np.flatnonzero(present) + low).astype(flat.dtype)
            return labels, rank[offsets].reshape(values.shape)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    first = np.empty(flat.size, dtype=np.bool_)
    first[0] = True
    if flat.dtype.kind == "f":
        # nan != nan: keep the nans of a float array together.
        first[1:] = (ordered[1:] != ordered[:-1]) & ~(
            np.isnan(ordered[1:]) & np.isnan(ordered[:-1])
        )
    else:
        first[1:] = ordered[1:] != ordered[:-1]
    codes = np.empty(flat.size, dtype=np.intp)
    codes[order] = np.cumsum(first, dtype=np.intp) - 1
    return ordered[first], codes.reshape(values.shape)


def _distinct(values: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """(keys, index) with values == keys[index], so that a costly function of a count is
    computed once per distinct count and gathered.

    Counts are whole numbers, mostly small: then keys are simply 0..max and the index is the
    count itself, found in one pass without sorting.
    """
    flat = values.ravel()
    if flat.size and np.all(np.isfinite(flat)):
        low, high = float(flat.min()), float(flat.max())
        if (
            low >= 0
            and high + 1 <= max(4096.0, float(flat.size))
            and np.all(flat == np.floor(flat))
        ):
            index = flat.astype(np.intp)
            return np.arange(int(high) + 1, dtype=np.float64), index.reshape(values.shape)
    keys, index = _factorize(flat)
    return np.asarray(keys, dtype=np.float64), index.reshape(values.shape)


# --- the 2x2 tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class PairCounts:
    """The 2x2 table of every drug-event pair reported at least once (arrays of one length,
    sorted by drug then event label)."""

    drugs: NDArray[Any]
    events: NDArray[Any]
    a: IntArray
    """Reports naming the drug and the event."""
    b: IntArray
    """Reports naming the drug, not the event."""
    c: IntArray
    """Reports naming the event, not the drug."""
    d: IntArray
    """Reports naming neither."""
    n_total: int
    """Unique report ids."""


def _distinct_rows(major: IntArray, minor: IntArray, minor_size: int) -> tuple[IntArray, IntArray]:
    """The distinct (major, minor) rows, sorted by major then minor."""
    if major.size == 0:
        return major, minor
    if (int(major.max()) + 1) * minor_size < 2**62:
        keys = np.sort(major * minor_size + minor)
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        return keys // minor_size, keys % minor_size
    order = np.lexsort((minor, major))
    major, minor = major[order], minor[order]
    first = np.ones(major.size, dtype=np.bool_)
    first[1:] = (major[1:] != major[:-1]) | (minor[1:] != minor[:-1])
    return major[first], minor[first]


def pair_counts(report_ids: ArrayLike, drugs: ArrayLike, events: ArrayLike) -> PairCounts:
    """The 2x2 counts of every drug-event pair from report rows, over unique report ids.

    One row per (report, drug, event); a report may repeat a row, and lists each of its drugs
    against each of its events. A report counts once in a cell however many rows it has there;
    n_total is the number of distinct report ids, and d = n_total - a - b - c.
    """
    ids = np.asarray(report_ids)
    drug_labels = np.asarray(drugs)
    event_labels = np.asarray(events)
    if not ids.ndim == drug_labels.ndim == event_labels.ndim == 1:
        raise ValueError("report_ids, drugs and events must be one-dimensional")
    if not ids.size == drug_labels.size == event_labels.size:
        raise ValueError("report_ids, drugs and events must have the same length")
    _, report = _factorize(ids)
    drug_names, drug = _factorize(drug_labels)
    event_names, event = _factorize(event_labels)
    report = report.astype(np.int64).ravel()
    drug = drug.astype(np.int64).ravel()
    event = event.astype(np.int64).ravel()
    n_total = int(report.max()) + 1 if report.size else 0
    n_events = event_names.size

    pair, _ = _distinct_rows(drug * n_events + event, report, n_total)
    # Rows come back sorted by pair: each run of one pair is its reports.
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if pair.size else pair
    a = np.diff(np.r_[starts, pair.size]).astype(np.int64)
    pair = pair[starts]
    pair_drug, pair_event = pair // max(n_events, 1), pair % max(n_events, 1)

    drug_reports = np.bincount(_distinct_rows(drug, report, n_total)[0], minlength=drug_names.size)
    event_reports = np.bincount(_distinct_rows(event, report, n_total)[0], minlength=n_events)
    b = drug_reports[pair_drug].astype(np.int64) - a
    c = event_reports[pair_event].astype(np.int64) - a
    return PairCounts(
        drugs=drug_names[pair_drug],
        events=event_names[pair_event],
        a=a,
        b=b,
        c=c,
        d=np.int64(n_total) - a - b - c,
        n_total=n_total,
    )


def expected(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> FloatArray:
    """E = (a + b)(a + c) / N with N = a + b + c + d; nan for an empty table."""
    a_, b_, c_, d_ = _cells(a=a, b=b, c=c, d=d)
    return _expected(a_, b_, c_, d_)


def _expected(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> FloatArray:
    n = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((a + b) * (a + c) / n, dtype=np.float64)
