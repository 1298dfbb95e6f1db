"""Person linkage of a generated folder with Splink, as in MoJ's Data First pipeline (settings: synthetic/linkage.yaml).

Each dataset is de-duplicated (`estimated_person_id`), the criminal datasets are linked (`estimated_mc_cc_ps_dp`)
and then all datasets (`estimated_xjs_id`), magistrates' cases are linked to Crown Court cases by a scored model of
their own (`mags_crown_journey`), on DuckDB or Spark (`link(..., engine="spark")`), and the written result is scored
against the ground truth as a step of its own (`evaluate_folder`). Everything it reads and writes is synthetic.
"""

from __future__ import annotations

from sdfirst.linkage.config import load_config
from sdfirst.linkage.evaluate import evaluate_folder
from sdfirst.linkage.pipeline import link

__all__ = ["evaluate_folder", "link", "load_config"]
