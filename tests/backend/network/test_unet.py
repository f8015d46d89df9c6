import torch

from napari_pn2v.backend.network.unet import UNet, max_blur_pool


def test_shapes_and_parameter_count_of_the_paper_network():
    net = UNet(depth=3, features=64, out_channels=800)
    params = sum(p.numel() for p in net.parameters())
    assert 1.8e6 < params < 2.1e6  # concatenated skips; the published (added skips) is ~1.7 M
    assert net.multiple == 4
    out = UNet(depth=3, features=8, out_channels=5)(torch.randn(2, 1, 32, 24))
    assert out.shape == (2, 5, 32, 24)


def test_sparse_head_equals_dense_head_at_the_chosen_pixels():
    torch.manual_seed(0)
    net = UNet(depth=2, features=8, out_channels=7)
    x = torch.randn(3, 1, 16, 16)
    dense = net(x)  # (3, 7, 16, 16)
    index = torch.randint(0, 256, (3, 10))
    features = net.body(x)
    picked = features.flatten(2).gather(2, index[:, None, :].expand(3, 8, 10))
    sparse = net.head_at(picked.permute(0, 2, 1).reshape(-1, 8))
    expected = dense.flatten(2).gather(2, index[:, None, :].expand(3, 7, 10))
    torch.testing.assert_close(sparse, expected.permute(0, 2, 1).reshape(-1, 7))


def test_gradients_reach_every_parameter():
    net = UNet(depth=3, features=4, out_channels=2)
    net(torch.randn(1, 1, 16, 16)).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_the_3d_network_keeps_volume_shapes_and_its_sparse_head():
    torch.manual_seed(0)
    net = UNet(depth=2, features=4, out_channels=5, dims=3)
    x = torch.randn(2, 1, 8, 12, 16)
    dense = net(x)
    assert dense.shape == (2, 5, 8, 12, 16)
    index = torch.randint(0, 8 * 12 * 16, (2, 6))
    picked = net.body(x).flatten(2).gather(2, index[:, None, :].expand(2, 4, 6))
    sparse = net.head_at(picked.permute(0, 2, 1).reshape(-1, 4))
    expected = dense.flatten(2).gather(2, index[:, None, :].expand(2, 5, 6))
    torch.testing.assert_close(sparse, expected.permute(0, 2, 1).reshape(-1, 5))


def test_n2v2_drops_the_full_resolution_skip_only():
    plain, n2v2 = UNet(3, 8, 1), UNet(3, 8, 1, n2v2=True)
    # the decoder's last block (full resolution) takes the upsampled features alone
    assert plain.up[-1][0].in_channels == 16 and n2v2.up[-1][0].in_channels == 8
    assert plain.up[0][0].in_channels == n2v2.up[0][0].in_channels == 32
    for dims, shape in ((2, (2, 1, 32, 24)), (3, (1, 1, 8, 16, 12))):
        net = UNet(3, 4, 5, dims=dims, n2v2=True)
        out = net(torch.randn(*shape))
        assert out.shape == (shape[0], 5, *shape[2:])
        out.square().mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_max_blur_pooling_halves_keeps_constants_and_shifts_smoothly():
    torch.manual_seed(0)
    assert max_blur_pool(torch.full((1, 3, 8, 6), 2.5), 2).shape == (1, 3, 4, 3)
    torch.testing.assert_close(
        max_blur_pool(torch.full((1, 3, 8, 6), 2.5), 2), torch.full((1, 3, 4, 3), 2.5)
    )
    assert max_blur_pool(torch.randn(1, 2, 4, 8, 6), 3).shape == (1, 2, 2, 4, 3)
    # a one-pixel shift of the input moves the pooled features less than a strided max's
    x = torch.randn(16, 1, 64, 64)
    shifted = torch.roll(x, 1, dims=-1)
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))

    def change(pool) -> float:
        return (pool(x) - pool(shifted))[inner].abs().mean().item()

    blur = change(lambda v: max_blur_pool(v, 2))
    strided = change(lambda v: torch.nn.functional.max_pool2d(v, 2))
    assert blur < 0.7 * strided
