"""The job layer: one place per verb — build a noise model, train, predict — between the
engine (:mod:`napari_pn2v.backend`) and the front ends (the ``pn2v`` command line and the
widgets), which only fill in a job and show its progress. Qt-free.
"""
