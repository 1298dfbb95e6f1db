"""Strings by index (sdfirst.synth.columns) give exactly what converting the strings themselves would give."""

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from sdfirst.synth.columns import Deferred, defer, either, labels, taken_from, year_labels

VALUES = ["Adult", "Youth", "Not known"]


@given(st.lists(st.integers(-1, len(VALUES) - 1), max_size=50), st.data())
def test_labels_match_the_strings_themselves(index, data):
    missing = np.array(data.draw(st.lists(st.booleans(), min_size=len(index), max_size=len(index))), dtype=bool)
    got = labels(VALUES, np.array(index, dtype=np.int64), missing)
    expected = [None if i < 0 or m else VALUES[i] for i, m in zip(index, missing, strict=True)]
    assert got.type == pa.string()
    assert got.to_pylist() == expected


def test_labels_without_nulls_has_no_validity_cost():
    got = labels(VALUES, np.array([2, 0, 1]))
    assert got.to_pylist() == ["Not known", "Adult", "Youth"]
    assert got.null_count == 0


def test_either_and_its_missing_rows():
    condition = np.array([True, False, True, False])
    assert either(condition, "Y", "N").to_pylist() == ["Y", "N", "Y", "N"]
    missing = np.array([False, False, True, False])
    assert either(condition, "M", "F", missing=missing).to_pylist() == ["M", "F", None, "F"]


def test_year_labels_cover_any_range_and_empty_input():
    years = np.array([2019, 2005, 2019, 2012])
    got = year_labels(years, lambda y: f"{y}/{(y + 1) % 100:02d}")
    assert got.to_pylist() == ["2019/20", "2005/06", "2019/20", "2012/13"]
    assert year_labels(np.array([], dtype=np.int64), str).to_pylist() == []


def test_a_deferred_column_shuffled_equals_the_column_shuffled():
    source = pa.array([f"E0{i:07d}" for i in range(50)])
    index = np.random.default_rng(1).integers(0, 50, 200)
    missing = np.arange(200) % 7 == 0
    column = defer(lambda i, m: labels(source.to_pylist(), i, m), index, missing)
    order = np.random.default_rng(2).permutation(200)
    assert isinstance(column, Deferred) and len(column) == 200
    assert column.take(order).made().equals(column.made().take(pa.array(order)))
    assert defer(taken_from(source), index).made().equals(source.take(pa.array(index)))


def test_the_runner_and_conform_make_deferred_columns():
    from sdfirst.specs import table
    from sdfirst.synth.output import conform
    from sdfirst.synth.run import _permuted

    order = np.array([2, 0, 1])
    column = defer(lambda i: labels(VALUES, i), np.array([0, 1, 2]))
    assert _permuted(column, order, pa.array(order)).to_pylist() == ["Not known", "Adult", "Youth"]
    spec = table("truth.record_person")
    columns = {name: np.zeros(3, dtype=np.int64) for name in spec.column_names}
    columns["dataset"] = column
    columns |= {name: pa.array(["x", "y", "z"]) for name in ("table_name", "row_id_hash")}
    assert conform(spec, columns).column("dataset").to_pylist() == VALUES
