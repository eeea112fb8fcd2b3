/**
 * The part of an exported `model.py` that is the same for every spec: gradlab's layer kinds as
 * `torch.nn.Module`s whose state-dict keys are gradlab's parameter names (`0.weight`,
 * `block.1.alpha`, `lstm.weight_ih`), with gradlab's forward semantics and initialisers.
 * Python source, emitted verbatim by {@link ./torch.ts}.
 */
export const TORCH_LAYERS = String.raw`
# ---------------------------------------------------------------------------------------------
# gradlab's layers as torch.nn.Modules. Their state-dict keys are gradlab's parameter names and
# layouts, so load_weights reads gradlab's safetensors and gradlab reads what save_weights writes.
# ---------------------------------------------------------------------------------------------

class Sequential(nn.Module):
    """Layers applied in order, registered under gradlab's layer names ('0', 'hidden', ...)."""

    def __init__(self, layers):
        super().__init__()
        for name, layer in layers:
            # Straight into _modules: add_module refuses names that shadow a Module attribute
            # ('training', 'forward'), which gradlab allows; state_dict and load_state_dict
            # read _modules, so the keys stay gradlab's.
            self._modules[name] = layer

    def __setattr__(self, name, value):
        # A layer named like a Module attribute keeps the attribute too: train() sets
        # self.training, which nn.Module would refuse with a layer called 'training'.
        if name in self.__dict__.get('_modules', {}) and not isinstance(value, nn.Module):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


class Residual(Sequential):
    """gradlab's residual block: y = x + f(x), f the inner layers (which keep the shape)."""

    def forward(self, x):
        return x + super().forward(x)


class ActivationFunction(nn.Module):
    """An activation by gradlab's name; a prelu learns one slope, the parameter 'alpha' [1].

    alpha is leakyRelu's negative slope (default 0.01), elu's scale (default 1.0) or prelu's
    initial slope (default 0.25), PyTorch's defaults, which are gradlab's.
    """

    def __init__(self, activation, alpha=None):
        super().__init__()
        self.kind = activation
        self.slope = alpha
        if activation == 'prelu':
            self.alpha = nn.Parameter(torch.full((1,), 0.25 if alpha is None else alpha))

    def forward(self, x):
        return activate(self.kind, x, self.alpha if self.kind == 'prelu' else self.slope)


def activate(kind, x, alpha):
    """gradlab's activations; softmax is over the last axis."""
    if kind == 'identity':
        return x
    if kind == 'sigmoid':
        return torch.sigmoid(x)
    if kind == 'tanh':
        return torch.tanh(x)
    if kind == 'relu':
        return F.relu(x)
    if kind == 'softmax':
        return F.softmax(x, dim=-1)
    if kind == 'leakyRelu':
        return F.leaky_relu(x) if alpha is None else F.leaky_relu(x, alpha)
    if kind == 'elu':
        return F.elu(x) if alpha is None else F.elu(x, alpha)
    if kind == 'prelu':
        return F.prelu(x, alpha)
    raise ValueError(f'unknown activation {kind!r}')


class Dense(nn.Module):
    """y = activation(x W^T + b) over the last axis: 'weight' [units, in], 'bias' [units], and
    'alpha' [1] when the activation is a prelu (its slope belongs to the dense layer)."""

    def __init__(self, in_features, units, activation='identity', alpha=None, init=None, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(units, in_features))
        self.bias = nn.Parameter(torch.empty(units)) if bias else None
        self.kind = activation
        self.slope = alpha
        if activation == 'prelu':
            self.alpha = nn.Parameter(torch.full((1,), 0.25 if alpha is None else alpha))
        initialize_dense(self.weight, self.bias, init)

    def forward(self, x):
        return activate(self.kind, F.linear(x, self.weight, self.bias),
                        self.alpha if self.kind == 'prelu' else self.slope)

    def weight_matrices(self):
        return [self.weight]


def initialize_dense(weight, bias, init):
    """gradlab's dense initialisers (crates/core/src/nn/init.rs), with torch.nn.init.

    None (no init in the spec) is nn.Linear's default: weight and bias U(-1/sqrt(fan_in),
    1/sqrt(fan_in)). 'nielsen': N(0, 1/fan_in) weights, N(0, 1) biases; 'normal': N(0, 1)
    weights and biases; ('normal', std): N(0, std^2) weights; the others draw weights as their
    names say; every initialiser but the first three zeroes the biases.
    """
    fan_in = weight.shape[1]
    with torch.no_grad():
        if init is None:
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(weight, -bound, bound)
            if bias is not None:
                nn.init.uniform_(bias, -bound, bound)
            return
        if init == 'nielsen':
            nn.init.normal_(weight, 0.0, 1 / math.sqrt(fan_in))
        elif init == 'normal':
            nn.init.normal_(weight, 0.0, 1.0)
        elif isinstance(init, tuple):
            nn.init.normal_(weight, 0.0, init[1])
        elif init == 'xavier':
            nn.init.xavier_normal_(weight)
        elif init == 'xavierUniform':
            nn.init.xavier_uniform_(weight)
        elif init == 'he':
            nn.init.kaiming_normal_(weight, nonlinearity='relu')
        elif init == 'heUniform':
            nn.init.kaiming_uniform_(weight, nonlinearity='relu')
        elif init == 'lecun':
            nn.init.kaiming_normal_(weight, nonlinearity='linear')
        elif init == 'zeros':
            nn.init.zeros_(weight)
        else:
            raise ValueError(f'unknown init {init!r}')
        if bias is not None:
            if init in ('nielsen', 'normal'):
                nn.init.normal_(bias, 0.0, 1.0)
            else:
                nn.init.zeros_(bias)


class BatchNorm(nn.Module):
    """BatchNorm1d over the last axis (every other axis counts as rows): 'weight', 'bias',
    'running_mean', 'running_var' (no num_batches_tracked: gradlab has none). Training
    normalises with the batch's biased variance and moves the running estimates by momentum
    towards the batch mean and unbiased variance; eval mode uses the running estimates."""

    def __init__(self, features, momentum=0.1, eps=1e-5):
        super().__init__()
        self.features = features
        self.momentum = momentum
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer('running_mean', torch.zeros(features))
        self.register_buffer('running_var', torch.ones(features))

    def forward(self, x):
        rows = x.reshape(-1, self.features)
        y = F.batch_norm(rows, self.running_mean, self.running_var, self.weight, self.bias,
                         training=self.training, momentum=self.momentum, eps=self.eps)
        return y.reshape(x.shape)


class Recurrent(nn.Module):
    """An RNN or LSTM layer over batch-first sequences [batch, time, features], from a zero
    state: 'weight_ih' [G*H, I], 'weight_hh' [G*H, H], 'bias_ih', 'bias_hh' [G*H] (G = 1 for
    RNN, 4 for LSTM in PyTorch's gate order i, f, g, o), all U(-1/sqrt(H), 1/sqrt(H)) as in
    PyTorch, and forget_bias added to the forget gate's part of bias_ih.

    Returns every step's hidden state [batch, time, H] or only the last one [batch, H].
    bptt_steps = k truncates backpropagation through time to the last k steps: the steps
    before them run without gradient (their outputs and the state entering the window are
    constants), as gradlab's truncated BPTT.
    """

    gates = 1

    def __init__(self, in_features, units, return_sequences=False, forget_bias=0.0, bptt_steps=None):
        super().__init__()
        self.units = units
        self.return_sequences = return_sequences
        self.bptt_steps = bptt_steps
        width = self.gates * units
        bound = 1 / math.sqrt(units)
        self.weight_ih = nn.Parameter(torch.empty(width, in_features).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(width, units).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(width).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(width).uniform_(-bound, bound))
        if self.gates == 4:
            with torch.no_grad():
                self.bias_ih[units:2 * units] += forget_bias

    def weight_matrices(self):
        return [self.weight_ih, self.weight_hh]

    def forward(self, x):
        steps = x.shape[1]
        start = 0 if self.bptt_steps is None else max(0, steps - self.bptt_steps)
        zeros = x.new_zeros(x.shape[0], self.units)
        state = (zeros, zeros)
        hidden = []
        with torch.no_grad():
            state = self.run(x[:, :start], state, hidden)
        state = self.run(x[:, start:], state, hidden)
        sequence = torch.stack(hidden, dim=1)
        return sequence if self.return_sequences else sequence[:, -1]

    def run(self, x, state, hidden):
        """Steps through x [batch, steps, features] from state, appending each hidden state."""
        projected = F.linear(x, self.weight_ih, self.bias_ih)  # every step's input term at once
        for t in range(x.shape[1]):
            state = self.cell(projected[:, t] + F.linear(state[0], self.weight_hh, self.bias_hh), state)
            hidden.append(state[0])
        return state


class RNN(Recurrent):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    gates = 1

    def cell(self, pre, state):
        h = torch.tanh(pre)
        return (h, state[1])


class LSTM(Recurrent):
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the gate pre-activations (in that order);
    c_t = f c_{t-1} + i g; h_t = o tanh(c_t)."""

    gates = 4

    def cell(self, pre, state):
        i, f, g, o = pre.chunk(4, dim=1)
        c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c), c)


def weight_matrices(module):
    """The matrices gradlab's L1/L2 penalty covers: dense weights, RNN/LSTM weight_ih and
    weight_hh (not biases, BatchNorm or PReLU parameters)."""
    return [w for layer in module.modules() if hasattr(layer, 'weight_matrices')
            for w in layer.weight_matrices()]
`;
