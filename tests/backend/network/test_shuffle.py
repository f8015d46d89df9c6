"""Pixel-shuffle sub-images (backend/network/shuffle.py): the sub-images of every s-th pixel,
the network's outputs put back where each pixel was, and the average over one pixel of every
sub-image; a shuffled model predicts, tiles and packages as the whole image's sub-images do."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from napari_pn2v.backend import PN2VModel, predict
from napari_pn2v.backend.network.shuffle import phase_average, reach, shuffled, sub_images
from napari_pn2v.backend.packaging.denoiser import to_torchscript


@pytest.mark.parametrize("stride", [2, 3])
def test_sub_images_are_every_strideth_pixel_in_pixel_unshuffles_order(stride):
    image = np.arange(2 * 7 * 8, dtype=np.float32).reshape(2, 7, 8)
    parts = sub_images(image, stride)
    h, w = 7 // stride, 8 // stride
    assert parts.shape == (2 * stride**2, h, w)
    np.testing.assert_array_equal(
        parts[stride + 1], image[0, 1 : h * stride : stride, 1::stride][:, :w]
    )
    expected = F.pixel_unshuffle(
        torch.from_numpy(image[:, : h * stride, : w * stride])[:, None], stride
    )
    np.testing.assert_array_equal(parts, expected.reshape(-1, h, w).numpy())


def test_each_sub_images_output_goes_back_to_its_pixels():
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    # the body marks its outputs with the sub-image they came from: 1000 × its place
    marked = shuffled(lambda p: p + 1000 * torch.arange(len(p)).view(-1, 1, 1, 1), x, 3)
    offsets = torch.arange(3).view(3, 1) * 3 + torch.arange(3)  # (dy, dx) → sub-image
    np.testing.assert_array_equal((marked - x)[0, 0].numpy(), 1000 * offsets.repeat(2, 2).numpy())
    np.testing.assert_array_equal(shuffled(lambda p: p, x, 1), x)


@pytest.mark.parametrize("stride", [2, 3, 4])
def test_the_average_weighs_every_sub_image_equally_and_stays_centred(stride):
    size, r = 12, reach(stride)
    rows, columns = np.indices((size, size))
    for dy in range(stride):  # one sub-image's pixels alone: a share of 1/s² everywhere
        one = torch.from_numpy(((rows % stride == dy) & (columns % stride == 0)) * 1.0)
        averaged = phase_average(one[None, None].float(), stride)[0, 0]
        assert averaged.shape == (size - 2 * r, size - 2 * r)
        np.testing.assert_allclose(averaged.numpy(), 1 / stride**2, rtol=1e-6)
    ramp = torch.from_numpy(columns * 1.0)[None, None].float()  # a centred window keeps a ramp
    np.testing.assert_allclose(
        phase_average(ramp, stride)[0, 0].numpy(), columns[r:-r, r:-r], rtol=1e-6
    )


def shuffled_copy(model: PN2VModel, stride: int = 2) -> PN2VModel:
    """``model`` as a model that sees sub-images of every ``stride``-th pixel."""
    model = model.copy()
    model.shuffle = stride
    return model


def test_a_shuffled_model_denoises_each_sub_image_and_averages_them(n2v_model):
    rng = np.random.default_rng(3)
    image = rng.uniform(150, 500, (160, 192)).astype(np.float32)
    got = predict(shuffled_copy(n2v_model), image)["denoised"]
    assert got.shape == image.shape and got.dtype == np.float32
    parts = np.stack([predict(n2v_model, p)["denoised"] for p in sub_images(image, 2)])
    back = shuffled(lambda _: torch.from_numpy(parts)[:, None], torch.zeros(1, 1, *image.shape), 2)
    want = phase_average(back, 2)[0, 0].numpy()  # one pixel short of each edge
    # the sub-images predicted on their own are mirrored at their edges, the image at its own
    inner = (slice(48, -48), slice(48, -48))
    np.testing.assert_allclose(got[1:-1, 1:-1][inner], want[inner], rtol=1e-4, atol=1e-3)


def test_a_shuffled_model_is_packaged_as_predict_runs_it(shuffled_pn2v, noisy):
    model = shuffled_pn2v
    traced = to_torchscript(model, torch.as_tensor(noisy[0])[None, None])
    other = noisy[1, :, :56]  # another size than traced at, a multiple of 2 × the pooling
    with torch.no_grad():
        got = traced(torch.as_tensor(other)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(got, predict(model, other)["denoised"], rtol=1e-5, atol=1e-3)


def test_the_stride_is_in_the_model_file_which_older_versions_refuse(n2v_model, tmp_path):
    path = tmp_path / "shuffled.pt"
    shuffled_copy(n2v_model, 3).save(path)
    state = torch.load(path, weights_only=True)
    assert state["version"] == 3 and PN2VModel.load(path).shuffle == 3
    n2v_model.save(path)  # an unshuffled model stays readable by versions before the stride
    assert torch.load(path, weights_only=True)["version"] == 1
    assert PN2VModel.load(path).shuffle == 1
