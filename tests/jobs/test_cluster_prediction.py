"""The cluster's prediction job (jobs/prediction.py) checks, before any worker starts, what a
cluster can write and what the model can make."""

import pytest

from napari_pn2v.backend import PN2VError
from napari_pn2v.jobs import ClusterPredictionJob


@pytest.mark.parametrize(
    "change, message",
    [(dict(fmt="tiff"), "a cluster writes zarr"), (dict(outputs=("std",)), "not std")],
)
def test_what_a_cluster_cannot_do_is_named_before_any_work(n2v_model, tmp_path, change, message):
    n2v_model.save(tmp_path / "n2v.pt")
    job = ClusterPredictionJob(tmp_path / "n2v.pt", [tmp_path / "missing.tif"], tmp_path / "out")
    job.check()  # as it is: fine (the files are opened when it runs)
    for name, value in change.items():
        setattr(job, name, value)
    with pytest.raises(PN2VError, match=message):
        job.run()
    assert not (tmp_path / "out").exists()
