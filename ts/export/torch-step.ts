/**
 * The part of an exported `model.py` that runs one gradlab `trainStep` in PyTorch, the same
 * for every spec (it calls the spec's `data_loss`, `penalty`, `learning_rate` and clipping
 * limits, which {@link ./torch.ts} generates). Python source, emitted verbatim.
 */
export const TORCH_STEP = String.raw`
# ---------------------------------------------------------------------------------------------
# One training step as gradlab's trainStep: forward (training mode), data loss + penalty,
# backward, the non-finite guard, clipping (norm, then value), the optimiser's update.
# ---------------------------------------------------------------------------------------------

def train_step(module, optimizer, x, y, step, forward=None, share=1.0, reduce=None):
    """One optimiser step on the batch (x, y); step counts the steps applied before it (for
    learning_rate). Returns {'loss', 'dataLoss', 'gradNorm', 'applied'}.

    Data parallel (train.py): forward is the DistributedDataParallel wrapper of module, share
    this process's rows over the global batch's, and reduce sums a tensor over the processes.
    The data loss is backpropagated times share * world size, so DDP's gradient mean is the
    row-weighted average of the shards' gradients, as gradlab's createTrainer({ workers }).

    The guard refuses a step whose loss or gradient norm is not finite: no parameter, buffer
    or optimiser state changes (gradlab also refuses an update that would overflow; this one
    does not look ahead).
    """
    forward = module if forward is None else forward
    world = 1 if reduce is None else dist.get_world_size()
    reduce = (lambda value: value) if reduce is None else reduce
    buffers = [buffer.detach().clone() for buffer in module.buffers()]
    module.train()
    for group in optimizer.param_groups:
        group['lr'] = learning_rate(step)
    optimizer.zero_grad()
    data = data_loss(forward(x), y)
    regularisation = penalty(module)
    (data * (share * world) + regularisation).backward()
    parameters = list(module.parameters())
    # The global L2 norm in float64, as gradlab sums squares.
    grad_norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in parameters)).item()
    data_mean = reduce((data * share).detach()).item()
    loss = data_mean + regularisation.item()
    result = {'loss': loss, 'dataLoss': data_mean, 'gradNorm': grad_norm, 'applied': False}
    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
        with torch.no_grad():
            for buffer, saved in zip(module.buffers(), buffers):
                buffer.copy_(saved)
        return result
    with torch.no_grad():
        if CLIP_NORM is not None:
            # torch.nn.utils.clip_grad_norm_'s rule, on the norm above.
            coefficient = CLIP_NORM / (grad_norm + 1e-6)
            if coefficient < 1:
                for p in parameters:
                    p.grad.mul_(coefficient)
        if CLIP_VALUE is not None:
            torch.nn.utils.clip_grad_value_(parameters, CLIP_VALUE)
    optimizer.step()
    result['applied'] = True
    return result
`;
