"""N2V against the default PN2V without calibration, paired by seed, on the low-SNR dev set.

The path a user without calibration data takes (``pn2v train --bootstrap gmm`` or the widgets'
bootstrap): N2V trained on the 4 noisy frames of one FMD type (../shared/data/fmd-lowsnr), a GMM
fitted to its predictions, PN2V trained with it. The bootstrap's N2V *is* the paired baseline:
the same seed, settings and patches as the PN2V training (tests/jobs/test_noise_model.py checks
that it equals an N2V trained alone), so PN2V − N2V is measured on one draw of the data.

Each frame is scored two ways (range 255): *fitted* — against the 50-frame average fitted to the
frame by a gain and an offset (the frames drift; benchmarks.lowsnr's protocol), and *plain* —
against the 50-frame average as it is, the output clipped to [0, 255], as the published FMD
single-image numbers are computed.

    python -m benchmarks.paired --type Confocal_MICE --seed 0 [--preset quick]
    python -m benchmarks.paired --type Confocal_MICE --seed 0 --precision bfloat16  # adds
    python -m benchmarks.paired --type Confocal_MICE --seed 0 --precision bfloat16 \
        --start-lr-factor 0.2  # adds PN2V from N2V at a fifth of the rate

Every arm trains in float32 (the default on CPUs without AMX units) whatever this CPU has,
and PN2V from N2V at the full learning rate (``start_lr_factor`` 1, the default), as the
files' arms were measured; ``--precision bfloat16`` adds the default path trained in bfloat16
(the default with them), and with ``--start-lr-factor`` PN2V from N2V at that fraction of it.

Writes benchmarks/results/paired-<type>-<preset>-seed<N>.json; ``python -m benchmarks.report``
puts the table (means over seeds, the paired difference's spread) into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from napari_pn2v.backend import ModelConfig, PN2VModel, predict
from napari_pn2v.backend.data.images import read_image
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.training.config import preset
from napari_pn2v.jobs import NoiseModelJob, TrainingJob

from .lowsnr import DATA, TYPES, load
from .quality import RESULTS, cpu_name

#: the fit the widgets and ``pn2v train --bootstrap`` default to
FIT = "gmm"
#: how the files' own arms were measured, whatever this CPU has and the defaults are now:
#: float32 (the default without AMX units; ``--precision`` adds the other) and PN2V from N2V at
#: the full rate (``start_lr_factor`` 1, the default; ``--start-lr-factor`` adds another), on
#: the images themselves (``shuffle`` 1; ``--variant`` adds the automatic pixel shuffle)
MEASURED = {"precision": "float32", "start_lr_factor": 1.0, "shuffle": 1}


def in_precision(arm: str, precision: str) -> str:
    """A file's name of ``arm`` trained in ``precision``: its own arms carry no suffix."""
    return arm if precision == MEASURED["precision"] else f"{arm}_{precision}"


def _config(preset_name: str, seed: int, **changes: object):
    """The preset's configuration as the files' arms were measured, with ``changes``."""
    return preset(preset_name, **(MEASURED | {"seed": seed} | changes))


def result_path(kind: str, preset_name: str, seed: int):
    return RESULTS / f"paired-{kind}-{preset_name}-seed{seed}.json"


def scores(outputs: list[dict], fitted: np.ndarray, average: np.ndarray) -> dict:
    """Per-frame PSNR (fitted and plain protocols) of each output in ``outputs`` (one dict of
    images per frame)."""
    out: dict[str, list[float]] = {}
    for images, reference in zip(outputs, fitted, strict=True):
        for key, image in images.items():
            out.setdefault(f"{key}_fitted", []).append(psnr(reference, image, 255))
            out.setdefault(f"{key}_plain", []).append(psnr(average, np.clip(image, 0, 255), 255))
    return out


def predictions(model, raw: np.ndarray) -> tuple[list[dict], float]:
    """Each frame's outputs (denoised; PN2V's prior mean too) and the seconds per frame."""
    start = time.perf_counter()
    outputs = []
    for frame in raw:
        result = predict(model, frame.astype(np.float32))
        outputs.append({k: result[k] for k in ("denoised", "prior_mean") if k in result})
    return outputs, (time.perf_counter() - start) / len(raw)


def _frames(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One type's noisy frames, their fitted references, the 50-frame average (the plain
    protocol's reference) and the frames as float32 training images."""
    raw, fitted = load(kind)
    average = read_image(DATA / kind / "gt" / "avg50.png").astype(np.float32)
    return raw, fitted, average, raw.astype(np.float32)


def _train_pn2v(
    images: np.ndarray, config, noise_model, start_from=None, network: ModelConfig | None = None
):
    """PN2V trained with ``noise_model`` (from scratch, or from the N2V ``start_from``) and
    the seconds it took."""
    start = time.perf_counter()
    network = network or ModelConfig(mode="pn2v")
    job = TrainingJob([images], config, network, noise_model=noise_model)
    job.start_from = start_from
    return job.run(), time.perf_counter() - start


def _arm(model, raw, fitted, average, seconds: float) -> dict:
    outputs, predict_seconds = predictions(model, raw)
    scored = scores(outputs, fitted, average)
    timed = {"predict_seconds": predict_seconds, "train_seconds": seconds}
    if model.is_probabilistic:  # 0: the start from N2V was kept (trainer's bound)
        timed["epochs_kept"] = model.epochs_trained
    return scored | timed, outputs


def run(
    kind: str,
    seed: int,
    preset_name: str,
    save: Path | None = None,
    scratch: bool = True,
    **changes: object,
) -> dict:
    """N2V (the bootstrap's) and PN2V started from it; with ``scratch`` PN2V from a fresh
    network too, and the average of N2V's and its outputs; trained as the files' arms were
    measured, with ``changes`` to the configuration (``precision="bfloat16"``, …)."""
    raw, fitted, average, images = _frames(kind)
    config = _config(preset_name, seed, **changes)
    start = time.perf_counter()
    made = NoiseModelJob("bootstrap", images=[images], fit=FIT, training=config).run()
    bootstrap_seconds = time.perf_counter() - start
    started, started_seconds = _train_pn2v(images, config, made.model, made.n2v)
    n2v_scores, n2v_out = _arm(made.n2v, raw, fitted, average, bootstrap_seconds)
    result = {
        "type": kind,
        "preset": preset_name,
        "seed": seed,
        "fit": FIT,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{cpu_name()}, {torch.get_num_threads()} threads, cpu",
        "noise_model": made.model.summary(),
        "bootstrap_seconds": bootstrap_seconds,
        "input_fitted": [psnr(r, f, 255) for f, r in zip(raw, fitted, strict=True)],
        "input_plain": [psnr(average, f, 255) for f in raw],
        "n2v": n2v_scores,
        "pn2v_from_n2v": _arm(started, raw, fitted, average, started_seconds)[0],
    }
    if save is not None:  # for prediction-time levers scored later
        made.n2v.save(save / f"{kind}-{preset_name}-seed{seed}-n2v.pt")
        started.save(save / f"{kind}-{preset_name}-seed{seed}-pn2v-from-n2v.pt")
    if scratch:
        pn2v, pn2v_seconds = _train_pn2v(images, config, made.model)
        result["pn2v_seconds"] = pn2v_seconds
        result["pn2v"], pn2v_out = _arm(pn2v, raw, fitted, average, pn2v_seconds)
        # the two networks, averaged: a lever measured beside them
        both = [
            {"denoised": (a["denoised"] + b["denoised"]) / 2}
            for a, b in zip(n2v_out, pn2v_out, strict=True)
        ]
        result["n2v_pn2v_average"] = scores(both, fitted, average)
        if save is not None:
            pn2v.save(save / f"{kind}-{preset_name}-seed{seed}-pn2v.pt")
    return result


def _largest_difference(scores: list[float], earlier: list[float]) -> float:
    """How far an N2V made again scores from the earlier run's, frame by frame (dB): 0 when
    the same seed, CPU and network reproduce it."""
    return float(np.max(np.abs(np.subtract(scores, earlier))))


def add_started(kind: str, seed: int, preset_name: str, models: Path | None) -> dict:
    """An earlier run's file with PN2V started from its N2V added: the N2V and noise model
    read from ``models`` (saved by that run), or made again by the same bootstrap (its N2V
    scores are checked against the file's: same seed, same CPU, same network)."""
    result = json.loads(result_path(kind, preset_name, seed).read_text())
    raw, fitted, average, images = _frames(kind)
    config = _config(preset_name, seed)
    saved = None if models is None else models / f"{kind}-{preset_name}-seed{seed}-n2v.pt"
    if saved is not None and saved.exists():
        n2v = PN2VModel.load(saved)
        pn2v = str(saved).replace("-n2v.pt", "-pn2v.pt")
        noise_model = PN2VModel.load(pn2v).noise_model
    else:
        made = NoiseModelJob("bootstrap", images=[images], fit=FIT, training=config).run()
        n2v, noise_model = made.n2v, made.model
        again = scores(predictions(n2v, raw)[0], fitted, average)["denoised_fitted"]
        result["n2v_made_again_differs_by"] = _largest_difference(
            again, result["n2v"]["denoised_fitted"]
        )
    started, seconds = _train_pn2v(images, config, noise_model, n2v)
    result["pn2v_from_n2v"] = _arm(started, raw, fitted, average, seconds)[0]
    return result


def add_precision(kind: str, seed: int, preset_name: str, precision: str) -> dict:
    """An earlier run's file with the default path trained in ``precision`` added beside its
    float32 arms, the same seed: ``n2v_<precision>`` and ``pn2v_from_n2v_<precision>``."""
    result = json.loads(result_path(kind, preset_name, seed).read_text())
    again = run(kind, seed, preset_name, None, False, precision=precision)
    return result | precision_arms(again, precision)


def start_rate_arm(precision: str, factor: float) -> str:
    """The arm of PN2V from N2V trained in ``precision`` at ``factor`` × the rate."""
    return f"pn2v_from_n2v_{precision}_start{factor:g}"


def add_start_rate(kind: str, seed: int, preset_name: str, precision: str, factor: float) -> dict:
    """An earlier run's file with PN2V from N2V trained in ``precision`` at ``factor`` × the
    learning rate added (:func:`start_rate_arm`), paired with the file's arms in that
    precision: the same bootstrap again, whose N2V must equal the file's N2V in it."""
    result = json.loads(result_path(kind, preset_name, seed).read_text())
    again = run(kind, seed, preset_name, None, False, precision=precision, start_lr_factor=factor)
    arm = start_rate_arm(precision, factor)
    result[arm] = again["pn2v_from_n2v"]
    result[f"{arm}_date"], result[f"{arm}_machine"] = again["date"], again["machine"]
    result[f"{arm}_n2v_differs_by"] = _largest_difference(
        again["n2v"]["denoised_fitted"], result[in_precision("n2v", precision)]["denoised_fitted"]
    )
    return result


#: default paths with these changes to the files' arms (``--variant``): the automatic
#: pixel-shuffle stride (backend/training/stride.py), at the full rate or a fifth of it
VARIANTS = {
    "shuffled": {"shuffle": None},
    "shuffled_start0.2": {"shuffle": None, "start_lr_factor": 0.2},
}


def add_variant(kind: str, seed: int, preset_name: str, precision: str, name: str) -> dict:
    """An earlier run's file with the default path trained in ``precision`` with
    :data:`VARIANTS`' ``name`` added: ``n2v_<precision>_<name>``, ``pn2v_from_n2v_...``."""
    result = json.loads(result_path(kind, preset_name, seed).read_text())
    again = run(kind, seed, preset_name, None, False, precision=precision, **VARIANTS[name])
    return result | precision_arms(again, f"{precision}_{name}")


def precision_arms(result: dict, precision: str) -> dict:
    """A default-path run's arms, date and machine, named for the ``precision`` it took."""
    return {
        f"n2v_{precision}": result["n2v"],
        f"pn2v_from_n2v_{precision}": result["pn2v_from_n2v"],
        f"{precision}_date": result["date"],
        f"{precision}_machine": result["machine"],
    }


#: N2V2's changes by part: (the network's, the masked pixels' replacement); "both" is N2V2
N2V2_PARTS = {"both": (True, "median"), "network": (True, "neighbour"), "median": (False, "median")}


def add_n2v2(
    kind: str,
    seed: int,
    preset_name: str,
    part: str = "both",
    n2v_only: bool = False,
    pn2v_replacement: str | None = None,
) -> dict:
    """An earlier run's file with N2V2's arms added (Höck et al. 2022: its network and the
    median replacement), the rest of the default path unchanged, the same seed as the file's
    N2V: the bootstrap's N2V as ``n2v2`` (one ``part`` alone: ``n2v2_<part>``) and, unless
    ``n2v_only``, PN2V started from it as ``pn2v_from_`` that arm (trained with
    ``pn2v_replacement``'s masking instead where given: ``pn2v_<replacement>_from_`` it)."""
    result = json.loads(result_path(kind, preset_name, seed).read_text())
    raw, fitted, average, images = _frames(kind)
    network_changed, replacement = N2V2_PARTS[part]
    config = _config(preset_name, seed, replacement=replacement)
    network = ModelConfig(mode="pn2v", n2v2=network_changed)
    start = time.perf_counter()
    made = NoiseModelJob(
        "bootstrap", images=[images], fit=FIT, training=config, network=network
    ).run()
    seconds = time.perf_counter() - start
    arm = "n2v2" if part == "both" else f"n2v2_{part}"
    result[arm] = _arm(made.n2v, raw, fitted, average, seconds)[0]
    if not n2v_only:
        training = (
            config if pn2v_replacement is None else replace(config, replacement=pn2v_replacement)
        )
        started, seconds = _train_pn2v(images, training, made.model, made.n2v, network)
        name = "pn2v" if pn2v_replacement is None else f"pn2v_{pn2v_replacement}"
        result[f"{name}_from_{arm}"] = _arm(started, raw, fitted, average, seconds)[0]
    result[f"{arm}_date"] = time.strftime("%Y-%m-%d")
    result[f"{arm}_machine"] = f"{cpu_name()}, {torch.get_num_threads()} threads, cpu"
    return result


def with_earlier(
    result: dict, arm: str, n2v_arm: str | None = None, reproduces: str = "n2v"
) -> dict:
    """``result`` over the earlier file of its type, preset and seed: that file's arms that
    this run did not train are kept, its PN2V from N2V renamed ``arm`` (a version before a
    change of the default path) and, with ``n2v_arm``, its N2V renamed so; and how far this
    run's N2V is from the earlier arm it should reproduce (``reproduces``: the same settings,
    seed and CPU give the same N2V)."""
    path = result_path(result["type"], result["preset"], result["seed"])
    earlier = json.loads(path.read_text())
    if "pn2v_from_n2v" in earlier:
        earlier[arm] = earlier.pop("pn2v_from_n2v")
    if n2v_arm is not None:  # the earlier default's N2V, and where and when it ran
        earlier[n2v_arm] = earlier.pop("n2v")
        earlier["earlier_machine"], earlier["earlier_date"] = earlier["machine"], earlier["date"]
    # about the earlier run's minutes; a file converted before keeps its own
    if "note" in earlier and n2v_arm is None and "earlier_note" not in earlier:
        earlier["earlier_note"] = earlier.pop("note")
    earlier.pop("n2v_made_again_differs_by", None)  # the earlier run's own check
    if reproduces in earlier:  # named as after the renaming above
        result["n2v_made_again_differs_by"] = _largest_difference(
            result["n2v"]["denoised_fitted"], earlier[reproduces]["denoised_fitted"]
        )
    return earlier | result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--type", choices=TYPES, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="quick", choices=("quick", "paper"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--save-models", type=Path, help="also save both models in this folder")
    parser.add_argument(
        "--no-scratch",
        action="store_true",
        help="train PN2V from the N2V only (the default path), not also from scratch",
    )
    parser.add_argument(
        "--add-started",
        action="store_true",
        help="add PN2V started from the N2V to an earlier run's file (its models from "
        "--save-models' folder where saved there, else the same bootstrap again)",
    )
    parser.add_argument(
        "--n2v2",
        nargs="?",
        const="both",
        choices=tuple(N2V2_PARTS),
        help="add N2V2's N2V and PN2V started from it to an earlier run's file; 'network' "
        "or 'median': that change alone",
    )
    parser.add_argument(
        "--n2v-only", action="store_true", help="with --n2v2: the N2V only, no PN2V from it"
    )
    parser.add_argument(
        "--precision",
        choices=("bfloat16", "float32"),
        help="add the default path trained in this arithmetic to an earlier run's file (its "
        "own arms train in float32; bfloat16 is the default on CPUs with AMX units); float32"
        " only with --start-lr-factor",
    )
    parser.add_argument(
        "--start-lr-factor",
        type=float,
        metavar="F",
        help="with --precision: add PN2V from N2V trained at F × the learning rate to a file "
        "that holds that precision's arms (the files' own arms: the full rate)",
    )
    parser.add_argument(
        "--variant",
        choices=tuple(VARIANTS),
        help="with --precision: add the default path with these changes (shuffled: the "
        "automatic pixel-shuffle stride; shuffled_start0.2: and a fifth of the rate)",
    )
    parser.add_argument(
        "--pn2v-replacement",
        choices=("neighbour", "median"),
        help="with --n2v2: train the PN2V from it with this replacement instead",
    )
    parser.add_argument(
        "--earlier-as",
        metavar="ARM",
        help="keep the earlier file's arms, its PN2V from N2V under this name",
    )
    parser.add_argument(
        "--earlier-n2v-as",
        metavar="ARM",
        help="with --earlier-as: keep the earlier file's N2V too, under this name",
    )
    parser.add_argument(
        "--reproduces",
        metavar="ARM",
        default="n2v",
        help="with --earlier-as: the earlier file's arm this run's N2V should equal (its "
        "name after --earlier-n2v-as)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.add_started:
        result = add_started(args.type, args.seed, args.preset, args.save_models)
    elif args.precision and args.variant:
        result = add_variant(args.type, args.seed, args.preset, args.precision, args.variant)
    elif args.precision and args.start_lr_factor is not None:
        result = add_start_rate(
            args.type, args.seed, args.preset, args.precision, args.start_lr_factor
        )
    elif args.precision == MEASURED["precision"]:
        parser.error("--precision float32 adds only with --start-lr-factor")
    elif args.precision:
        result = add_precision(args.type, args.seed, args.preset, args.precision)
    elif args.n2v2:
        result = add_n2v2(
            args.type, args.seed, args.preset, args.n2v2, args.n2v_only, args.pn2v_replacement
        )
    else:
        result = run(args.type, args.seed, args.preset, args.save_models, not args.no_scratch)
        if args.earlier_as:
            result = with_earlier(result, args.earlier_as, args.earlier_n2v_as, args.reproduces)
    RESULTS.mkdir(exist_ok=True)
    path = result_path(args.type, args.preset, args.seed)
    path.write_text(json.dumps(result, indent=2))
    n2v = "n2v" if args.n2v2 is None else "n2v2" if args.n2v2 == "both" else f"n2v2_{args.n2v2}"
    if args.precision:
        n2v = in_precision("n2v", args.precision)
        n2v += f"_{args.variant}" if args.variant else ""
    arms = [n2v, f"pn2v_from_{n2v}", f"pn2v_{args.pn2v_replacement}_from_{n2v}"]
    if args.precision and args.start_lr_factor is not None:
        arms.append(start_rate_arm(args.precision, args.start_lr_factor))
    for arm in arms:
        if arm in result:
            score = np.mean(result[arm]["denoised_fitted"])
            print(f"{args.type} seed {args.seed}: {arm} {score:.2f} dB")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
