"""jobs/channels.py: a multi-channel job cut into one job per channel, for every job alike."""

from dataclasses import dataclass

import numpy as np
import pytest

from napari_pn2v.backend import PN2VError, Progress
from napari_pn2v.jobs.channels import channel_progress, count_channels, split_by_channel


@dataclass
class Job:
    stack: np.ndarray | None = None
    images: list | None = None
    other: list | None = None
    model: str | None = None
    setting: int = 0
    channels: bool = True


def test_each_channels_job_holds_that_channels_data_alone():
    stack = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    images = [np.zeros((2, 5, 5)), np.ones((2, 1, 5, 5))]
    job = Job(stack, images)
    count = count_channels(job, arrays=("stack",), lists=("images", "other"))
    jobs = split_by_channel(
        job, count, ("stack",), ("images", "other"), each={"model": ["a", "b"]}, setting=7
    )
    assert count == 2 and [j.model for j in jobs] == ["a", "b"]
    for c, one in enumerate(jobs):
        np.testing.assert_array_equal(one.stack, stack[c])
        assert [i.shape for i in one.images] == [(5, 5), (1, 5, 5)]
        assert one.other is None and one.setting == 7 and one.channels is False
    assert job.channels and job.setting == 0  # the job itself is left as it was


def test_data_of_different_channel_counts_are_refused():
    job = Job(np.zeros((2, 4, 4)), [np.zeros((3, 4, 4))])
    with pytest.raises(PN2VError, match=r"the data differ in channels \(2, 3\)"):
        count_channels(job, ("stack",), ("images",))


def test_progress_names_its_channel():
    event = Progress(1, 2, 3, 4, 1.0, None, None, 1e-3, 0.5)
    named = channel_progress(event, ["GFP", "mCherry"], 1, elapsed=5.0)
    assert named.channel == "mCherry (2/2)" and named.elapsed == 5.0 and named.step == 3
