"""Files the command-line tests read: a calibration stack, noisy images, a signal."""

import pytest
import tifffile


@pytest.fixture
def files(tmp_path, calibration, noisy):
    tifffile.imwrite(tmp_path / "calib.tif", calibration)
    tifffile.imwrite(tmp_path / "noisy.tif", noisy)
    tifffile.imwrite(tmp_path / "signal.tif", calibration.mean(0))
    tifffile.imwrite(tmp_path / "single.tif", noisy[0])
    return tmp_path
