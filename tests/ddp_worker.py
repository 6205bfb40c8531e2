"""A torch.multiprocessing entry point for the two-process DDP test (one Trainer per rank)."""

from __future__ import annotations

import os


def run_rank(rank: int, world: int, port: int, config_json: str, run_dir: str, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    import torch
    import torch.distributed as dist
    from safetensors.torch import save_file

    from core.training.config import TrainConfig
    from core.training.trainer import Trainer

    torch.set_num_threads(1)
    trainer = Trainer(TrainConfig.from_dict(__import__("json").loads(config_json)), run_dir)
    trainer.run()
    state = {k: v.detach().cpu().contiguous() for k, v in trainer.model.state_dict().items()}
    save_file(state, os.path.join(out_dir, f"rank{rank}.safetensors"))
    dist.destroy_process_group()
