"""Training on several GPUs, or CPU processes, started by ``torchrun``.

Every process reads the same images, builds the same model (DistributedDataParallel copies
rank 0's weights to the others), draws its own patches and averages gradients with the others
at each step: the effective batch is ``batch_size`` × processes. Validation losses are averaged
too, so the learning-rate schedule and the best model agree everywhere; rank 0 writes the model
file, which is the same kind of file a single process writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Process:
    rank: int
    world_size: int
    local_rank: int


def init_from_env() -> Process | None:
    """Join the process group that torchrun describes in the environment (NCCL on GPUs, else
    gloo); None when this process runs alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if cuda else "gloo")
    return Process(dist.get_rank(), dist.get_world_size(), local_rank)


def world() -> tuple[int, int]:
    """(rank, number of processes) of the current process group; (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def mean_over_processes(value: float, device: torch.device) -> float:
    """The mean of ``value`` over all processes (itself without a process group)."""
    size = world()[1]
    if size == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / size


class ForOneProcess(nn.Module):
    """Stands where DistributedDataParallel would, so both are called and unwrapped alike."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: torch.Tensor | bool) -> torch.Tensor:
        return self.module(*args)


def for_processes(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` as training calls it: in a process group wrapped in DistributedDataParallel
    (gradients averaged over the processes at every step), else as it is; either way its
    ``.module`` is ``module``."""
    if world()[1] == 1:
        return ForOneProcess(module)
    if device.type != "cuda":
        return DistributedDataParallel(module)
    index = device.index if device.index is not None else torch.cuda.current_device()
    return DistributedDataParallel(module, device_ids=[index])


def finish(together: bool = True) -> None:
    """Leave the process group. ``together``: wait for every process first — one that tears
    down its connections while another still holds them can abort (gloo: "terminate called
    without an active exception", ~1 run in 20 on CPU). After an error, leave at once: the
    others may never arrive."""
    if dist.is_available() and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()
