"""``python -m napari_pn2v.cli`` (as torchrun starts it): the ``pn2v`` command line."""

import sys

from . import main

sys.exit(main())
