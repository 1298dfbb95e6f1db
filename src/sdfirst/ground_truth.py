"""How a table's rows meet their true people in the synthetic truth, for measuring, never for linking.

Most tables have a row key, `row_id_hash`, and `truth.record_person` names the person behind each. The MoJ-DfE
share's files have none, as the real files have none, so their rows are found through the person id they carry (the
table's `truth_key`: a pupil matching reference or a MoJ id), which `truth.key_person` maps to its person. A test,
a calibration figure or a chapter that needs a row's true person asks here, and need not know which kind it is.
"""

from __future__ import annotations

from sdfirst.specs import table


def person_join(key: str, alias: str = "x", truth: str = "r") -> str:
    """SQL: `JOIN <the truth table> AS truth ON ...`, matching each row of the table `key` (as `alias`) to the
    truth row that names its person; `truth.person_id` is then the row's true person (empty for a company)."""
    spec = table(key)
    if spec.truth_key is not None:
        found = spec.truth_key
        return (
            f"JOIN truth.key_person AS {truth} ON {truth}.key_name = '{found.key}' "
            f'AND {truth}.key_value = {alias}."{found.column}"'
        )
    return (
        f"JOIN truth.record_person AS {truth} ON {truth}.dataset = '{spec.dataset}' "
        f"AND {truth}.table_name = '{spec.name}' AND {truth}.row_id_hash = {alias}.row_id_hash"
    )
