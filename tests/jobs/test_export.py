"""The export job (jobs/export.py) checks everything before any work."""

import numpy as np
import pytest

from napari_pn2v.backend import ModelConfig, PN2VError, PN2VModel
from napari_pn2v.jobs.export import ExportJob
from tests.conftest import TINY_NET


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(output="std"), "denoised or prior_mean"),
        (dict(model=PN2VModel(ModelConfig(mode="n2v", dims=3, **TINY_NET), 0, 1)), "2-D"),
        (dict(path="model.pt"), ".zip"),
        (dict(image=np.zeros(8, np.float32)), "test data"),
    ],
)
def test_what_cannot_be_exported_is_named_before_any_work(n2v_model, tmp_path, change, message):
    job = ExportJob(n2v_model, np.zeros((64, 64), np.float32), tmp_path / "model.zip")
    for name, value in change.items():
        setattr(job, name, tmp_path / value if name == "path" else value)
    with pytest.raises(PN2VError, match=message):
        job.check()
