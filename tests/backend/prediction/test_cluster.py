"""Batch prediction on a local dask.distributed cluster of worker processes."""

import numpy as np
import pytest
import tifffile
import zarr

from napari_pn2v.backend import PN2VError, PredictionConfig, predict
from napari_pn2v.backend.data.stores import open_zarr
from napari_pn2v.backend.prediction.cluster import predict_on_cluster


def test_a_local_cluster_writes_what_one_process_computes(pn2v_model, noisy, tmp_path):
    pn2v_model.save(tmp_path / "m.pt")
    stack = np.concatenate([noisy, noisy[::-1], noisy])  # 6 planes → 3 tasks of 2
    tifffile.imwrite(tmp_path / "a.tif", stack)
    zarr.save_array(tmp_path / "b.zarr", noisy[:1])
    seen = []
    written = predict_on_cluster(
        tmp_path / "m.pt",
        [tmp_path / "a.tif", tmp_path / "b.zarr"],
        tmp_path / "out",
        keys=("denoised", "std"),
        workers=2,
        planes_per_task=2,
        settings=PredictionConfig(device="cpu"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [p.name for p in written] == [
        "a_denoised.zarr",
        "a_std.zarr",
        "b_denoised.zarr",
        "b_std.zarr",
    ]
    assert seen[-2] == (6, 6) and seen[-1] == (1, 1)
    alone = predict(pn2v_model, stack, device="cpu")
    for key, path in zip(("denoised", "std"), written[:2], strict=True):
        result = open_zarr(path)[:]
        np.testing.assert_allclose(result, alone[key], rtol=1e-4, atol=1e-3)
    assert not list((tmp_path / "out").glob("*.part"))


def test_a_bad_input_stops_before_any_task(pn2v_model, tmp_path):
    pn2v_model.save(tmp_path / "m.pt")
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(PN2VError, match="RGB"):
        predict_on_cluster(tmp_path / "m.pt", [tmp_path / "rgb.tif"], tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()


def test_tasks_of_a_3d_model_hold_whole_z_stacks(tmp_path):
    from napari_pn2v.backend import ModelConfig, PN2VModel

    model = PN2VModel(ModelConfig(mode="n2v", depth=2, features=4, dims=3), 100.0, 10.0)
    model.save(tmp_path / "m3.pt")
    stacks = np.random.default_rng(0).normal(100, 10, (2, 12, 24, 24)).astype(np.float32)
    tifffile.imwrite(tmp_path / "tz.tif", stacks, metadata={"axes": "TZYX"})
    seen = []
    written = predict_on_cluster(
        tmp_path / "m3.pt",
        [tmp_path / "tz.tif"],
        tmp_path / "out",
        workers=2,
        settings=PredictionConfig(tile=32, overlap=8, device="cpu"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (2, 2)  # two tasks of one Z stack each
    result = open_zarr(written[0])
    assert result.chunks[:2] == (1, 12)  # a task writes whole stacks
    np.testing.assert_allclose(
        result[:], predict(model, stacks, tile=32, overlap=8, device="cpu")["denoised"], atol=1e-4
    )


def test_each_channel_is_denoised_by_its_own_model(pn2v_model, noisy, tmp_path):
    from napari_pn2v.backend import ChannelModels
    from napari_pn2v.backend.data.metadata import channel_names, ome_metadata

    second = pn2v_model.copy()
    second.spread_scale = 0.5  # another model, other values
    ChannelModels([pn2v_model, second], ["GFP", "DAPI"]).save(tmp_path / "m.pt")
    image = np.stack([noisy, noisy[::-1] + 20], axis=1)  # T C Y X
    tifffile.imwrite(
        tmp_path / "tc.ome.tif", image, ome=True, metadata=ome_metadata("TCYX", {}, ["a", "b"])
    )
    (path,) = predict_on_cluster(
        tmp_path / "m.pt",
        [tmp_path / "tc.ome.tif"],
        tmp_path / "out",
        workers=2,
        settings=PredictionConfig(device="cpu"),
    )
    result = open_zarr(path)
    assert result.shape == image.shape and channel_names(path, 2) == ["a", "b"]
    for c, model in enumerate((pn2v_model, second)):
        expected = predict(model, image[:, c], device="cpu")["denoised"]
        np.testing.assert_allclose(result[:, c], expected, rtol=1e-4, atol=1e-3)
