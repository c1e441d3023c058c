"""PyTorch's conventions, measured through ``torch`` itself; torch is imported by the first probe that runs.

Every probe runs on the CPU (torch's default device): the conventions are
measured per framework, with no device argument.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

from . import readings
from . import reference as reference_conventions
from .readings import (
    ACCUMULATION_X,
    CE2_LOGITS,
    CE2_TARGET,
    CE_LOGITS,
    F16_EXP_X,
    F16_LINEAR_OVERFLOW_X,
    F16_MAX,
    F16_MAX_STEPS,
    F16_PARTIAL_SUM_X,
    F16_SOFTMAX_CLOSE,
    F16_SOFTMAX_PLUS_MINUS,
    SUBNORMAL_X,
    TINY32,
    X3,
    XCORR_W,
    XCORR_X,
    Probe,
    Value,
    ce_input,
    extra_cell_side,
    flip,
    largest_finite,
    num,
    pad_counted,
    reduction,
    sign_of_zero,
    softmax_axis,
    softmax_pair,
    subnormal,
    tie_rule,
    variance,
)
from .reference import (
    ADAM_BIG_GRAD,
    ADAM_DECAY,
    ADAM_PROBE_EPS,
    ADAM_PROBE_GRAD,
    ADAM_PROBE_LR,
    BN_BATCH,
    BN_MOMENTUM,
    EPS_PROBE_A,
    HUBER_RESIDUAL,
    KL_BATCH_LOG_Q,
    KL_BATCH_P,
    KL_PREDICTION,
    KL_TARGET,
    OFFSET_X,
    SCALING_BETA,
    SCALING_RESIDUAL,
    SOFTPLUS_SCAN,
    TINY_EPS,
    VARIANCE_X,
    adagrad_first_step_read,
    algorithm_read,
    eps_placement_read,
    eps_read,
    first_identity,
    float64_step_read,
    huber_delta_read,
    kl_clip_read,
    kl_input_read,
    kl_reduction_read,
    kl_tiny_log_q,
    momentum_read,
    running_variance_read,
    scaling_read,
    variance_read,
    weight_decay_read,
)

__all__ = ["PROBES"]


def _torch() -> Any:
    import torch

    return torch


def _grad(f: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of ``sum(f(x))`` at ``x`` (float64), by autograd, as a NumPy array."""
    torch = _torch()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(t).sum(), t)
    return g.detach().numpy()


def leaky_relu_default_negative_slope() -> Value:
    torch = _torch()
    return num(-torch.nn.functional.leaky_relu(torch.tensor(-1.0, dtype=torch.float64)))


def leaky_relu_layer_default_negative_slope() -> Value:
    torch = _torch()
    return num(-torch.nn.LeakyReLU()(torch.tensor(-1.0, dtype=torch.float64)))


def relu_derivative_at_zero() -> Value:
    return num(_grad(_torch().nn.functional.relu, 0.0))


def leaky_relu_derivative_at_zero() -> Value:
    return num(_grad(lambda t: _torch().nn.functional.leaky_relu(t, 0.25), 0.0))


def relu_sign_of_negative_zero() -> Value:
    torch = _torch()
    return sign_of_zero(torch.nn.functional.relu(torch.tensor(-0.0, dtype=torch.float64)))


def softmax_default_axis() -> Value:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Implicit dimension choice for softmax has been deprecated"
        return softmax_axis(torch.nn.functional.softmax(torch.tensor(X3)))


def softmax_axis_none() -> Value:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return softmax_axis(torch.nn.functional.softmax(torch.tensor(X3), dim=None))


def cross_entropy_default_input() -> Value:
    torch = _torch()
    return ce_input(torch.nn.functional.cross_entropy(torch.tensor(CE_LOGITS), torch.tensor([1])))


def cross_entropy_default_reduction() -> Value:
    torch = _torch()
    logits = torch.tensor(CE2_LOGITS, dtype=torch.float64)
    return reduction(torch.nn.functional.cross_entropy(logits, torch.tensor(CE2_TARGET)))


def binary_cross_entropy_loss_at_zero_probability() -> Value:
    torch = _torch()
    return num(torch.nn.functional.binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0])))


def avg_pool2d_counts_padding() -> Value:
    torch = _torch()
    return pad_counted(torch.nn.functional.avg_pool2d(torch.ones(1, 1, 2, 2), 2, stride=1, padding=1)[0, 0, 0, 0])


def padding_same_extra_cell() -> Value:
    torch = _torch()
    x = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "padding='same' with even kernel lengths ... may require a copy"
        return extra_cell_side(torch.nn.functional.conv2d(x, torch.ones(1, 1, 1, 2), padding="same")[0, 0, 0, 0])


def variance_default_correction() -> Value:
    torch = _torch()
    return variance(torch.var(torch.tensor([1.0, 2.0, 3.0, 4.0])))


def max_pool2d_gradient_on_ties() -> Value:
    return tie_rule(_grad(lambda t: _torch().nn.functional.max_pool2d(t, 2), [[[[1.0, 1.0], [1.0, 1.0]]]]))


def sigmoid_subnormal_result() -> Value:
    torch = _torch()
    return subnormal(torch.sigmoid(torch.tensor(SUBNORMAL_X, dtype=torch.float32)))


def float32_subnormal_arithmetic() -> Value:
    torch = _torch()
    return subnormal(torch.tensor(TINY32, dtype=torch.float32) * torch.tensor(0.5, dtype=torch.float32))


def conv2d_flips_kernel() -> Value:
    torch = _torch()
    return flip(torch.nn.functional.conv2d(torch.tensor(XCORR_X), torch.tensor(XCORR_W)))


def rnn_bias_vectors() -> Value:
    return sum(1 for n, _ in _torch().nn.RNN(1, 1).named_parameters() if n.startswith("bias"))


def _torch_gated(kind: str, b_ih: list[float], h: list[float], c: float = 0.0, w_hh_n: Any = None) -> Any:
    """torch.nn.LSTMCell or GRUCell (in = 1, H = len(h)) with zero weights but the given input bias (and the
    candidate's block of weight_hh), at x = 0: (h′, c′) of the first unit, or the GRU's h′."""
    torch = _torch()
    hidden = len(h)
    cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(1, hidden, dtype=torch.float64)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih.copy_(torch.tensor(b_ih, dtype=torch.float64))
        if w_hh_n is not None:
            cell.weight_hh[2 * hidden :] = torch.tensor(w_hh_n, dtype=torch.float64)
        x, state = torch.zeros(1, 1, dtype=torch.float64), torch.tensor([h], dtype=torch.float64)
        if kind == "lstm":
            h1, c1 = cell(x, (state, torch.full((1, hidden), c, dtype=torch.float64)))
            return float(h1[0, 0]), float(c1[0, 0])
        return cell(x, state)[0].numpy()


def lstm_gate_order() -> Value:
    return readings.lstm_gate_order_read(lambda b: _torch_gated("lstm", b, [0.0], c=1.0))


def lstm_bias_count() -> Value:
    return sum(1 for n, _ in _torch().nn.LSTMCell(1, 1).named_parameters() if n.startswith("bias"))


def lstm_forget_bias_init() -> Value:
    hidden = 64
    b = _torch().nn.LSTMCell(1, hidden).bias_ih.detach().tolist()  # blocks i, f, g, o
    return readings.forget_bias_init_read(b[hidden : 2 * hidden], b[:hidden] + b[2 * hidden :], hidden)


def gru_gate_order() -> Value:
    return readings.gru_gate_order_read(lambda b: float(_torch_gated("gru", b, [0.5])[0]))


def gru_reset_after() -> Value:
    s = readings.GATE_SATURATION
    b_ih = [*readings.GRU_RESET_R_BIAS, -s, -s, 0.0, 0.0]  # blocks r, z, n
    h1 = _torch_gated("gru", b_ih, list(readings.GRU_RESET_H), w_hh_n=readings.GRU_RESET_W_HN)
    return readings.gru_reset_read(h1)


def gru_bias_count() -> Value:
    return sum(1 for n, _ in _torch().nn.GRUCell(1, 1).named_parameters() if n.startswith("bias"))


def _bidirectional_lstm() -> Any:
    """torch.nn.LSTM(bidirectional=True), one unit, on the probe: the forward candidate reads x, the rest is 0."""
    torch = _torch()
    module = torch.nn.LSTM(1, 1, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
        module.weight_ih_l0.copy_(torch.tensor(reference_conventions.LSTM_PROBE_W_IH, dtype=torch.float64))
        return module(torch.tensor(reference_conventions.BACKWARDS_X, dtype=torch.float64))


def lstm_go_backwards_output_order() -> Value:
    # PyTorch runs a layer backwards only as a bidirectional layer's second direction: its half of the features.
    torch = _torch()
    module = torch.nn.LSTM(1, 1, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
        module.weight_ih_l0_reverse.copy_(torch.tensor(reference_conventions.LSTM_PROBE_W_IH, dtype=torch.float64))
        outputs, _ = module(torch.tensor(reference_conventions.BACKWARDS_X, dtype=torch.float64))
    return reference_conventions.backwards_order_read(outputs[..., 1].numpy())


def bidirectional_merge_mode() -> Value:
    outputs, _ = _bidirectional_lstm()
    return reference_conventions.merge_read(outputs.detach().numpy())


def bidirectional_h_n_layout() -> Value:
    _, (h_n, c_n) = _bidirectional_lstm()
    return reference_conventions.h_n_layout_read([h_n.detach().numpy(), c_n.detach().numpy()])


def _half(x: Any, dtype: str = "float16") -> Any:
    torch = _torch()
    return torch.tensor(x, dtype=getattr(torch, dtype))


def float16_exp_overflow() -> Value:
    return num(_torch().exp(_half(F16_EXP_X)))


def float16_largest_finite() -> Value:
    return largest_finite(_half([F16_MAX] * 2) + _half(list(F16_MAX_STEPS)))


def float16_softmax_of_logits_plus_minus_1e4() -> Value:
    return softmax_pair(_torch().nn.functional.softmax(_half(F16_SOFTMAX_PLUS_MINUS), dim=-1))


def float16_softmax_of_logits_1e4_and_9992() -> Value:
    return softmax_pair(_torch().nn.functional.softmax(_half(F16_SOFTMAX_CLOSE), dim=-1))


def _linear_of_ones(x: list[list[float]], dtype: str = "float16") -> Any:
    """``torch.nn.functional.linear(x, weight=ones)`` in ``dtype``: one logit, the dot product x · ones."""
    return _torch().nn.functional.linear(_half(x, dtype), _half([[1.0] * len(x[0])], dtype))[0, 0]


def float16_linear_overflow() -> Value:
    return num(_linear_of_ones(F16_LINEAR_OVERFLOW_X))


def float16_linear_partial_sum_overflow() -> Value:
    return num(_linear_of_ones(F16_PARTIAL_SUM_X))


def float16_sum_accumulation() -> Value:
    return num(_torch().sum(_half(ACCUMULATION_X["float16"])))


def float16_linear_accumulation() -> Value:
    return num(_linear_of_ones([ACCUMULATION_X["float16"]]))


def bfloat16_sum_accumulation() -> Value:
    return num(_torch().sum(_half(ACCUMULATION_X["bfloat16"], "bfloat16")).float())


def bfloat16_linear_accumulation() -> Value:
    return num(_linear_of_ones([ACCUMULATION_X["bfloat16"]], "bfloat16").float())


def gelu_default_form() -> Value:
    torch = _torch()
    return num(torch.nn.functional.gelu(torch.tensor(1.0, dtype=torch.float64)))


def elu_default_alpha() -> Value:
    torch = _torch()
    return num(-torch.nn.functional.elu(torch.tensor(-100.0, dtype=torch.float64)))


def softplus_threshold() -> Value:
    torch = _torch()
    return first_identity(SOFTPLUS_SCAN, torch.nn.functional.softplus(torch.tensor(SOFTPLUS_SCAN)).numpy())


def softplus_has_beta() -> Value:
    torch = _torch()
    try:
        torch.nn.functional.softplus(torch.tensor([1.0]), beta=2.0)
    except TypeError:
        return False
    return True


def _f64(values: object) -> Any:
    torch = _torch()
    return torch.tensor(values, dtype=torch.float64)


def layer_norm_default_eps() -> Value:
    return eps_read(_torch().nn.functional.layer_norm(_f64([-EPS_PROBE_A, EPS_PROBE_A]), [2]))


def layer_norm_variance() -> Value:
    return variance_read(_torch().nn.functional.layer_norm(_f64(VARIANCE_X), [4], eps=TINY_EPS))


def layer_norm_variance_algorithm() -> Value:
    return algorithm_read(_torch().nn.functional.layer_norm(_f64(OFFSET_X), [4], eps=TINY_EPS))


def rms_norm_default_eps() -> Value:
    return eps_read(_torch().nn.functional.rms_norm(_f64([EPS_PROBE_A, EPS_PROBE_A]), [2]))


def group_norm_default_eps() -> Value:
    return eps_read(_torch().nn.functional.group_norm(_f64([[-EPS_PROBE_A, EPS_PROBE_A]]), 1))


def group_norm_variance() -> Value:
    return variance_read(_torch().nn.functional.group_norm(_f64([VARIANCE_X]), 1, eps=TINY_EPS))


def _batch_norm_step(running_var: float = 1.0, **kwargs: Any) -> tuple[Any, Any]:
    """The running mean and variance after one training step of F.batch_norm on BN_BATCH (from 0 and running_var)."""
    mean, var = _f64([0.0]), _f64([running_var])
    _torch().nn.functional.batch_norm(_f64(BN_BATCH), mean, var, training=True, **kwargs)
    return mean, var


def batch_norm_default_eps() -> Value:
    x = _f64([[-EPS_PROBE_A], [EPS_PROBE_A]])
    return eps_read(_torch().nn.functional.batch_norm(x, _f64([0.0]), _f64([1.0]), training=True))


def batch_norm_new_batch_weight() -> Value:
    return num(_batch_norm_step()[0][0])


def batch_norm_momentum_meaning() -> Value:
    return momentum_read(_batch_norm_step(momentum=BN_MOMENTUM)[0])


def batch_norm_running_variance() -> Value:
    return running_variance_read(_batch_norm_step(0.0, momentum=1.0)[1])


def huber_loss_default_delta() -> Value:
    return huber_delta_read(_torch().nn.functional.huber_loss(_f64([HUBER_RESIDUAL]), _f64([0.0])))


def smooth_l1_loss_scaling() -> Value:
    f = _torch().nn.functional.smooth_l1_loss
    return scaling_read(f(_f64([SCALING_RESIDUAL]), _f64([0.0]), beta=SCALING_BETA))


def kl_div_input_space() -> Value:
    f = _torch().nn.functional.kl_div
    return kl_input_read(f(_f64(KL_PREDICTION), _f64(KL_TARGET), reduction="sum"))


def kl_div_default_reduction() -> Value:
    with warnings.catch_warnings():  # the default 'mean' warns that it is not the KL divergence: the point here
        warnings.simplefilter("ignore")
        return kl_reduction_read(_torch().nn.functional.kl_div(_f64(KL_BATCH_LOG_Q), _f64(KL_BATCH_P)))


def kl_div_clipping() -> Value:
    f = _torch().nn.functional.kl_div
    return kl_clip_read(f(_f64(kl_tiny_log_q()), _f64([1.0, 0.0]), reduction="sum"))


def cross_entropy_label_smoothing_formula() -> Value:
    from .reference import SMOOTHING, SMOOTHING_LOGITS, smoothing_read

    torch = _torch()
    f = torch.nn.functional.cross_entropy
    return smoothing_read(f(_f64(SMOOTHING_LOGITS), torch.tensor([0]), label_smoothing=SMOOTHING))


def binary_cross_entropy_label_smoothing_formula() -> Value:
    from .reference import BCE_PROBE_LOGIT, SMOOTHING, absent, binary_smoothing_read

    f = _torch().nn.functional.binary_cross_entropy_with_logits
    try:
        return binary_smoothing_read(f(_f64([BCE_PROBE_LOGIT]), _f64([1.0]), label_smoothing=SMOOTHING))
    except TypeError as exc:
        return absent(exc)


def binary_cross_entropy_with_logits_pos_weight() -> Value:
    from .reference import POS_WEIGHT, pos_weight_read

    f = _torch().nn.functional.binary_cross_entropy_with_logits
    return pos_weight_read(f(_f64([0.0, 0.0]), _f64([1.0, 0.0]), pos_weight=_f64([POS_WEIGHT]), reduction="none"))


def _seeded(f: Callable[[], Any]) -> Any:
    torch = _torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return f()


def dropout_scaling() -> Value:
    from .reference import kept_value

    torch = _torch()
    return kept_value(_seeded(lambda: torch.nn.functional.dropout(torch.ones(1000, dtype=torch.float64), 0.5)))


def dropout_rate_meaning() -> Value:
    from .reference import DROPOUT_RATE, DROPOUT_UNITS, rate_read

    torch = _torch()
    return rate_read(_seeded(lambda: torch.nn.functional.dropout(torch.ones(DROPOUT_UNITS), DROPOUT_RATE)))


def dropout_dropped_nan() -> Value:
    from .reference import dropped_nan_read

    torch = _torch()
    return dropped_nan_read(_seeded(lambda: torch.nn.functional.dropout(torch.full((1000,), float("nan")), 0.5)))


def dropout_float64_input() -> Value:
    torch = _torch()
    y = torch.nn.Dropout(0.5)(torch.ones(4, dtype=torch.float64))
    return str(y.dtype).removeprefix("torch.")


def embedding_padding_index() -> Value:
    from .reference import INDEX_TABLE, padding_read

    torch = _torch()
    w = torch.tensor(INDEX_TABLE, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor([0, 1]), w, padding_idx=0).sum().backward()
    return padding_read(w.grad[0].numpy())


def embedding_default_init() -> Value:
    from .reference import init_read

    torch = _torch()
    return init_read(_seeded(lambda: torch.nn.Embedding(1000, 64).weight.detach().numpy()))


def _lookup(index: int) -> Any:
    from .reference import INDEX_TABLE

    torch = _torch()
    return torch.nn.functional.embedding(torch.tensor([index]), torch.tensor(INDEX_TABLE)).numpy()


def embedding_out_of_range_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _lookup(3))


def embedding_negative_index() -> Value:
    from .reference import index_read

    return index_read(lambda: _lookup(-1))


# --- adaptive optimisers: torch.optim, one float64 step on one parameter ---------------------------


def _torch_step(optimizer: str, grad: float, param: float = 0.0, **kwargs: Any) -> Any:
    torch = _torch()
    p = torch.nn.Parameter(torch.tensor([param], dtype=torch.float64))
    opt = getattr(torch.optim, optimizer)([p], **kwargs)
    p.grad = torch.tensor([grad], dtype=torch.float64)
    opt.step()
    return p.detach().numpy()


def adam_default_eps() -> Value:
    torch = _torch()
    return num(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]).defaults["eps"])


def adam_eps_placement() -> Value:
    return eps_placement_read(_torch_step("Adam", ADAM_PROBE_GRAD, lr=ADAM_PROBE_LR, eps=ADAM_PROBE_EPS))


def adam_weight_decay() -> Value:
    return weight_decay_read(_torch_step("Adam", 0.0, param=1.0, lr=ADAM_PROBE_LR, weight_decay=ADAM_DECAY))


def adam_float64_hyperparameters() -> Value:
    return float64_step_read(_torch_step("Adam", ADAM_BIG_GRAD, lr=ADAM_PROBE_LR))


def adamw_default_weight_decay() -> Value:
    torch = _torch()
    return num(torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults["weight_decay"])


def sgd_momentum_formulation() -> Value:
    torch = _torch()
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    sgd = torch.optim.SGD([param], lr=readings.SGD_LRS[0], momentum=readings.SGD_MOMENTUM)
    for lr in readings.SGD_LRS:
        sgd.param_groups[0]["lr"] = lr
        param.grad = torch.ones(1, dtype=torch.float64)
        sgd.step()
    return readings.sgd_momentum_read(param.detach().numpy())


def _torch_sgd(grads: tuple[float, ...], param: float = 0.0, **kwargs: Any) -> Any:
    """θ after float64 steps of torch.optim.SGD(**kwargs) with the given gradients."""
    torch = _torch()
    p = torch.nn.Parameter(torch.tensor([param], dtype=torch.float64))
    sgd = torch.optim.SGD([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor([g], dtype=torch.float64)
        sgd.step()
    return p.detach().numpy()


def sgd_first_step_buffer() -> Value:
    from .reference import SGD_PROBE_DAMPENING, first_step_buffer_read

    theta = _torch_sgd((1.0,), lr=1.0, momentum=0.5, dampening=SGD_PROBE_DAMPENING)
    return first_step_buffer_read(theta, has_dampening=True)


def sgd_dampening() -> Value:
    from .reference import dampening_read

    torch = _torch()
    return dampening_read(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]).defaults["dampening"])


def sgd_nesterov_formulation() -> Value:
    from .reference import nesterov_read

    return nesterov_read(_torch_sgd((1.0, 1.0), lr=1.0, momentum=0.5, nesterov=True))


def sgd_weight_decay_coupling() -> Value:
    from .reference import SGD_DECAY_PROBE, weight_decay_coupling_read

    return weight_decay_coupling_read(_torch_sgd((0.0, 0.0), param=1.0, **SGD_DECAY_PROBE))


def sgd_float64_momentum() -> Value:
    from .reference import SGD_FLOAT64_MOMENTUM, float64_momentum_read

    return float64_momentum_read(_torch_sgd((1.0, 1.0), lr=1.0, momentum=SGD_FLOAT64_MOMENTUM))


def sgd_default_learning_rate() -> Value:
    torch = _torch()
    return num(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]).defaults["lr"])


def rmsprop_eps_placement() -> Value:
    r = readings
    kwargs = {"lr": r.RMS_PROBE_LR, "alpha": r.RMS_PROBE_DECAY, "eps": r.RMS_PROBE_EPS}
    return r.rmsprop_eps_read(_torch_step("RMSprop", r.RMS_PROBE_GRAD, **kwargs))


def rmsprop_default_decay() -> Value:
    torch = _torch()
    return num(torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))]).defaults["alpha"])


def rmsprop_default_eps() -> Value:
    torch = _torch()
    return num(torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))]).defaults["eps"])


def rmsprop_default_lr() -> Value:
    torch = _torch()
    return num(torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))]).defaults["lr"])


def _adagrad() -> Any:
    torch = _torch()
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    return p, torch.optim.Adagrad([p])


def adagrad_eps_placement() -> Value:
    r = readings
    return adagrad_first_step_read(_torch_step("Adagrad", r.RMS_PROBE_GRAD, lr=r.RMS_PROBE_LR, eps=r.RMS_PROBE_EPS))


def adagrad_default_eps() -> Value:
    return num(_adagrad()[1].defaults["eps"])


def adagrad_default_lr() -> Value:
    return num(_adagrad()[1].defaults["lr"])


def adagrad_initial_accumulator() -> Value:
    p, adagrad = _adagrad()
    return num(adagrad.state[p]["sum"][0])  # torch.optim.Adagrad creates its state when it is built


def _fresh_linear() -> Any:
    torch = _torch()
    return _seeded(lambda: torch.nn.Linear(readings.DENSE_FAN_IN, readings.DENSE_FAN_OUT))


def linear_default_weight_init() -> Value:
    return readings.dense_init_read(_fresh_linear().weight.detach().numpy())


def linear_default_bias_init() -> Value:
    return readings.dense_init_read(_fresh_linear().bias.detach().numpy())


# --- weight initialisation: torch.nn.init's own draws (readers in dlterms.conformance.invariants.initialization)


def _torch_init(name: str, shape: tuple[int, ...]) -> Any:
    torch = _torch()
    w = torch.empty(shape, dtype=torch.float64)
    return getattr(torch.nn.init, name)(w, generator=torch.Generator().manual_seed(0)).numpy()


def kaiming_default_mode() -> Value:
    from ..invariants.initialization import PROBE_RECT, PROBE_SQUARE, kaiming_mode_read

    return kaiming_mode_read(_torch_init("kaiming_normal_", PROBE_SQUARE), _torch_init("kaiming_normal_", PROBE_RECT))


def kaiming_default_gain() -> Value:
    from ..invariants.initialization import PROBE_SQUARE, kaiming_gain_read

    return kaiming_gain_read(_torch_init("kaiming_normal_", PROBE_SQUARE))


def _normal_distribution(kind: str) -> Value:
    from ..invariants.initialization import PROBE_RECT, expected_scale, normal_distribution_read

    return normal_distribution_read(_torch_init(f"{kind}_", PROBE_RECT), expected_scale(kind, PROBE_RECT))


def xavier_normal_distribution() -> Value:
    return _normal_distribution("xavier_normal")


def kaiming_normal_distribution() -> Value:
    return _normal_distribution("kaiming_normal")


def init_conv_fan_layout() -> Value:
    from ..invariants.initialization import conv_layout_read

    torch = _torch()
    shape = tuple(torch.nn.Conv2d(4, 64, 3).weight.shape)  # nn.Conv2d's own kernel layout
    return conv_layout_read(shape, _torch_init("kaiming_normal_", shape))


def _attend(query: Any, key: Any, value: Any, mask: Any = None, bias: Any = None, causal: bool = False) -> Any:
    """torch.nn.functional.scaled_dot_product_attention in float64: a boolean or an additive attn_mask."""
    torch = _torch()
    attn_mask = None if mask is None else torch.tensor(mask, dtype=torch.bool)
    attn_mask = attn_mask if bias is None else _f64(bias)
    f = torch.nn.functional.scaled_dot_product_attention
    return f(_f64(query), _f64(key), _f64(value), attn_mask=attn_mask, is_causal=causal)


def attention_boolean_mask_meaning() -> Value:
    return readings.attention_mask_read(_attend)


def attention_default_scale() -> Value:
    return readings.attention_scale_read(_attend)


def attention_fully_masked_row() -> Value:
    return readings.attention_masked_row_read(_attend)


def attention_fully_masked_bias_row() -> Value:
    return readings.attention_masked_bias_row_read(_attend)


def attention_causal_alignment() -> Value:
    return readings.attention_alignment_read(_attend)


def attention_float64_softmax() -> Value:
    return readings.attention_precision_read(_attend)


# --- learning-rate schedules and gradient clipping: torch.optim.lr_scheduler, torch.nn.utils -------------


def _torch_course(make: Callable[[Any], Any], steps: int) -> list[float]:
    """The rates of a scheduler on an SGD optimiser of base rate 1, after 0..steps scheduler.step() calls."""
    torch = _torch()
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make(optimizer)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def step_lr_default_gamma() -> Value:
    return num(inspect.signature(_torch().optim.lr_scheduler.StepLR).parameters["gamma"].default)


def cosine_annealing_lr_default_eta_min() -> Value:
    return num(inspect.signature(_torch().optim.lr_scheduler.CosineAnnealingLR).parameters["eta_min"].default)


def cosine_annealing_lr_after_t_max() -> Value:
    t_max = reference_conventions.SCHEDULE_PROBE_T_MAX
    return num(_torch_course(lambda o: _torch().optim.lr_scheduler.CosineAnnealingLR(o, t_max), 2 * t_max)[-1])


def linear_warmup_lr_default_start_factor() -> Value:
    return num(inspect.signature(_torch().optim.lr_scheduler.LinearLR).parameters["start_factor"].default)


def lr_schedule_first_step_count() -> Value:
    torch = _torch()
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    sgd = torch.optim.SGD([param], lr=1.0)
    torch.optim.lr_scheduler.StepLR(sgd, 1, gamma=0.5)
    param.grad = torch.ones(1, dtype=torch.float64)
    sgd.step()
    return reference_conventions.first_step_count_read(param.item())


def lr_schedule_float64_hyperparameters() -> Value:
    return reference_conventions.float64_rate_read(
        _torch_course(lambda o: _torch().optim.lr_scheduler.StepLR(o, 1, gamma=0.1), 1)[-1]
    )


def clip_grad_norm_eps() -> Value:
    torch = _torch()
    p = torch.zeros(2, dtype=torch.float64)
    p.grad = torch.tensor(reference_conventions.CLIP_PROBE, dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([p], 1.0)
    return reference_conventions.clip_eps_read(p.grad[0].item())


# --- transposed convolution and adaptive pooling (issue 13) ---------------------------------------------


def conv_transpose2d_kernel_layout() -> Value:
    torch = _torch()
    x = torch.zeros(1, 2, 1, 1)
    return reference_conventions.kernel_layout_read(
        lambda shape: torch.nn.functional.conv_transpose2d(x, torch.zeros(shape)).shape[1]
    )


def conv_transpose2d_adjoint_by_default() -> Value:
    torch = _torch()
    y = torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 1, 1), torch.tensor([[[[1.0, 2.0]]]]))
    return reference_conventions.transpose_of_one_read(y)


def conv_transpose2d_output_padding_limit() -> Value:
    torch = _torch()
    x, w = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    return reference_conventions.output_padding_limit_read(
        lambda s, d, op: torch.nn.functional.conv_transpose2d(x, w, stride=s, dilation=d, output_padding=op)
    )


def conv_transpose2d_same_padding() -> Value:
    torch = _torch()
    try:
        y = torch.nn.functional.conv_transpose2d(
            torch.zeros(1, 1, 1, 3), torch.zeros(1, 1, 1, 3), stride=2, padding="same"
        )
    except (TypeError, RuntimeError, ValueError) as exc:
        return f"rejected ({type(exc).__name__})"
    return reference_conventions.same_output_read(int(y.shape[-1]))


def adaptive_avg_pool2d_bins() -> Value:
    torch = _torch()
    x = torch.tensor(reference_conventions.ADAPTIVE_X)
    return reference_conventions.adaptive_bins_read(torch.nn.functional.adaptive_avg_pool2d(x, (1, 3)))


# --- interpolation (issue 13): torch.nn.functional.interpolate and torch.nn.Upsample -------------------------


def _torch_resize(x: list, **options: Any) -> Any:
    torch = _torch()
    return torch.nn.functional.interpolate(torch.tensor(x, dtype=torch.float64), **options)


def interpolate_align_corners_default() -> Value:
    return reference_conventions.coordinate_map_read(
        _torch_resize(reference_conventions.RESIZE_ROW, size=(1, 4), mode="bilinear")
    )


def interpolate_nearest_rounding() -> Value:
    return reference_conventions.nearest_rounding_read(_torch_resize(reference_conventions.RESIZE_RAMP, size=(1, 3)))


def interpolate_antialias_default() -> Value:
    return reference_conventions.antialias_read(
        _torch_resize(reference_conventions.RESIZE_RAMP, size=(1, 3), mode="bilinear")
    )


def interpolate_upsampling_layer_mode() -> Value:
    return str(_torch().nn.Upsample(scale_factor=2).mode)


def interpolate_scale_factor_coordinates() -> Value:
    return reference_conventions.scale_factor_read(
        _torch_resize(reference_conventions.SCALE_RAMP, scale_factor=(1, 1.5), mode="bilinear")
    )


def interpolate_bilinear_output_dtype() -> Value:
    return str(_torch_resize(reference_conventions.RESIZE_ROW, size=(1, 4), mode="bilinear").dtype).removeprefix(
        "torch."
    )


# --- multi-head attention: torch.nn.MultiheadAttention and F.multi_head_attention_forward --------------


def mha_boolean_mask_meaning() -> Value:
    torch = _torch()
    one = torch.ones(1, 1, dtype=torch.float64)
    y, _ = torch.nn.functional.multi_head_attention_forward(
        torch.ones(1, 1, 1, dtype=torch.float64),  # (L, N, E): sequence first
        torch.zeros(2, 1, 1, dtype=torch.float64),
        torch.tensor([[[1.0]], [[3.0]]], dtype=torch.float64),
        1,
        1,
        None,
        None,
        None,
        None,
        False,
        0.0,
        one,
        None,
        need_weights=False,
        attn_mask=torch.tensor(reference_conventions.MHA_MASK_PROBE),
        use_separate_proj_weight=True,
        q_proj_weight=one,
        k_proj_weight=one,
        v_proj_weight=one,
    )
    return reference_conventions.mha_mask_read(float(y))


def mha_projection_layout() -> Value:
    layer = _torch().nn.MultiheadAttention(4, 2)
    shapes = {name: tuple(p.shape) for name, p in layer.named_parameters()}
    return reference_conventions.mha_layout_read(shapes, 4, 2)


def mha_batch_first_default() -> Value:
    return bool(_torch().nn.MultiheadAttention(4, 2).batch_first)


def mha_default_bias() -> Value:
    return _torch().nn.MultiheadAttention(4, 2).in_proj_bias is not None


# --- the Transformer block: torch.nn.TransformerEncoderLayer --------------------------------------------------


def _encoder_layer(**options: Any) -> Any:
    return _torch().nn.TransformerEncoderLayer(4, 2, **options)


def transformer_norm_first_default() -> Value:
    return bool(_encoder_layer().norm_first)


def transformer_activation_default() -> Value:
    activation = _encoder_layer().activation  # torch.nn.functional.relu by default: its __name__
    return getattr(activation, "__name__", type(activation).__name__)


def transformer_dim_feedforward_default() -> Value:
    return int(_encoder_layer().linear1.out_features)


def transformer_layer_norm_eps() -> Value:
    return num(_encoder_layer().norm1.eps)


def transformer_batch_first_default() -> Value:
    return bool(_encoder_layer().self_attn.batch_first)


def transformer_eval_fast_path() -> Value:
    # Whether torch._transformer_encoder_layer_fwd (the fused kernel) runs, spied on, for a call without gradients
    # in eval and train mode with 2 heads and in eval mode with 1 (its fast path needs an even number of heads).
    torch = _torch()
    fused, calls = torch._transformer_encoder_layer_fwd, []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return fused(*args, **kwargs)

    taken = {}
    torch._transformer_encoder_layer_fwd = spy
    try:
        for evaluating, heads in ((True, 2), (True, 1), (False, 2)):
            layer = torch.nn.TransformerEncoderLayer(4, heads, 8, dropout=0.0, batch_first=True).train(not evaluating)
            calls.clear()
            with torch.no_grad():
                layer(torch.ones(1, 2, 4))
            taken[(evaluating, heads)] = bool(calls)
    finally:
        torch._transformer_encoder_layer_fwd = fused
    return reference_conventions.fast_path_read(taken)


PROBES: tuple[Probe, ...] = (
    Probe("leaky_relu.default_negative_slope", "torch.nn.functional.leaky_relu", leaky_relu_default_negative_slope),
    Probe("leaky_relu.layer_default_negative_slope", "torch.nn.LeakyReLU()", leaky_relu_layer_default_negative_slope),
    Probe("relu.derivative_at_zero", "torch.nn.functional.relu + autograd", relu_derivative_at_zero),
    Probe("leaky_relu.derivative_at_zero", "torch.nn.functional.leaky_relu + autograd", leaky_relu_derivative_at_zero),
    Probe("relu.sign_of_negative_zero", "torch.nn.functional.relu", relu_sign_of_negative_zero),
    Probe("softmax.default_axis", "torch.nn.functional.softmax (no dim)", softmax_default_axis),
    Probe("softmax.axis_none", "torch.nn.functional.softmax(dim=None)", softmax_axis_none),
    Probe("cross_entropy.default_input", "torch.nn.functional.cross_entropy", cross_entropy_default_input),
    Probe("cross_entropy.default_reduction", "torch.nn.functional.cross_entropy", cross_entropy_default_reduction),
    Probe(
        "binary_cross_entropy.loss_at_zero_probability",
        "torch.nn.functional.binary_cross_entropy",
        binary_cross_entropy_loss_at_zero_probability,
    ),
    Probe("avg_pool2d.counts_padding", "torch.nn.functional.avg_pool2d(padding=1)", avg_pool2d_counts_padding),
    Probe("padding.same_extra_cell", "torch.nn.functional.conv2d(padding='same')", padding_same_extra_cell),
    Probe("variance.default_correction", "torch.var", variance_default_correction),
    Probe("max_pool2d.gradient_on_ties", "torch.nn.functional.max_pool2d + autograd", max_pool2d_gradient_on_ties),
    Probe("sigmoid.subnormal_result", "torch.sigmoid (float32)", sigmoid_subnormal_result),
    Probe("float32.subnormal_arithmetic", "torch.Tensor * (float32, cpu)", float32_subnormal_arithmetic),
    Probe("conv2d.flips_kernel", "torch.nn.functional.conv2d", conv2d_flips_kernel),
    Probe("rnn.bias_vectors", "torch.nn.RNN", rnn_bias_vectors),
    Probe("lstm.gate_order", "torch.nn.LSTMCell", lstm_gate_order),
    Probe("lstm.bias_count", "torch.nn.LSTMCell", lstm_bias_count),
    Probe("lstm.forget_bias_init", "torch.nn.LSTMCell", lstm_forget_bias_init),
    Probe("gru.gate_order", "torch.nn.GRUCell", gru_gate_order),
    Probe("gru.reset_after", "torch.nn.GRUCell", gru_reset_after),
    Probe("gru.bias_count", "torch.nn.GRUCell", gru_bias_count),
    Probe("lstm.go_backwards_output_order", "torch.nn.LSTM(bidirectional=True)", lstm_go_backwards_output_order),
    Probe("bidirectional.merge_mode", "torch.nn.LSTM(bidirectional=True)", bidirectional_merge_mode),
    Probe("bidirectional.h_n_layout", "torch.nn.LSTM(bidirectional=True)", bidirectional_h_n_layout),
    Probe("float16.exp_overflow", "torch.exp (float16, cpu)", float16_exp_overflow),
    Probe("float16.largest_finite", "torch.Tensor + (float16, cpu)", float16_largest_finite),
    Probe(
        "float16.softmax_of_logits_plus_minus_1e4",
        "torch.nn.functional.softmax (float16, cpu)",
        float16_softmax_of_logits_plus_minus_1e4,
    ),
    Probe(
        "float16.softmax_of_logits_1e4_and_9992",
        "torch.nn.functional.softmax (float16, cpu)",
        float16_softmax_of_logits_1e4_and_9992,
    ),
    Probe("float16.linear_overflow", "torch.nn.functional.linear (float16, cpu)", float16_linear_overflow),
    Probe(
        "float16.linear_partial_sum_overflow",
        "torch.nn.functional.linear (float16, cpu)",
        float16_linear_partial_sum_overflow,
    ),
    Probe("float16.sum_accumulation", "torch.sum (float16, cpu)", float16_sum_accumulation),
    Probe("float16.linear_accumulation", "torch.nn.functional.linear (float16, cpu)", float16_linear_accumulation),
    Probe("bfloat16.sum_accumulation", "torch.sum (bfloat16, cpu)", bfloat16_sum_accumulation),
    Probe(
        "bfloat16.linear_accumulation",
        "torch.nn.functional.linear (bfloat16, cpu)",
        bfloat16_linear_accumulation,
    ),
    Probe("gelu.default_form", "torch.nn.functional.gelu", gelu_default_form),
    Probe("elu.default_alpha", "torch.nn.functional.elu", elu_default_alpha),
    Probe("softplus.threshold", "torch.nn.functional.softplus (float64)", softplus_threshold),
    Probe("softplus.has_beta", "torch.nn.functional.softplus(x, beta=2.0)", softplus_has_beta),
    Probe("layer_norm.default_eps", "torch.nn.functional.layer_norm", layer_norm_default_eps),
    Probe("layer_norm.variance", "torch.nn.functional.layer_norm", layer_norm_variance),
    Probe("layer_norm.variance_algorithm", "torch.nn.functional.layer_norm (float64)", layer_norm_variance_algorithm),
    Probe("rms_norm.default_eps", "torch.nn.functional.rms_norm (float64)", rms_norm_default_eps),
    Probe("group_norm.default_eps", "torch.nn.functional.group_norm", group_norm_default_eps),
    Probe("group_norm.variance", "torch.nn.functional.group_norm", group_norm_variance),
    Probe("batch_norm.default_eps", "torch.nn.functional.batch_norm(training=True)", batch_norm_default_eps),
    Probe("batch_norm.new_batch_weight", "torch.nn.functional.batch_norm(training=True)", batch_norm_new_batch_weight),
    Probe("batch_norm.momentum_meaning", "torch.nn.functional.batch_norm(momentum=0.25)", batch_norm_momentum_meaning),
    Probe("batch_norm.running_variance", "torch.nn.functional.batch_norm(momentum=1)", batch_norm_running_variance),
    Probe("huber_loss.default_delta", "torch.nn.functional.huber_loss", huber_loss_default_delta),
    Probe("smooth_l1_loss.scaling", "torch.nn.functional.smooth_l1_loss(beta=2)", smooth_l1_loss_scaling),
    Probe("kl_div.input_space", "torch.nn.functional.kl_div", kl_div_input_space),
    Probe("kl_div.default_reduction", "torch.nn.functional.kl_div", kl_div_default_reduction),
    Probe("kl_div.clipping", "torch.nn.functional.kl_div (float64)", kl_div_clipping),
    Probe(
        "cross_entropy.label_smoothing_formula",
        "torch.nn.functional.cross_entropy(label_smoothing=0.4)",
        cross_entropy_label_smoothing_formula,
    ),
    Probe(
        "binary_cross_entropy.label_smoothing_formula",
        "torch.nn.functional.binary_cross_entropy_with_logits(label_smoothing=0.4)",
        binary_cross_entropy_label_smoothing_formula,
    ),
    Probe(
        "binary_cross_entropy_with_logits.pos_weight",
        "torch.nn.functional.binary_cross_entropy_with_logits(pos_weight=3)",
        binary_cross_entropy_with_logits_pos_weight,
    ),
    Probe("dropout.scaling", "torch.nn.functional.dropout(p=0.5)", dropout_scaling),
    Probe("dropout.rate_meaning", "torch.nn.functional.dropout(p=0.2)", dropout_rate_meaning),
    Probe("dropout.dropped_nan", "torch.nn.functional.dropout (cpu)", dropout_dropped_nan),
    Probe("dropout.float64_input", "torch.nn.Dropout", dropout_float64_input),
    Probe(
        "embedding.padding_index", "torch.nn.functional.embedding(padding_idx=0) + autograd", embedding_padding_index
    ),
    Probe("embedding.default_init", "torch.nn.Embedding(1000, 64)", embedding_default_init),
    Probe("embedding.out_of_range_index", "torch.nn.functional.embedding", embedding_out_of_range_index),
    Probe("embedding.negative_index", "torch.nn.functional.embedding", embedding_negative_index),
    Probe("adam.default_eps", "torch.optim.Adam", adam_default_eps),
    Probe("adam.eps_placement", "torch.optim.Adam (float64)", adam_eps_placement),
    Probe("adam.weight_decay", "torch.optim.Adam(weight_decay=0.5) (float64)", adam_weight_decay),
    Probe("adam.float64_hyperparameters", "torch.optim.Adam (float64)", adam_float64_hyperparameters),
    Probe("adamw.default_weight_decay", "torch.optim.AdamW", adamw_default_weight_decay),
    Probe("sgd.momentum_formulation", "torch.optim.SGD(momentum=0.5) (float64)", sgd_momentum_formulation),
    Probe("sgd.first_step_buffer", "torch.optim.SGD(momentum=0.5, dampening=0.5) (float64)", sgd_first_step_buffer),
    Probe("sgd.dampening", "torch.optim.SGD", sgd_dampening),
    Probe("sgd.nesterov_formulation", "torch.optim.SGD(nesterov=True) (float64)", sgd_nesterov_formulation),
    Probe("sgd.weight_decay_coupling", "torch.optim.SGD(weight_decay=0.5) (float64)", sgd_weight_decay_coupling),
    Probe("sgd.float64_momentum", "torch.optim.SGD(momentum=0.9) (float64)", sgd_float64_momentum),
    Probe("sgd.default_learning_rate", "torch.optim.SGD", sgd_default_learning_rate),
    Probe("rmsprop.eps_placement", "torch.optim.RMSprop (float64)", rmsprop_eps_placement),
    Probe("rmsprop.default_decay", "torch.optim.RMSprop (alpha)", rmsprop_default_decay),
    Probe("rmsprop.default_eps", "torch.optim.RMSprop", rmsprop_default_eps),
    Probe("rmsprop.default_lr", "torch.optim.RMSprop", rmsprop_default_lr),
    Probe("adagrad.eps_placement", "torch.optim.Adagrad (float64)", adagrad_eps_placement),
    Probe("adagrad.default_eps", "torch.optim.Adagrad", adagrad_default_eps),
    Probe("adagrad.default_lr", "torch.optim.Adagrad", adagrad_default_lr),
    Probe("adagrad.initial_accumulator", "torch.optim.Adagrad (state['sum'])", adagrad_initial_accumulator),
    Probe("linear.default_weight_init", "torch.nn.Linear(100, 2000)", linear_default_weight_init),
    Probe("linear.default_bias_init", "torch.nn.Linear(100, 2000)", linear_default_bias_init),
    Probe("kaiming.default_mode", "torch.nn.init.kaiming_normal_", kaiming_default_mode),
    Probe("kaiming.default_gain", "torch.nn.init.kaiming_normal_", kaiming_default_gain),
    Probe("xavier_normal.distribution", "torch.nn.init.xavier_normal_", xavier_normal_distribution),
    Probe("kaiming_normal.distribution", "torch.nn.init.kaiming_normal_", kaiming_normal_distribution),
    Probe("init.conv_fan_layout", "torch.nn.init.kaiming_normal_ on nn.Conv2d(4, 64, 3).weight", init_conv_fan_layout),
    Probe(
        "attention.boolean_mask_meaning",
        "torch.nn.functional.scaled_dot_product_attention(mask)",
        attention_boolean_mask_meaning,
    ),
    Probe(
        "attention.default_scale",
        "torch.nn.functional.scaled_dot_product_attention",
        attention_default_scale,
    ),
    Probe(
        "attention.fully_masked_row",
        "torch.nn.functional.scaled_dot_product_attention(mask)",
        attention_fully_masked_row,
    ),
    Probe(
        "attention.fully_masked_bias_row",
        "torch.nn.functional.scaled_dot_product_attention(attn_mask)",
        attention_fully_masked_bias_row,
    ),
    Probe(
        "attention.causal_alignment",
        "torch.nn.functional.scaled_dot_product_attention(is_causal=True)",
        attention_causal_alignment,
    ),
    Probe(
        "attention.float64_softmax",
        "torch.nn.functional.scaled_dot_product_attention (float64)",
        attention_float64_softmax,
    ),
    Probe("step_lr.default_gamma", "torch.optim.lr_scheduler.StepLR", step_lr_default_gamma),
    Probe(
        "cosine_annealing_lr.default_eta_min",
        "torch.optim.lr_scheduler.CosineAnnealingLR",
        cosine_annealing_lr_default_eta_min,
    ),
    Probe(
        "cosine_annealing_lr.after_t_max",
        "torch.optim.lr_scheduler.CosineAnnealingLR(T_max=4), 8 steps",
        cosine_annealing_lr_after_t_max,
    ),
    Probe(
        "linear_warmup_lr.default_start_factor",
        "torch.optim.lr_scheduler.LinearLR",
        linear_warmup_lr_default_start_factor,
    ),
    Probe(
        "lr_schedule.first_step_count", "torch.optim.SGD + StepLR(step_size=1, gamma=0.5)", lr_schedule_first_step_count
    ),
    Probe(
        "lr_schedule.float64_hyperparameters",
        "torch.optim.lr_scheduler.StepLR(gamma=0.1)",
        lr_schedule_float64_hyperparameters,
    ),
    Probe("clip_grad_norm.eps", "torch.nn.utils.clip_grad_norm_ (float64)", clip_grad_norm_eps),
    Probe("conv_transpose2d.kernel_layout", "torch.nn.functional.conv_transpose2d", conv_transpose2d_kernel_layout),
    Probe(
        "conv_transpose2d.adjoint_by_default",
        "torch.nn.functional.conv_transpose2d",
        conv_transpose2d_adjoint_by_default,
    ),
    Probe(
        "conv_transpose2d.output_padding_limit",
        "torch.nn.functional.conv_transpose2d",
        conv_transpose2d_output_padding_limit,
    ),
    Probe(
        "conv_transpose2d.same_padding",
        "torch.nn.functional.conv_transpose2d(padding='same')",
        conv_transpose2d_same_padding,
    ),
    Probe("adaptive_avg_pool2d.bins", "torch.nn.functional.adaptive_avg_pool2d", adaptive_avg_pool2d_bins),
    Probe(
        "mha.boolean_mask_meaning",
        "torch.nn.functional.multi_head_attention_forward(attn_mask)",
        mha_boolean_mask_meaning,
    ),
    Probe("mha.projection_layout", "torch.nn.MultiheadAttention(4, 2)", mha_projection_layout),
    Probe("mha.batch_first_default", "torch.nn.MultiheadAttention(4, 2).batch_first", mha_batch_first_default),
    Probe("mha.default_bias", "torch.nn.MultiheadAttention(4, 2).in_proj_bias", mha_default_bias),
    Probe(
        "transformer.norm_first_default",
        "torch.nn.TransformerEncoderLayer(4, 2).norm_first",
        transformer_norm_first_default,
    ),
    Probe(
        "transformer.activation_default",
        "torch.nn.TransformerEncoderLayer(4, 2).activation",
        transformer_activation_default,
    ),
    Probe(
        "transformer.dim_feedforward_default",
        "torch.nn.TransformerEncoderLayer(4, 2).linear1.out_features",
        transformer_dim_feedforward_default,
    ),
    Probe("transformer.layer_norm_eps", "torch.nn.TransformerEncoderLayer(4, 2).norm1.eps", transformer_layer_norm_eps),
    Probe(
        "transformer.batch_first_default",
        "torch.nn.TransformerEncoderLayer(4, 2).self_attn.batch_first",
        transformer_batch_first_default,
    ),
    Probe(
        "transformer.eval_fast_path",
        "torch.nn.TransformerEncoderLayer under no_grad: torch._transformer_encoder_layer_fwd",
        transformer_eval_fast_path,
    ),
    Probe(
        "interpolate.align_corners_default",
        "torch.nn.functional.interpolate(mode='bilinear')",
        interpolate_align_corners_default,
    ),
    Probe(
        "interpolate.nearest_rounding", "torch.nn.functional.interpolate(mode='nearest')", interpolate_nearest_rounding
    ),
    Probe(
        "interpolate.antialias_default",
        "torch.nn.functional.interpolate(mode='bilinear')",
        interpolate_antialias_default,
    ),
    Probe("interpolate.upsampling_layer_mode", "torch.nn.Upsample", interpolate_upsampling_layer_mode),
    Probe(
        "interpolate.scale_factor_coordinates",
        "torch.nn.functional.interpolate(scale_factor=1.5)",
        interpolate_scale_factor_coordinates,
    ),
    Probe(
        "interpolate.bilinear_output_dtype",
        "torch.nn.functional.interpolate(mode='bilinear')",
        interpolate_bilinear_output_dtype,
    ),
)
