"""Data parallelism over processes started by ``torchrun`` or ``accelerate launch``.

A plain ``srlm`` process is not *launched*: every helper here is then the identity (one
process, no communication, nothing of Accelerate initialised), so a single-process run is
unchanged.  Under a launcher (``LOCAL_RANK`` set, world size N >= 1) Hugging Face Accelerate's
``accelerate.PartialState`` holds the process group (gloo on CPUs, NCCL on GPUs, one GPU
per process):

* :func:`srlm_core.parallel.map_blocks` shards work (generation, judging,
  log-likelihoods) over the ranks in whole blocks and gathers the results on every rank, in
  order;
* :func:`srlm_core.parallel.block_seed` derives a seed per block, so that a block's samples
  do not depend on which rank drew it (the same for every N);
* :func:`srlm_core.parallel.sum_across` adds tensors over the ranks (the gradients of a
  data-parallel step);
* :func:`srlm_core.parallel.is_main` and :func:`srlm_core.parallel.barrier`: rank 0 alone
  writes checkpoints, records and progress; the other ranks wait.
"""

from __future__ import annotations

import hashlib
import os

import torch

from srlm_core.errors import ConfigError


def launched() -> bool:
    """Whether this process was started by ``torchrun`` or ``accelerate launch``."""
    return "LOCAL_RANK" in os.environ


def state(cpu: bool | None = None):
    """Accelerate's process state (process group initialised on first use), or None when not
    :func:`srlm_core.parallel.launched`.  ``cpu`` forces the gloo backend (default: CPU
    unless a GPU is present)."""
    if not launched():
        return None
    from accelerate import PartialState

    if cpu is None:
        cpu = not torch.cuda.is_available()
    return PartialState(cpu=cpu)


def world_size() -> int:
    """Number of processes (1 when not launched)."""
    s = state()
    return 1 if s is None else s.num_processes


def rank() -> int:
    """This process's index (0 when not launched)."""
    s = state()
    return 0 if s is None else s.process_index


def is_main() -> bool:
    """Whether this process writes files and progress output (rank 0)."""
    return rank() == 0


def quiet() -> dict:
    """Keyword arguments that turn a ``tqdm`` bar off on ranks other than 0 (none on rank 0,
    which keeps the ``TQDM_DISABLE`` default)."""
    return {} if is_main() else {"disable": True}


def barrier() -> None:
    """Wait until every rank gets here (a no-op in one process)."""
    s = state()
    if s is not None and s.num_processes > 1:
        s.wait_for_everyone()


def require_divisible(field: str, value: int) -> int:
    """``value`` divided by the world size; ConfigError naming ``field`` when it does not
    divide."""
    n = world_size()
    if value % n:
        raise ConfigError(field, f"{value} is not divisible by the {n} processes of this launch")
    return value // n


def block_seed(seed: int, block: int) -> int:
    """A seed for block ``block`` of a job seeded with ``seed`` (62 bits of a hash)."""
    digest = hashlib.sha256(f"{seed}:{block}".encode()).hexdigest()
    return int(digest[:15], 16)


def map_blocks(fn, n_items: int, block_size: int, desc: str | None = None,
               progress: bool = True) -> list:
    """``fn(start, stop)`` over the blocks ``[start, stop)`` of ``range(n_items)``, each
    returning a list; the concatenation in item order (a progress bar ``desc`` on rank 0,
    unless ``progress`` is false).
    Launched, the blocks are split contiguously over the ranks and every rank receives the
    whole result."""
    from tqdm import tqdm

    blocks = [(s, min(s + block_size, n_items)) for s in range(0, n_items, block_size)]
    s = state()
    if s is None or s.num_processes == 1:
        return [x for start, stop in tqdm(blocks, desc=desc, leave=False, disable=not progress)
                for x in fn(start, stop)]
    from accelerate.utils import gather_object

    with s.split_between_processes(blocks) as mine:
        local = [x for start, stop in tqdm(mine, desc=desc, leave=False,
                                           **(quiet() if progress else {"disable": True}))
                 for x in fn(start, stop)]
    return gather_object(local)


def sum_across(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the ranks (itself in one process)."""
    if world_size() == 1:
        return tensor
    from accelerate.utils import reduce

    return reduce(tensor, reduction="sum")
