"""The ``pn2v`` command line: a thin layer over the job layer (:mod:`napari_pn2v.jobs`).

Bad input ends in one line on stderr and a non-zero exit status, never a traceback. Building
the parser imports no torch, so ``pn2v --help`` and argument errors answer at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import commands
from .parser import build_parser

EXIT_ERROR = 1
COMMANDS = {
    "noise-model": commands.noise_model,
    "train": commands.train,
    "predict": commands.predict,
    "export": commands.export,
    "demo": commands.demo,
}
OUT_OF_MEMORY = "out of memory; use a smaller --batch-size, --patch-size or --tile"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..backend.errors import PN2VError

    try:
        return COMMANDS[args.command](args)
    except PN2VError as error:
        message = str(error)
    except KeyboardInterrupt:
        print("pn2v: interrupted", file=sys.stderr)
        return commands.EXIT_INTERRUPTED
    except MemoryError:
        message = OUT_OF_MEMORY
    except OSError as error:
        message = f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
    except RuntimeError as error:  # torch reports device out-of-memory as RuntimeError
        if "out of memory" not in str(error).lower():
            raise
        message = OUT_OF_MEMORY
    print(f"pn2v: error: {message}", file=sys.stderr)
    return EXIT_ERROR
