"""Where one W1 training epoch's time goes, component by component.

``python benchmarks/profile_epoch.py [float32|float64]`` runs one epoch of the
W1 workload (50,000 x 100, hidden (256, 128), relu, adam, batch 200) through
skmlp's engine, then times each component alone over the same batches on the
same buffers: the matrix multiplies, the bias additions and bias gradients,
the hidden activations and their derivatives, the output link and loss, the
L2 penalty, the optimizer, and the batch gathering. What is left of the epoch
is Python overhead (and whatever the parts do differently together).

It uses only the engine's public structure, so it can time an older checkout
too: ``PYTHONPATH=<checkout> python benchmarks/profile_epoch.py``. Where the
compiled kernels are built, it also times the same epoch on them and reports
the share of that epoch spent outside the matrix multiplies.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

# the skmlp of this checkout, not one installed in the environment: python
# puts benchmarks/ first on the path, so a plain import would find the latter
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skmlp.network import Network
from skmlp.optimizers import Adam

N, D, HIDDEN, K, BATCH, ALPHA = 50_000, 100, (256, 128), 10, 200, 1e-4


def _time(fn, batches):
    start = time.perf_counter()
    for b in batches:
        fn(b)
    return time.perf_counter() - start


def profile(dtype, repeats: int = 3) -> dict:
    rng = np.random.RandomState(0)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.randint(0, K, N)
    Y = y[:, None] == np.arange(K)
    net = Network([D, *HIDDEN, K], "relu", "log_loss")
    params = net.init_params(rng, "sklearn", dtype)
    ws = net.workspace(BATCH, params)
    opt = Adam()
    state = opt.init(params)
    order = rng.permutation(N)
    Xb = np.empty((BATCH, D), dtype)
    Yb = np.empty((BATCH, K), bool)
    batches = [order[s : s + BATCH] for s in range(0, N, BATCH)]
    L = net.n_layers

    def gather(idx):
        np.take(X, idx, axis=0, out=Xb[: len(idx)])
        np.take(Y, idx, axis=0, out=Yb[: len(idx)])

    def step(idx):
        gather(idx)
        net.loss_and_grad(ws, Xb, Yb, None, ALPHA)
        opt.update(ws.grad, state, params, 1e-3)

    def matmuls(idx):
        a = Xb
        for i in range(L):
            np.matmul(a, ws.coefs[i], out=ws.outputs[i])
            a = ws.outputs[i]
        for i in range(L - 1, -1, -1):
            a_prev = Xb if i == 0 else ws.outputs[i - 1]
            np.matmul(a_prev.T, ws.deltas[i], out=ws.coef_grads[i])
            if i > 0:
                np.matmul(ws.deltas[i], ws.coefs[i].T, out=ws.deltas[i - 1])

    def biases(idx):
        for i in range(L):
            ws.outputs[i] += ws.intercepts[i]
            np.add.reduce(ws.deltas[i], axis=0, out=ws.intercept_grads[i])

    works = [np.empty_like(out) for out in ws.outputs[:-1]]

    def activations(idx):
        act = net.activation
        for i in range(L - 1):
            out, work = ws.outputs[i], works[i]
            act.forward(out, out, work)
            act.derivative(out, out, ws.deltas[i], work)

    def loss(idx):
        pred = ws.outputs[L - 1]
        net.loss.link(pred)
        delta = ws.deltas[L - 1]
        np.subtract(pred, Yb, out=delta)
        net.loss.value(Yb, pred, delta, None)
        delta *= 1.0 / BATCH

    def penalty(idx):
        w = params[: net.n_coef]
        float(np.vdot(w, w))
        np.multiply(w, ALPHA / BATCH, out=ws.penalty_work)
        ws.grad[: net.n_coef] += ws.penalty_work

    def optimizer(idx):
        opt.update(ws.grad, state, params, 1e-3)

    parts = {
        "matrix multiplies": matmuls,
        "bias add + bias grads": biases,
        "activations + derivatives": activations,
        "output link + loss": loss,
        "L2 penalty": penalty,
        "optimizer (adam)": optimizer,
        "shuffle + gather batch": gather,
    }
    step(batches[0])  # warm up
    results = {"epoch": min(_time(step, batches) for _ in range(repeats))}
    for name, fn in parts.items():
        results[name] = min(_time(fn, batches) for _ in range(repeats))
    results["python + other"] = results["epoch"] - sum(results[k] for k in parts)
    compiled_epoch = _compiled_epoch(net, params, opt, X, Y, batches, repeats)
    if compiled_epoch is not None:
        results["compiled engine epoch"] = compiled_epoch
    return results


def _compiled_epoch(net, params, opt, X, Y, batches, repeats):
    """The same epoch on the compiled engine (batch kernel + fused update), or
    None where the kernels are not built (or this is an older checkout)."""
    try:
        import skmlp.compiled as compiled
    except ImportError:
        return None
    if compiled._kernels is None:
        return None
    dtype = params.dtype
    ws = net.workspace(BATCH, params.copy())
    fast = compiled.CompiledStep(net, ws, BATCH)
    update = opt.compiled_update(compiled._kernels)
    state = opt.init(ws.params)
    Yf = Y.astype(dtype)
    Xb, Yb = np.empty((BATCH, X.shape[1]), dtype), np.empty((BATCH, K), dtype)

    def step(idx):
        np.take(X, idx, axis=0, out=Xb[: len(idx)])
        np.take(Yf, idx, axis=0, out=Yb[: len(idx)])
        fast.loss_and_grad(Xb[: len(idx)], Yb[: len(idx)], None, ALPHA, 0.0)
        update(ws.grad, state, ws.params, 1e-3)

    step(batches[0])
    return min(_time(step, batches) for _ in range(repeats))


def main() -> None:
    dtypes = sys.argv[1:] or ["float32", "float64"]
    import skmlp.network

    print(f"profiling the engine in {skmlp.network.__file__}")
    for dtype in dtypes:
        res = profile(np.dtype(dtype))
        epoch = res["epoch"]
        print(f"\nW1 epoch, {dtype}: {epoch * 1000:.0f} ms")
        for name, seconds in res.items():
            if name not in ("epoch", "compiled engine epoch"):
                print(f"  {name:28s} {seconds * 1000:7.1f} ms  {100 * seconds / epoch:5.1f}%")
        if "compiled engine epoch" in res:
            fast, matmuls = res["compiled engine epoch"], res["matrix multiplies"]
            print(
                f"compiled engine: {fast * 1000:.0f} ms per epoch; outside the matrix "
                f"multiplies (numpy's timing of the same products): "
                f"{(fast - matmuls) * 1000:.0f} ms, {100 * (fast - matmuls) / fast:.0f}%"
            )


if __name__ == "__main__":
    main()
