/**
 * The exported `train.py`: trains `model.py`'s network with DistributedDataParallel under
 * `torchrun` (or in one process without it), as gradlab's `createTrainer({ workers })` trains
 * data-parallel. Python source, the same for every spec.
 */
export const TORCH_TRAIN = String.raw`r"""Train the exported gradlab model, on one process or many machines (DistributedDataParallel).

    torchrun --standalone --nproc_per_node 2 train.py --x x.npy --y y.npy \
        --epochs 5 --batch-size 64 --out trained.safetensors
    torchrun --nnodes 4 --node_rank R --master_addr HOST --master_port 29500 \
        --nproc_per_node 8 train.py ...                       # several machines
    python3 train.py --x x.npy --y y.npy ...                   # one process, no torchrun

(Debian 12's torchrun, torch 1.13 on Python 3.11, fails to parse its default output options
with "'NoneType' object has no attribute 'get'": add --redirects 1 --tee 1.)

The data: --x and --y are .npy files or .safetensors files (a tensor named x or y, or the only
one); the first axis is the example. y holds class indices for softmaxCrossEntropy, values
shaped like the output otherwise. Training starts from --weights (default: weights.safetensors
next to this file when it exists, else build_model()'s initialisation, seeded by --seed) and
rank 0 writes the result to --out, which gradlab loads: model.loadStateDict(fromSafetensors(bytes)).

As gradlab's createTrainer({ workers: N }): every global batch of --batch-size rows is split
into N contiguous shards (the first ones a row longer), each process computes its shard's
gradients, and the update is their average weighted by rows. BatchNorm normalises each shard
with its own statistics (no SyncBatchNorm); the running statistics are rank 0's, which DDP
broadcasts. The backend is nccl when CUDA is there (one GPU per process), gloo otherwise.
"""

import argparse
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as exported  # noqa: E402 (model.py lies next to this file)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--x', required=True, help='inputs: .npy or .safetensors, [examples, *INPUT_SHAPE]')
    parser.add_argument('--y', required=True, help='targets: .npy or .safetensors, one row per example')
    parser.add_argument('--weights', help='starting weights (gradlab safetensors)')
    parser.add_argument('--out', default='trained.safetensors', help='where rank 0 writes the trained weights')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=32, help='the global batch, over all processes')
    parser.add_argument('--shuffle', action='store_true', help='a new order every epoch, the same on every process')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.weights is None and os.path.exists(os.path.join(HERE, 'weights.safetensors')):
        args.weights = os.path.join(HERE, 'weights.safetensors')
    return args


def shard(rows, rank, world):
    """[begin, end) of rank's contiguous shard of rows, the first shards one row longer (gradlab's shardsOf)."""
    base, extra = divmod(rows, world)
    begin = rank * base + min(rank, extra)
    return begin, begin + base + (1 if rank < extra else 0)


def main():
    args = parse_args()
    distributed = 'WORLD_SIZE' in os.environ
    device = torch.device('cpu')
    if distributed:
        dist.init_process_group('nccl' if torch.cuda.is_available() else 'gloo')
        if torch.cuda.is_available():
            device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))
            torch.cuda.set_device(device)
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1

    torch.manual_seed(args.seed)
    module = exported.build_model().to(device)
    if args.weights:
        exported.load_weights(module, args.weights)
    x = exported.read_array(args.x, 'x').to(device, torch.float32)
    y = exported.read_array(args.y, 'y').to(device)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f'--x has {x.shape[0]} examples, --y {y.shape[0]}')
    if list(x.shape[1:]) != exported.INPUT_SHAPE:
        raise ValueError(f'--x has examples of shape {list(x.shape[1:])}, the model takes {exported.INPUT_SHAPE}')
    if args.batch_size < world:
        raise ValueError(f'--batch-size {args.batch_size} leaves some of the {world} processes without rows')

    device_ids = [device.index] if device.type == 'cuda' else None
    network = DistributedDataParallel(module, device_ids=device_ids) if distributed else module
    reduce = None
    if distributed:
        def reduce(value):
            dist.all_reduce(value)
            return value
    optimizer = exported.make_optimizer(module)
    rows = x.shape[0]
    step = 0
    for epoch in range(args.epochs):
        started = time.time()
        if args.shuffle:
            order = torch.randperm(rows, generator=torch.Generator().manual_seed(args.seed + epoch)).to(device)
        else:
            order = torch.arange(rows, device=device)
        total, batches, refused = 0.0, 0, 0
        for begin in range(0, rows, args.batch_size):
            batch = order[begin:begin + args.batch_size]
            if len(batch) < world:
                break  # a last batch too small to give every process a row
            low, high = shard(len(batch), rank, world)
            rows_here = batch[low:high]
            result = exported.train_step(module, optimizer, x[rows_here], y[rows_here], step,
                                         forward=network, share=len(rows_here) / len(batch), reduce=reduce)
            if result['applied']:
                step += 1
                total += result['loss']
                batches += 1
            else:
                refused += 1
        if rank == 0:
            seconds = time.time() - started
            note = f', {refused} steps refused (non-finite)' if refused else ''
            mean = total / batches if batches else float('nan')
            print(f'epoch {epoch + 1}/{args.epochs}: loss {mean:.6g} over {batches} steps of '
                  f'{args.batch_size} rows on {world} processes, {rows / seconds:.0f} examples/s{note}',
                  flush=True)
    if rank == 0:
        exported.save_weights(module, args.out)
        print(f'wrote {args.out} ({step} steps)', flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
`;
