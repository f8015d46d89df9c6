"""Training in several processes (torchrun's setting), here CPU processes over gloo."""

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from napari_pn2v.backend import ModelConfig, TrainConfig, Trainer
from napari_pn2v.backend.training.distributed import finish, mean_over_processes, world
from tests.conftest import TINY_NET, TINY_TRAINING


def _train(rank: int, size: int, init_file: str, images: np.ndarray, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=size)
    assert world() == (rank, size)
    assert mean_over_processes(float(rank), torch.device("cpu")) == (size - 1) / 2
    trainer = Trainer(images, TrainConfig(**TINY_TRAINING), ModelConfig(mode="n2v", **TINY_NET))
    losses = [event.train_loss for event in trainer]
    torch.save(
        {
            "state": trainer.last_model().net.state_dict(),
            "losses": losses,
            "best": trainer.best_val_loss,
        },
        f"{out}/{rank}.pt",
    )
    finish()  # together, as the CLI leaves: an early leaver can abort the other


def test_processes_draw_their_own_patches_and_keep_one_model(noisy, tmp_path):
    mp.spawn(_train, args=(2, str(tmp_path / "init"), noisy, str(tmp_path)), nprocs=2)
    first, second = (torch.load(tmp_path / f"{r}.pt", weights_only=True) for r in (0, 1))
    assert first["losses"] != second["losses"]  # other patches in each process…
    for name, weight in first["state"].items():  # …but gradients averaged: the same weights
        torch.testing.assert_close(weight, second["state"][name], msg=name)
    assert first["best"] == second["best"]  # validation averaged: one schedule, one best
    alone = Trainer(noisy, TrainConfig(**TINY_TRAINING), ModelConfig(mode="n2v", **TINY_NET))
    alone.run()
    assert not torch.allclose(
        alone.last_model().net.head.weight, first["state"]["head.weight"]
    )  # it did train differently
