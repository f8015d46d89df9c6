import torch

from napari_pn2v.backend.network.unet import UNet


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
