"""One thing per channel: the rule every per-channel container (models, noise models) keeps."""

import pytest

from napari_pn2v.backend.data.channels import NamedChannels
from napari_pn2v.backend.errors import PN2VError


class Things(NamedChannels):
    what = "thing"
    made = "was made for"
    advice = ": make one per channel"


def test_each_gives_one_per_channel_or_refuses():
    both = Things(["a", "b"], ["GFP", "RFP"])
    assert Things.each(both, 2) == ["a", "b"]
    assert Things.each("a", 1) == ["a"]
    assert Things.each(None, 3) == [None, None, None]
    with pytest.raises(PN2VError, match=r"^the thing was made for 2 channels; the image has 3$"):
        Things.each(both, 3)
    with pytest.raises(PN2VError, match="made for one channel; the image has 2: make one per"):
        Things.each("a", 2)


def test_a_container_needs_two_channels_and_a_name_each():
    with pytest.raises(PN2VError, match="needs two channels or more"):
        Things(["a"])
    with pytest.raises(PN2VError, match="3 channel names for 2 channels"):
        Things(["a", "b"], ["x", "y", "z"])
    assert Things(["a", "b"]).names == ["channel 0", "channel 1"]
