import numpy as np
import torch

from napari_pn2v.backend.training.masking import (
    NEIGHBOURHOOD,
    augment,
    block_positions,
    mask_positions,
    masked_batch,
    n_masked,
    neighbour_median,
    neighbour_positions,
    sample_patches,
)


def test_masked_count_follows_the_paper_and_scales_with_area():
    assert n_masked(100) == 312
    assert n_masked(64) == round(312 * 64**2 / 100**2)
    assert n_masked(8) >= 1


def test_positions_are_distinct_and_stratified():
    size, count = 100, n_masked(100)
    index = mask_positions(16, size, count, torch.Generator().manual_seed(0))
    assert index.shape == (16, count)
    for row in index:
        assert len(set(row.tolist())) == count
    # one pixel per grid cell at most: 18 cells per axis for 312 pixels
    edges = torch.linspace(0, size, 19).round()
    y, x = index // size, index % size
    cells = torch.bucketize(y, edges, right=True) * 18 + torch.bucketize(x, edges, right=True)
    for row in cells:
        assert len(set(row.tolist())) == count


def test_replacement_is_a_neighbour_and_never_the_pixel_itself():
    size = 16
    every_pixel = torch.arange(size * size).repeat(200, 1)  # borders and corners included
    source = neighbour_positions(every_pixel, size, torch.Generator().manual_seed(1))
    assert not (source == every_pixel).any()
    dy = (source // size - every_pixel // size).abs()
    dx = (source % size - every_pixel % size).abs()
    half = NEIGHBOURHOOD // 2
    assert int(dy.max()) <= half and int(dx.max()) <= half
    assert ((source >= 0) & (source < size * size)).all()
    # all 24 offsets occur in the interior
    interior = (every_pixel // size == 8) & (every_pixel % size == 8)
    offsets = set(
        zip(
            (source // size - 8)[interior].tolist(),
            (source % size - 8)[interior].tolist(),
            strict=True,
        )
    )
    assert len(offsets) == NEIGHBOURHOOD**2 - 1


def test_masked_batch_replaces_only_masked_pixels():
    frames = torch.randn(3, 40, 50)
    batch = masked_batch(frames, 6, 32, torch.Generator().manual_seed(2))
    assert batch.inputs.shape == (6, 1, 32, 32)
    flat_in = batch.inputs.view(6, -1)
    flat_patch = batch.patches.view(6, -1)
    torch.testing.assert_close(batch.targets, flat_patch.gather(1, batch.index))
    changed = flat_in != flat_patch
    masked = torch.zeros_like(changed)
    masked.scatter_(1, batch.index, True)
    assert not (changed & ~masked).any()
    assert changed.sum() > 0.9 * masked.sum()  # random data: replacements differ


def test_a_blind_radius_hides_the_block_around_each_masked_pixel():
    frames = torch.randn(3, 40, 50)
    radius, size = 2, 32
    batch = masked_batch(frames, 6, size, torch.Generator().manual_seed(2), blind_radius=radius)
    flat_in, flat_patch = batch.inputs.view(6, -1), batch.patches.view(6, -1)
    torch.testing.assert_close(batch.targets, flat_patch.gather(1, batch.index))
    # about as many pixels hidden as by a 3×3 block at the usual density
    assert batch.index.shape[1] == round(n_masked(size) * 9 / 25)
    block = block_positions(batch.index, size, radius).reshape(6, -1)
    hidden = torch.zeros_like(flat_in, dtype=torch.bool).scatter_(1, block, True)
    changed = flat_in != flat_patch
    assert not (changed & ~hidden).any()
    assert changed.sum() > 0.95 * hidden.sum()  # random data: replacements differ
    # the whole 5×5 block of an interior pixel is hidden, no more
    y, x = torch.meshgrid(torch.arange(-2, 3), torch.arange(-2, 3), indexing="ij")
    expected = ((16 + y) * size + 16 + x).flatten()
    assert block_positions(torch.tensor([16 * size + 16]), size, radius)[0].tolist() == sorted(
        expected.tolist()
    )


def test_block_positions_stay_in_the_patch():
    corners = torch.tensor([0, 7, 56, 63])
    block = block_positions(corners, 8, 1)
    assert block.shape == (4, 9)
    assert ((block >= 0) & (block < 64)).all()
    assert set(block[0].tolist()) == {0, 1, 8, 9}


def test_patches_come_from_the_frames():
    frames = torch.arange(2 * 20 * 20, dtype=torch.float32).view(2, 20, 20)
    patches = sample_patches(frames, 32, 8, torch.Generator().manual_seed(3))
    values = set(frames.flatten().tolist())
    assert set(patches.flatten().tolist()) <= values
    # patches of both frames are drawn
    assert (patches.amax(dim=(1, 2)) >= 400).any() and (patches.amax(dim=(1, 2)) < 400).any()


def test_all_eight_rotations_and_flips_are_distinct():
    patch = torch.arange(16.0).view(1, 4, 4)
    outputs = {tuple(augment(patch, torch.tensor([t])).flatten().tolist()) for t in range(8)}
    assert len(outputs) == 8


def test_3d_masking_uses_5x5x5_neighbourhoods_at_the_same_density():
    shape = (8, 20, 20)
    assert n_masked(shape) == round(312 * 8 * 20 * 20 / 100**2)
    index = mask_positions(4, shape, n_masked(shape), torch.Generator().manual_seed(0))
    assert all(len(set(row.tolist())) == index.shape[1] for row in index)
    every_voxel = torch.arange(8 * 20 * 20).repeat(60, 1)
    source = neighbour_positions(every_voxel, shape, torch.Generator().manual_seed(1))
    assert not (source == every_voxel).any()
    before = torch.stack(torch.unravel_index(every_voxel, shape))
    after = torch.stack(torch.unravel_index(source, shape))
    assert int((after - before).abs().max()) <= NEIGHBOURHOOD // 2
    centre = torch.full((2000,), 4 * 400 + 10 * 20 + 10)
    moved = torch.stack(
        torch.unravel_index(
            neighbour_positions(centre, shape, torch.Generator().manual_seed(2)), shape
        )
    )
    offsets = {tuple(o) for o in (moved - torch.tensor([[4], [10], [10]])).T.tolist()}
    assert len(offsets) == NEIGHBOURHOOD**3 - 1


def test_3d_patches_turn_in_the_yx_plane_only():
    frames = torch.arange(2 * 10 * 12 * 12, dtype=torch.float32).view(2, 10, 12, 12)
    batch = masked_batch(frames, 16, (6, 8, 8), torch.Generator().manual_seed(4))
    assert batch.inputs.shape == (16, 1, 6, 8, 8) and batch.patches.shape == (16, 6, 8, 8)
    # each patch's planes are consecutive Z planes of one frame: values step by 144 along Z
    steps = batch.patches[:, 1:] - batch.patches[:, :-1]
    assert (steps == 144).all()


def _median_of_others(patch: np.ndarray, y: int, x: int) -> float:
    """The lower median of the 24 other pixels of (y, x)'s 5×5 window, mirrored at edges."""
    half, (h, w) = NEIGHBOURHOOD // 2, patch.shape
    values = []
    for dy in range(-half, half + 1):
        for dx in range(-half, half + 1):
            if dy or dx:
                yy = y + dy if 0 <= y + dy < h else y - dy
                xx = x + dx if 0 <= x + dx < w else x - dx
                values.append(patch[yy, xx])
    return float(np.sort(values)[len(values) // 2 - 1])


def test_median_replacement_shows_the_median_of_the_other_neighbours():
    generator = torch.Generator().manual_seed(3)
    frames = torch.randn(2, 24, 24)
    batch = masked_batch(frames, 4, 16, generator, replacement="median")
    patches, inputs = batch.patches.numpy(), batch.inputs[:, 0].numpy()
    for b, row in enumerate(batch.index.tolist()):
        for i in row:
            y, x = divmod(i, 16)
            assert inputs[b, y, x] == _median_of_others(patches[b], y, x)
    unmasked = np.ones((4, 16 * 16), bool)
    np.put_along_axis(unmasked, batch.index.numpy(), False, axis=1)
    assert (inputs.reshape(4, -1)[unmasked] == patches.reshape(4, -1)[unmasked]).all()
    # corners and edges take mirrored neighbours, never the pixel itself
    patch = torch.arange(36.0).view(1, 36) ** 2
    corners = torch.tensor([[0, 5, 30, 35, 14]])
    expected = [
        _median_of_others(patch.view(6, 6).numpy(), *divmod(i, 6)) for i in (0, 5, 30, 35, 14)
    ]
    assert neighbour_median(patch, corners, (6, 6)).tolist() == [expected]
