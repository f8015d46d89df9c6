#!/usr/bin/env bash
# The README's set-up, in a virtual environment (.venv; PEP 668 forbids pip in the system
# Python of Debian, Ubuntu and Homebrew), at the versions constraints.txt was tested with.
#
#   bash scripts/setup.sh run    install napari-pn2v with napari, then open napari with the
#                                three widgets where there is a screen, else run `pn2v demo`
#   bash scripts/setup.sh test   install the test tools (and, with apt, the virtual screen's
#                                Debian packages), then pre-commit and the tests; arguments
#                                after `test` go to pytest
#
# PYTHON (default python3) makes the environment, VENV (default .venv) says where.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
shift || true
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

say() { echo "setup: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

case $mode in
run) extra="napari" ;;
test) extra="test" ;;
*)
    say "unknown mode '$mode': use 'run' or 'test'"
    exit 2
    ;;
esac

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "napari-pn2v needs Python 3.11 or newer; '$PYTHON' is not (set PYTHON=python3.12, …)"
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    # Debian and Ubuntu ship venv's pip bootstrap separately (python3-venv)
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        if ! command -v apt-get >/dev/null; then
            say "'$PYTHON -m venv' failed: install Python's venv module"
            exit 1
        fi
        say "installing python3-venv (apt)"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV"
    fi
fi
export PATH="$PWD/$VENV/bin:$PATH" # pre-commit's hooks run ruff from here
# the tested versions, for what is installed and for the build's own tools (hatchling)
export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_BUILD_CONSTRAINT="$PWD/constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1
say "installing napari-pn2v[$extra] into $VENV (versions: constraints.txt)"
python -m pip install -q -e ".[$extra]"

if [ "$mode" = run ]; then
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = Darwin ]; then
        exec napari -w napari-pn2v __all__
    fi
    say "no screen: running the headless demo"
    exec pn2v demo
fi

if [ "$(uname)" = Linux ]; then # widget tests need a real OpenGL screen: Xvfb
    packages=$(cat .ci/apt-packages.txt)
    # shellcheck disable=SC2086 # one word per package
    if command -v apt-get >/dev/null && ! dpkg-query -W $packages >/dev/null 2>&1; then
        say "installing a virtual screen's Debian packages (apt)"
        apt_install $packages
    fi
    run_tests=(xvfb-run -a python -m pytest)
else
    run_tests=(python -m pytest)
fi
pre-commit run --all-files
exec "${run_tests[@]}" "$@"
