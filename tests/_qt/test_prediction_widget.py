import numpy as np

from napari_pn2v._qt.common import guarded
from napari_pn2v._qt.prediction_widget import PredictionWidget
from napari_pn2v.backend import predict


def run(qtbot, widget, layer="noisy"):
    widget.image.setCurrentText(layer)
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)


def test_denoise_adds_float32_layers_with_the_source_geometry(qtbot, viewer, pn2v_model, errors):
    widget = PredictionWidget(viewer)
    assert not widget.run_button.isEnabled()
    widget.session.model = pn2v_model
    assert widget.run_button.isEnabled() and widget.with_std.isEnabled()
    widget.with_prior.setChecked(True)
    widget.with_std.setChecked(True)
    widget.tile.value = 32
    widget.overlap.value = 8
    run(qtbot, widget)
    assert errors == []
    source = viewer.layers["noisy"]
    for name in ("noisy_denoised", "noisy_prior_mean", "noisy_std"):
        layer = viewer.layers[name]
        assert layer.data.dtype == np.float32 and layer.data.shape == source.data.shape
        np.testing.assert_array_equal(layer.scale, source.scale)
        np.testing.assert_array_equal(layer.translate, source.translate)
    assert widget.progress.value() == widget.progress.maximum() == 9
    run(qtbot, widget)  # a second run keeps the first result
    assert sum(layer.name.startswith("noisy_denoised") for layer in viewer.layers) == 2


def test_a_model_file_can_be_loaded(qtbot, viewer, n2v_model, tmp_path, errors):
    n2v_model.save(tmp_path / "n2v.pt")
    widget = PredictionWidget(viewer)
    widget.load_from(str(tmp_path / "n2v.pt"))
    assert "N2V" in widget.model_label.text() and not widget.with_std.isEnabled()
    assert "sub-images" not in widget.model_label.text()
    run(qtbot, widget)
    assert errors == [] and "noisy_denoised" in viewer.layers
    assert "noisy_std" not in viewer.layers
    widget.form["augment"].value = True  # test-time augmentation reaches the job
    run(qtbot, widget)
    expected = predict(n2v_model, viewer.layers["noisy"].data, augment=True)["denoised"]
    np.testing.assert_allclose(viewer.layers["noisy_denoised [1]"].data, expected, atol=1e-4)


def test_bad_input_becomes_notifications(qtbot, viewer, pn2v_model, tmp_path, errors):
    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    run(qtbot, widget, layer="rgb")
    viewer.add_image(np.full((64, 64), 1e6, np.float32), name="bright")
    run(qtbot, widget, layer="bright")
    (tmp_path / "bad.pt").write_bytes(b"junk")
    guarded(lambda: widget.load_from(str(tmp_path / "bad.pt")))()
    assert len(errors) == 3, errors
    assert "RGB" in errors[0] and "outside the noise model" in errors[1]
    assert "not a napari-pn2v model" in errors[2]
    assert [layer.name for layer in viewer.layers] == ["calibration", "noisy", "rgb", "bright"]


def test_stop_adds_no_layer(qtbot, viewer, pn2v_model, errors):
    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    viewer.add_image(np.full((8, 256, 256), 300, np.float32), name="stack")
    widget.image.setCurrentText("stack")
    widget.tile.value = 32
    widget.overlap.value = 8
    widget.run_button.click()
    widget.stop_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert "stack_denoised" not in viewer.layers and "stopped" in widget.status.text()


def test_a_lazy_layer_is_denoised_into_lazy_zarr_layers(
    qtbot, viewer, pn2v_model, noisy, errors, tmp_path
):
    import dask.array as da
    import zarr

    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    viewer.add_image(da.from_array(noisy, chunks=(1, 64, 64)), name="lazy", scale=(1, 2, 2))
    widget.with_std.setChecked(True)
    run(qtbot, widget, layer="lazy")  # no file, no folder chosen: where to write is asked
    assert errors == [
        "lazy is read from disk and its results are written there: choose a Results folder"
    ]
    assert "lazy_denoised" not in viewer.layers
    errors.clear()
    widget.results.value = tmp_path / "missing"
    run(qtbot, widget, layer="lazy")
    assert len(errors) == 1 and "no such folder" in errors[0]
    errors.clear()
    widget.results.value = tmp_path
    run(qtbot, widget, layer="lazy")
    run(qtbot, widget, layer="lazy")  # a second run writes beside the first
    assert errors == []
    first, second = viewer.layers["lazy_denoised"], viewer.layers["lazy_denoised [1]"]
    assert isinstance(first.data, zarr.Array) and first.data.dtype == np.float32
    assert first.data.shape == noisy.shape and tuple(first.scale) == (1, 2, 2)
    np.testing.assert_allclose(first.data[:], second.data[:])
    eager = widget.session.model  # the same model in memory gives the same result
    from napari_pn2v.backend import predict

    np.testing.assert_allclose(
        first.data[:], predict(eager, noisy)["denoised"], rtol=1e-4, atol=1e-3
    )
    assert isinstance(viewer.layers["lazy_std"].data, zarr.Array)
    assert f"written to {tmp_path}" in widget.status.text()
    assert len(list(tmp_path.iterdir())) == 4  # two runs × (denoised, std), kept


def test_the_results_folder_is_the_users_or_the_images_own(viewer, noisy, tmp_path):
    import tifffile

    from napari_pn2v._qt.prediction_widget import results_folder

    tifffile.imwrite(tmp_path / "stack.tif", noisy)
    layer = viewer.open(str(tmp_path / "stack.tif"), plugin="napari")[0]
    assert results_folder("", layer) == tmp_path
    (tmp_path / "out").mkdir()
    assert results_folder(str(tmp_path / "out"), layer) == tmp_path / "out"


def test_results_keep_the_units_of_their_source(qtbot, viewer, pn2v_model, noisy, errors):
    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    viewer.add_image(noisy, name="stack", scale=(2.0, 0.1, 0.1), units=("s", "µm", "µm"))
    run(qtbot, widget, layer="stack")
    assert errors == []
    result = viewer.layers["stack_denoised"]
    assert tuple(str(u) for u in result.units) == ("second", "micrometer", "micrometer")
    np.testing.assert_array_equal(result.scale, (2.0, 0.1, 0.1))


def test_the_layer_is_described_and_channels_are_refused(qtbot, viewer, pn2v_model, noisy, errors):
    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    widget.image.setCurrentText("noisy")
    assert widget.image_label.text() == "1 plane of 64×64 (axes YX)"
    viewer.add_image(np.stack([noisy[0]] * 3), name="channels", axis_labels=("c", "y", "x"))
    widget.image.setCurrentText("channels")
    assert widget.image_label.text() == "3 channels of 1 plane of 64×64 (axes CYX)"
    widget.image.setCurrentText("rgb")
    assert "RGB" in widget.image_label.text()
    run(qtbot, widget, layer="channels")
    assert errors == ["the model was trained on one channel; the image has 3"]
    assert "channels_denoised" not in viewer.layers


def test_the_axes_field_says_what_the_layer_holds_as_the_clis_axes_does(
    qtbot, viewer, pn2v_model, noisy, errors
):
    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    viewer.add_image(np.stack([noisy[0]] * 3), name="stack")
    widget.image.setCurrentText("stack")
    assert widget.image_label.text() == "3 planes of 64×64 (axes TYX)"
    widget.axes.setText("cyx")
    assert widget.image_label.text() == "3 channels of 1 plane of 64×64 (axes CYX)"
    run(qtbot, widget, layer="stack")
    assert errors == ["the model was trained on one channel; the image has 3"]
    widget.axes.clear()
    qtbot.keyClicks(widget.axes, "yxq")  # typed: letters of TZCYX only
    assert widget.axes.text() == "yx" and widget.axes.axes() == "YX"
    widget.axes.setText("")
    run(qtbot, widget, layer="stack")
    assert len(errors) == 1 and "stack_denoised" in viewer.layers


def test_a_shuffled_model_is_named_so(viewer, shuffled_pn2v, tmp_path):
    shuffled_pn2v.save(tmp_path / "shuffled.pt")
    widget = PredictionWidget(viewer)
    widget.load_from(str(tmp_path / "shuffled.pt"))
    assert "sub-images of every 2nd pixel" in widget.model_label.text()
