"""dlterms' gradient check against torch.autograd.gradcheck: cost, time, and which wrong gradients each catches.

dlterms checks a backend's VJP with one random direction
(:func:`dlterms.conformance.gradcheck.directional_check`): a random cotangent
``v`` and unit direction ``u``, ``vᵀJu`` from one VJP against a central
difference of ``⟨v, f⟩`` along ``u`` (two more forward evaluations).
``torch.autograd.gradcheck`` builds the full Jacobian both ways (two forward
evaluations per input element, one VJP per output element), or with
``fast_mode=True`` compares one random projection of it.

Both checkers here see the *same* gradient: PyTorch's own, or one of a set of
deliberately wrong ones (applied to the gradient of the first differentiated
argument): off by a factor 2, off by 1 %, the wrong sign, transposed (the last
two axes swapped, where they are equal), or one element wrong by 10 % or 1 % of
the largest entry. For each function (float64, inputs of the sizes the
conformance suite generates) it measures, over ``--trials`` random inputs:

* the detection rate of each wrong gradient, and the false-alarm rate of the correct one;
* function evaluations and VJP calls per passing check (counted, not estimated);
* the median wall time of a passing check over ``--repeat`` runs.

The dlterms check is measured with 1 direction and with ``--directions``
directions (:data:`dlterms.conformance.gradcheck.DIRECTIONS`, 3 in the suite),
which share one VJP: 1 VJP + (1 + 2k) forward evaluations.

Usage: ``python benchmarks/gradcheck_compare.py [--trials 50] [--repeat 7] [--directions 3] [--out FILE.json]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from dlterms.conformance import gradcheck
from dlterms.conformance.backends import Backend, OpCall
from dlterms.conformance.backends import torch as torch_adapter
from dlterms.conformance.checks import Violation
from dlterms.conformance.gradcheck import directional_check
from dlterms.conformance.tolerances import gradient

Array = np.ndarray


@dataclass
class Case:
    """One op with its differentiated arguments (float64 arrays) and its other arguments."""

    op: str
    make: Callable[[np.random.Generator], tuple[dict[str, Array], dict[str, Any]]]


def _no_ties(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    # max_pool2d's gradient is not differentiable at ties; a permutation of distinct values has none.
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 2.0).astype(np.float64)


CASES: dict[str, Case] = {
    "sigmoid": Case("sigmoid", lambda r: ({"x": r.normal(size=(6, 6))}, {})),
    "softmax": Case("softmax", lambda r: ({"x": r.normal(size=(6, 6)) * 3}, {"axis": -1})),
    "log_softmax": Case("log_softmax", lambda r: ({"x": r.normal(size=(6, 6)) * 3}, {"axis": -1})),
    "linear": Case(
        "linear",
        lambda r: ({"x": r.normal(size=(6, 6)), "weight": r.normal(size=(6, 6)), "bias": r.normal(size=6)}, {}),
    ),
    "mse_loss": Case(
        "mse_loss", lambda r: ({"input": r.normal(size=(6, 6)), "target": r.normal(size=(6, 6))}, {"reduction": "mean"})
    ),
    "cross_entropy": Case(
        "cross_entropy",
        lambda r: ({"logits": r.normal(size=(6, 6)) * 2}, {"target": r.integers(0, 6, size=6), "reduction": "mean"}),
    ),
    "conv2d": Case(
        "conv2d",
        lambda r: (
            {"x": r.normal(size=(2, 3, 6, 6)), "weight": r.normal(size=(4, 3, 3, 3)), "bias": r.normal(size=4)},
            {"stride": 1, "padding": 1},
        ),
    ),
    "max_pool2d": Case("max_pool2d", lambda r: ({"x": _no_ties(r, (2, 2, 6, 6))}, {"kernel_size": 2})),
    "rnn": Case(
        "rnn",
        lambda r: (
            {
                "x": r.normal(size=(2, 4, 3)),
                "h0": r.normal(size=(2, 5)) * 0.5,
                "w_ih": r.normal(size=(5, 3)) * 0.5,
                "w_hh": r.normal(size=(5, 5)) * 0.5,
                "b_ih": r.normal(size=5) * 0.1,
                "b_hh": r.normal(size=5) * 0.1,
            },
            {},
        ),
    ),
}


# --- the wrong gradients -------------------------------------------------------------------------


def _one_element(fraction: float) -> Callable[[Array, np.random.Generator], Array | None]:
    def wrong(g: Array, rng: np.random.Generator) -> Array:
        out = g.copy()
        idx = tuple(int(rng.integers(0, n)) for n in g.shape)
        out[idx] += fraction * float(np.max(np.abs(g)))
        return out

    return wrong


def _transposed(g: Array, rng: np.random.Generator) -> Array | None:
    if g.ndim < 2 or g.shape[-1] != g.shape[-2]:
        return None  # not applicable
    return np.swapaxes(g, -1, -2).copy()


MUTATIONS: dict[str, Callable[[Array, np.random.Generator], Array | None]] = {
    "correct": lambda g, rng: g,
    "factor 2": lambda g, rng: 2.0 * g,
    "factor 1.01": lambda g, rng: 1.01 * g,
    "sign": lambda g, rng: -g,
    "transposed": _transposed,
    "one element +10%": _one_element(0.10),
    "one element +1%": _one_element(0.01),
}


# --- counting -----------------------------------------------------------------------------------


@dataclass
class Counter:
    forward: int = 0
    vjp: int = 0
    inside_vjp: bool = field(default=False, repr=False)


def _true_grads(op: str, fixed: dict[str, Any], names: list[str], primals: tuple, cot: Any) -> list[torch.Tensor]:
    """PyTorch's own VJP of the adapter op (not counted: it is the gradient under test)."""
    inputs = [p.detach().clone().requires_grad_(True) for p in primals]
    with torch.enable_grad():
        out = getattr(torch_adapter, op)(**fixed, **dict(zip(names, inputs, strict=True)))
        outs = out if isinstance(out, tuple) else (out,)
        cots = cot if isinstance(cot, tuple) else (cot,)
        cots = tuple(torch.zeros_like(o) if c is None else c for o, c in zip(outs, cots, strict=True))
        grads = torch.autograd.grad(outs, inputs, grad_outputs=cots, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(inputs, grads, strict=True)]


def _wrong(grads: list[torch.Tensor], wrong_first: Array | None) -> tuple[torch.Tensor, ...]:
    if wrong_first is not None:
        grads = [torch.as_tensor(wrong_first, dtype=torch.float64), *grads[1:]]
    return tuple(grads)


class Trial:
    """One function, one input, one mutation: run both checkers on the same (possibly wrong) gradient."""

    def __init__(self, case: Case, mutation: str, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.op = case.op
        self.primals, fixed = case.make(rng)
        self.fixed = {k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in fixed.items()}
        self.names = list(self.primals)
        self.mutate = MUTATIONS[mutation]
        self.mutation_seed = int(rng.integers(2**31))
        self.check_seed = int(rng.integers(2**31))
        self.count = Counter()

    def applicable(self) -> bool:
        g0 = np.ones_like(self.primals[self.names[0]])
        return self.mutate(g0, np.random.default_rng(0)) is not None

    def wrong_grads(self, primals: tuple, cot: Any) -> tuple[torch.Tensor, ...]:
        grads = _true_grads(self.op, self.fixed, self.names, primals, cot)
        first = self.mutate(grads[0].detach().numpy(), np.random.default_rng(self.mutation_seed))
        return _wrong(grads, first)

    # -- dlterms: directional_check through a backend whose vjp is the (wrong) gradient
    def backend(self) -> Backend:
        count, trial = self.count, self

        def op(**kwargs: Any) -> Any:
            if not count.inside_vjp:
                count.forward += 1
            return getattr(torch_adapter, trial.op)(**kwargs)

        def vjp(fn: Any, primals: tuple, cotangent: Any) -> tuple:
            count.vjp += 1
            count.inside_vjp = True
            try:
                return trial.wrong_grads(primals, cotangent)
            finally:
                count.inside_vjp = False

        impl = types.SimpleNamespace(
            name="torch-under-test",
            version=torch.__version__,
            dtypes=("float64",),
            asarray=torch_adapter.asarray,
            to_numpy=torch_adapter.to_numpy,
            vjp=vjp,
            **{self.op: op},
        )
        return Backend(impl=impl, name=impl.name, version=impl.version, dtypes=("float64",), found_by="benchmark")

    def dlterms(self, directions: int = 1) -> bool:
        """True when the check fails (the gradient is flagged wrong)."""
        bk = self.backend()
        fn = OpCall(bk, self.op, self.fixed, tuple(self.names))
        rng = np.random.default_rng(self.check_seed)
        primals = [self.primals[n] for n in self.names]
        suite_default, gradcheck.DIRECTIONS = gradcheck.DIRECTIONS, directions
        try:
            directional_check(bk, fn, primals, rng, gradient("float64"), "float64")
        except Violation:
            return True
        finally:
            gradcheck.DIRECTIONS = suite_default
        return False

    # -- PyTorch: gradcheck of an autograd.Function whose backward is the (wrong) gradient
    def torch(self, fast_mode: bool) -> bool:
        count, trial = self.count, self
        fixed = self.fixed

        class UnderTest(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, *primals: torch.Tensor) -> Any:
                count.forward += 1
                ctx.save_for_backward(*primals)
                return getattr(torch_adapter, trial.op)(**fixed, **dict(zip(trial.names, primals, strict=True)))

            @staticmethod
            def backward(ctx: Any, *cots: torch.Tensor) -> Any:
                count.vjp += 1
                return trial.wrong_grads(ctx.saved_tensors, cots if len(cots) > 1 else cots[0])

        inputs = tuple(torch.tensor(self.primals[n], dtype=torch.float64, requires_grad=True) for n in self.names)
        torch.manual_seed(self.check_seed)  # fast_mode draws its random vectors from torch's generator
        ok = torch.autograd.gradcheck(
            UnderTest.apply, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False, fast_mode=fast_mode
        )
        return not ok


CHECKERS: dict[str, Callable[[Trial, int], bool]] = {
    "dlterms (1 direction)": lambda t, k: t.dlterms(1),
    "dlterms (k directions)": lambda t, k: t.dlterms(k),
    "gradcheck fast_mode": lambda t, k: t.torch(True),
    "gradcheck full": lambda t, k: t.torch(False),
}


def measure(trials: int, repeat: int, directions: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    results: dict[str, Any] = {}
    for name, case in CASES.items():
        row: dict[str, Any] = {"detection": {}, "cost": {}, "time_ms": {}}
        for checker, run in CHECKERS.items():
            label = checker.replace("k directions", f"{directions} directions")
            # Cost and time of a passing check (the correct gradient, the common case).
            t = Trial(case, "correct", seed=0)
            run(t, directions)
            row["cost"][label] = {"forward": t.count.forward, "vjp": t.count.vjp}
            # And of a failing one (dlterms then names the worst entry: two evaluations per input element).
            t = Trial(case, "factor 2", seed=0)
            run(t, directions)
            row["cost_failing"] = row.get("cost_failing", {})
            row["cost_failing"][label] = {"forward": t.count.forward, "vjp": t.count.vjp}
            times = []
            for _ in range(repeat):
                t = Trial(case, "correct", seed=0)
                start = time.perf_counter()
                run(t, directions)
                times.append((time.perf_counter() - start) * 1e3)
            row["time_ms"][label] = statistics.median(times)
            # Detection rates over random inputs.
            for mutation in MUTATIONS:
                hits = n = 0
                for seed in range(trials):
                    t = Trial(case, mutation, seed=1000 + seed)
                    if not t.applicable():
                        break
                    n += 1
                    hits += run(t, directions)
                row["detection"].setdefault(mutation, {})[label] = hits / n if n else None
        results[name] = row
        print(f"{name}: done", flush=True)
    return results


def table(results: dict[str, Any]) -> str:
    checkers = list(next(iter(results.values()))["cost"])
    lines = []
    head = "| function | wrong gradient | " + " | ".join(checkers) + " |"
    lines += [head, "|" + "---|" * (len(checkers) + 2)]
    for name, row in results.items():
        for mutation, rates in row["detection"].items():
            cells = ["n/a" if rates[c] is None else f"{rates[c]:.0%}" for c in checkers]
            lines.append(f"| {name} | {mutation} | " + " | ".join(cells) + " |")
        cost = [f"{row['cost'][c]['forward']} + {row['cost'][c]['vjp']} VJP" for c in checkers]
        lines.append(f"| {name} | *evaluations (passing)* | " + " | ".join(cost) + " |")
        cost = [f"{row['cost_failing'][c]['forward']} + {row['cost_failing'][c]['vjp']} VJP" for c in checkers]
        lines.append(f"| {name} | *evaluations (failing)* | " + " | ".join(cost) + " |")
        lines.append(
            f"| {name} | *median time, ms* | " + " | ".join(f"{row['time_ms'][c]:.2f}" for c in checkers) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=50, help="random inputs per function and wrong gradient")
    p.add_argument("--repeat", type=int, default=7, help="timed runs of a passing check (median)")
    p.add_argument("--directions", type=int, default=3, help="directions for the k-direction dlterms variant")
    p.add_argument("--out", help="write the results as JSON")
    args = p.parse_args()
    results = measure(args.trials, args.repeat, args.directions)
    print(table(results))
    if args.out:
        meta = {"machine": platform.processor() or platform.machine(), "python": platform.python_version()}
        meta["torch"] = torch.__version__
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"meta": meta, "settings": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
