"""Folders of images on the command line: a folder stands for the images in it."""

import numpy as np
import pytest
import tifffile
import torch

from napari_pn2v.backend import PN2VModel
from napari_pn2v.backend.data.formats import image_files
from tests.cli.helpers import TRAIN_FLAGS, one_line_error, run


@pytest.fixture
def folder(tmp_path, noisy):
    """Two noisy images, a note and a hidden file, in a folder of its own."""
    images = tmp_path / "images"
    images.mkdir()
    tifffile.imwrite(images / "b.tif", noisy[1])
    tifffile.imwrite(images / "a.tif", noisy[0])
    (images / "notes.txt").write_text("not an image")
    tifffile.imwrite(images / ".hidden.tif", np.zeros((4, 4), np.float32))
    return images


def test_a_folder_is_its_images_in_name_order_and_a_zarr_store_stays_one(folder, tmp_path):
    assert image_files([folder]) == [folder / "a.tif", folder / "b.tif"]
    store = tmp_path / "image.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    assert image_files([store, folder / "b.tif"]) == [store, folder / "b.tif"]


def test_training_on_a_folder_trains_on_its_images(folder, tmp_path, capsys):
    base = ["train", "--mode", "n2v", *TRAIN_FLAGS]
    code, _, err = run([*base, folder, "-o", tmp_path / "folder.pt"], capsys)
    assert code == 0, err
    listed = [folder / "a.tif", folder / "b.tif"]
    code, _, err = run([*base, *listed, "-o", tmp_path / "files.pt"], capsys)
    assert code == 0, err
    by_folder = PN2VModel.load(tmp_path / "folder.pt").net.state_dict()
    by_files = PN2VModel.load(tmp_path / "files.pt").net.state_dict()
    for name, weights in by_files.items():
        torch.testing.assert_close(by_folder[name], weights)


def test_predict_and_noise_model_take_folders(folder, tmp_path, capsys, n2v_model, calibration):
    n2v_model.save(tmp_path / "n2v.pt")
    code, _, err = run(["predict", tmp_path / "n2v.pt", folder, "-o", tmp_path / "out"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_denoised.tif",
        "b_denoised.tif",
    ]
    frames = tmp_path / "frames"
    frames.mkdir()
    for index, frame in enumerate(calibration):
        tifffile.imwrite(frames / f"frame{index:02d}.tif", frame)
    argv = ["noise-model", "--calibration", frames, "--bins", "64"]
    code, _, err = run([*argv, "-o", tmp_path / "by-folder.npz"], capsys)
    assert code == 0, err
    tifffile.imwrite(tmp_path / "stack.tif", calibration)
    stack = ["--calibration", tmp_path / "stack.tif", "--bins", "64"]
    code, _, err = run(["noise-model", *stack, "-o", tmp_path / "by-stack.npz"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "by-folder.npz") as a, np.load(tmp_path / "by-stack.npz") as b:
        for key in b.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_a_folder_without_images_is_one_line(tmp_path, capsys, n2v_model):
    (tmp_path / "empty").mkdir()
    n2v_model.save(tmp_path / "n2v.pt")
    code, _, err = run(["predict", tmp_path / "n2v.pt", tmp_path / "empty", "-o", tmp_path], capsys)
    one_line_error(code, err)
    assert "without images" in err
