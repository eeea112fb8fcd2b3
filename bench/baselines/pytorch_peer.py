"""PyTorch as a benchmark peer: a JSON-lines server that bench/baselines/pytorch.mjs drives.

Node starts this once per benchmark process (Debian's /usr/bin/python3 with python3-torch) and
sends one JSON object per line; every request gets one JSON line back:

  {"cmd": "hello"}                                 -> torch version, BLAS, cores
  {"cmd": "prepare", "id": 3, "workload": {...}}   -> builds the model and data (see WORKLOADS)
  {"cmd": "turn", "id": 3, "ms": 50}              -> runs the workload until `ms` have passed
                                                      (at least once); {"meanMs", "runs"}
  {"cmd": "measure", "id": 3, "time": 1000, ...}  -> warm-up, then per-call samples;
                                                      {"medianMs", "samples"} (tinybench's rule)
  {"cmd": "dispose", "id": 3}
  {"cmd": "export_onnx", "model": {...}, "batch": 10} -> {"onnx": base64} with the given weights

Each workload carries its thread count ("threads": 1 or 0 for all cores): before every turn
the server sets both torch's intra-op threads and OpenBLAS's (Debian's torch reports BLAS
"generic" and does not set OpenBLAS's count itself, which would otherwise use every core).
Timing happens here, in Python, so a turn costs one message round trip, not one per call.
Data arrives as base64 little-endian float32/int32, so both sides train on the same numbers.
"""
import base64
import ctypes
import glob
import io
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def load_openblas():
    """The OpenBLAS the process has loaded (through libblas.so.3), or None."""
    try:
        with open('/proc/self/maps') as maps:
            paths = sorted({line.split()[-1] for line in maps if 'blas' in line.rsplit('/', 1)[-1] and '.so' in line})
    except OSError:
        paths = []
    for path in paths + glob.glob('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3'):
        try:
            library = ctypes.CDLL(path)
            library.openblas_set_num_threads  # noqa: B018 - probe the symbol
            return library, path
        except (OSError, AttributeError):
            continue
    return None, None


torch.zeros(2, 2) @ torch.zeros(2, 2)  # loads the BLAS
OPENBLAS, OPENBLAS_PATH = load_openblas()
CORES = os.cpu_count() or 1


def set_threads(threads):
    count = CORES if threads in (0, None) else threads
    torch.set_num_threads(count)
    if OPENBLAS is not None:
        OPENBLAS.openblas_set_num_threads(count)


def floats(data, shape):
    return torch.frombuffer(bytearray(base64.b64decode(data)), dtype=torch.float32).reshape(shape)


def ints(data, shape):
    return torch.frombuffer(bytearray(base64.b64decode(data)), dtype=torch.int32).reshape(shape).long()


ACTIVATIONS = {'sigmoid': torch.nn.Sigmoid, 'tanh': torch.nn.Tanh, 'relu': torch.nn.ReLU, 'elu': torch.nn.ELU, 'identity': torch.nn.Identity}


def mlp(sizes, activation):
    layers = []
    for index in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[index - 1], sizes[index]))
        if index < len(sizes) - 1:
            layers.append(ACTIVATIONS[activation]())
    return torch.nn.Sequential(*layers)


class LstmRegressor(torch.nn.Module):
    """LSTM (batch-first) -> last hidden state -> dense, as gradlab's [lstm, dense] spec."""

    def __init__(self, input_size, hidden, output):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden, batch_first=True)
        self.dense = torch.nn.Linear(hidden, output)

    def forward(self, x):
        sequence, _ = self.lstm(x)
        return self.dense(sequence[:, -1, :])


def build_model(model):
    """A torch module for gradlab's model description, with its state dict loaded if given."""
    if model['kind'] == 'mlp':
        module = mlp(model['sizes'], model['activation'])
        linears = [layer for layer in module if isinstance(layer, torch.nn.Linear)]
        names = {f'{index}.{part}': (linear, part) for index, linear in enumerate(linears) for part in ('weight', 'bias')}
    elif model['kind'] == 'lstm':
        module = LstmRegressor(model['inputSize'], model['hidden'], model['output'])
        names = {
            '0.weight_ih': (module.lstm, 'weight_ih_l0'), '0.weight_hh': (module.lstm, 'weight_hh_l0'),
            '0.bias_ih': (module.lstm, 'bias_ih_l0'), '0.bias_hh': (module.lstm, 'bias_hh_l0'),
            '1.weight': (module.dense, 'weight'), '1.bias': (module.dense, 'bias'),
        }
    else:
        raise ValueError(f"unknown model kind {model['kind']!r}")
    state = model.get('state')
    if state:
        with torch.no_grad():
            for name, entry in state.items():
                owner, attribute = names[name]
                parameter = getattr(owner, attribute)
                parameter.copy_(floats(entry['data'], entry['shape']))
    return module


def sgemm(workload):
    n = workload['n']
    generator = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=generator) * 2 - 1
    b = torch.rand(n, n, generator=generator) * 2 - 1
    a = a.t().contiguous().t() if workload.get('transA') else a
    b = b.t().contiguous().t() if workload.get('transB') else b
    out = torch.empty(n, n)
    return lambda: torch.mm(a, b, out=out)


def train_step(module, loss_of, lr):
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of()
        loss.backward()
        optimizer.step()
        return loss

    return step


def mlp_train(workload):
    module = build_model({'kind': 'mlp', 'sizes': workload['sizes'], 'activation': workload['activation']})
    x = floats(workload['x'], [workload['batch'], workload['sizes'][0]])
    y = ints(workload['y'], [workload['batch']])
    return train_step(module, lambda: F.cross_entropy(module(x), y), workload['lr'])


def lstm_train(workload):
    module = LstmRegressor(workload['inputSize'], workload['hidden'], workload['output'])
    x = floats(workload['x'], [workload['batch'], workload['steps'], workload['inputSize']])
    target = floats(workload['target'], [workload['batch'], workload['output']])
    return train_step(module, lambda: F.mse_loss(module(x), target), workload['lr'])


def batchnorm_train(workload):
    batch, features = workload['batch'], workload['features']
    norm = torch.nn.BatchNorm1d(features)
    x = floats(workload['x'], [batch, features]).requires_grad_()
    target = floats(workload['target'], [batch, features])

    def step():
        x.grad = None
        norm.zero_grad(set_to_none=True)
        loss = F.mse_loss(norm(x), target)
        loss.backward()
        return loss

    return step


def predict(workload):
    module = build_model(workload['model']).eval()
    x = floats(workload['x'], workload['shape'])

    def run():
        with torch.inference_mode():
            return module(x)

    return run


WORKLOADS = {'sgemm': sgemm, 'mlp_train': mlp_train, 'lstm_train': lstm_train, 'batchnorm_train': batchnorm_train, 'predict': predict}


def export_onnx(request):
    module = build_model(request['model']).eval()
    example = torch.zeros(request['shape'])
    buffer = io.BytesIO()
    torch.onnx.export(module, example, buffer, input_names=['x'], output_names=['y'], dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}}, opset_version=14)
    with torch.inference_mode():
        reference = module(floats(request['x'], request['shape'])) if 'x' in request else None
    answer = {'onnx': base64.b64encode(buffer.getvalue()).decode('ascii')}
    if reference is not None:
        answer['y'] = base64.b64encode(reference.contiguous().numpy().astype('<f4').tobytes()).decode('ascii')
    return answer


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main():
    prepared = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            command = request['cmd']
            if command == 'hello':
                answer = {'torch': torch.__version__, 'cores': CORES, 'openblas': OPENBLAS_PATH, 'python': sys.version.split()[0]}
            elif command == 'prepare':
                workload = request['workload']
                set_threads(workload.get('threads', 1))
                prepared[request['id']] = (WORKLOADS[workload['kind']](workload), workload.get('threads', 1))
                answer = {}
            elif command == 'turn':
                run, threads = prepared[request['id']]
                set_threads(threads)
                start = time.perf_counter()
                runs = 0
                while True:
                    run()
                    runs += 1
                    elapsed = time.perf_counter() - start
                    if elapsed * 1000 >= request['ms']:
                        break
                answer = {'meanMs': elapsed * 1000 / runs, 'runs': runs}
            elif command == 'measure':
                run, threads = prepared[request['id']]
                set_threads(threads)
                warm_until = time.perf_counter() + request.get('warmupTime', 200) / 1000
                warmups = 0
                while warmups < request.get('warmupIterations', 2) or time.perf_counter() < warm_until:
                    run()
                    warmups += 1
                samples = []
                end = time.perf_counter() + request.get('time', 1000) / 1000
                while len(samples) < request.get('iterations', 5) or time.perf_counter() < end:
                    start = time.perf_counter()
                    run()
                    samples.append((time.perf_counter() - start) * 1000)
                answer = {'medianMs': median(samples), 'samples': len(samples)}
            elif command == 'dispose':
                prepared.pop(request['id'], None)
                answer = {}
            elif command == 'export_onnx':
                set_threads(1)
                answer = export_onnx(request)
            else:
                raise ValueError(f'unknown command {command!r}')
            answer['ok'] = True
        except Exception as error:  # reported to Node, which marks the row unavailable
            answer = {'ok': False, 'error': f'{type(error).__name__}: {error}'}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
