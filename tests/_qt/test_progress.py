"""The progress bar paints with the window's next update, not inside setValue."""

from qtpy.QtWidgets import QProgressBar

from napari_pn2v._qt.progress import ProgressBar


def _counting(base):
    class Counting(base):
        paints = 0

        def paintEvent(self, event):
            type(self).paints += 1
            super().paintEvent(event)

    return Counting


def test_a_new_value_is_painted_later_not_at_once(qtbot):
    for base, painted_at_once in ((QProgressBar, True), (ProgressBar, False)):
        bar = _counting(base)(format="step %v/%m")
        qtbot.addWidget(bar)
        bar.setRange(0, 10)
        bar.show()
        qtbot.waitExposed(bar)
        qtbot.wait(50)
        before = bar.paints
        bar.setValue(3)
        assert (bar.paints > before) is painted_at_once  # Qt's own bar repaints at once
        assert bar.value() == 3 and bar.text() == "step 3/10"
        qtbot.waitUntil(lambda bar=bar, before=before: bar.paints > before, timeout=2000)
