# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled kernels of the training step (float32 and float64).

``loss_and_grad`` is one mini-batch's forward pass, loss, output error and
backward pass, with the penalty, in one call: the matrix products go to BLAS
(``scipy.linalg.cython_blas``), everything else runs in C loops, without the
GIL. The ``*_update`` functions are each optimizer's step in one pass over
the parameters. Every kernel mirrors a numpy function of the reference engine
(``Network.loss_and_grad``, the optimizers' ``update``), operation for
operation, and is tested against it; the thin Python wrapper that calls them
is :mod:`skmlp.compiled`.

Arrays are C-contiguous; the parameter vector is laid out as the network's
(every weight matrix row-major, then every bias); a layer's activations
occupy the first ``m * width`` entries of its slot in the flat buffers.
"""

from libc.math cimport (
    exp, expf, expm1, expm1f, fabs, log, log1p, log1pf, logf, sqrt, sqrtf, tanh, tanhf
)
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef fused floating:
    float
    double

# activation codes, as skmlp.compiled.ACTIVATION_CODES
cdef enum:
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    ELU = 5
    GELU = 6
    SOFTPLUS = 7

# loss codes, as skmlp.compiled.LOSS_CODES
cdef enum:
    SQUARED_ERROR = 0
    POISSON = 1
    LOG_LOSS = 2
    BINARY_LOG_LOSS = 3
    ABSOLUTE_ERROR = 4
    HUBER = 5
    QUANTILE = 6
    GAMMA = 7

cdef double LEAKY_SLOPE = 0.01
cdef double GELU_C = 0.7978845608028654  # sqrt(2 / pi)
cdef double GELU_K = 0.044715
cdef double GELU_CLIP = 10.0


# --- matrix products, row-major on top of column-major BLAS ------------------
cdef inline void _gemm(char transa, char transb, int m, int n, int k, floating *a, int lda,
                       floating *b, int ldb, floating *c, int ldc) noexcept nogil:
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc)


cdef inline void _matmul(floating *A, floating *B, floating *C,
                         int m, int k, int n) noexcept nogil:
    """C (m x n) = A (m x k) @ B (k x n), all row-major."""
    _gemm(c'N', c'N', n, m, k, B, n, A, k, C, n)


cdef inline void _matmul_at_b(floating *A, floating *D, floating *C,
                              int m, int k, int n) noexcept nogil:
    """C (k x n) = A.T @ D, with A (m x k) and D (m x n) row-major."""
    _gemm(c'N', c'T', n, k, m, D, n, A, k, C, n)


cdef inline void _matmul_a_bt(floating *D, floating *W, floating *C,
                              int m, int n, int k) noexcept nogil:
    """C (m x k) = D @ W.T, with D (m x n) and W (k x n) row-major."""
    _gemm(c'T', c'N', k, m, n, W, n, D, n, C, k)


# --- single and double precision math -----------------------------------------
cdef inline floating _exp(floating x) noexcept nogil:
    return expf(x) if floating is float else exp(x)


cdef inline floating _expm1(floating x) noexcept nogil:
    return expm1f(x) if floating is float else expm1(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    return log1pf(x) if floating is float else log1p(x)


cdef inline floating _tanh(floating x) noexcept nogil:
    return tanhf(x) if floating is float else tanh(x)


cdef inline floating _sqrt(floating x) noexcept nogil:
    return sqrtf(x) if floating is float else sqrt(x)


# --- activations: forward and derivative, side by side -------------------------
cdef inline floating _sigmoid(floating z) noexcept nogil:
    # exp(min(z, 0)) / (1 + exp(-|z|)): no overflow, as skmlp._math.sigmoid
    cdef floating low = z if z < 0 else 0
    return _exp(low) / (_exp(-fabs(z)) + 1)


cdef void _activate(int code, floating *z, floating *out, Py_ssize_t size) noexcept nogil:
    """out = f(z); out may be z unless the activation keeps its input (gelu).
    One tight loop per activation, so that the compiler can vectorize it."""
    cdef Py_ssize_t i
    cdef floating v, w, c
    cdef floating slope = <floating>LEAKY_SLOPE, half = 0.5
    cdef floating gk = <floating>GELU_K, gc = <floating>GELU_C, clip = <floating>GELU_CLIP
    if code == IDENTITY:
        if out != z:
            for i in range(size):
                out[i] = z[i]
    elif code == LOGISTIC:
        for i in range(size):
            out[i] = _sigmoid(z[i])
    elif code == TANH:
        for i in range(size):
            out[i] = _tanh(z[i])
    elif code == RELU:
        for i in range(size):
            out[i] = z[i] if z[i] > 0 else 0
    elif code == LEAKY_RELU:
        for i in range(size):
            w = z[i] * slope
            out[i] = z[i] if z[i] > w else w
    elif code == ELU:
        for i in range(size):
            v = z[i]
            out[i] = (v if v > 0 else 0) + _expm1(v if v < 0 else 0)
    elif code == SOFTPLUS:
        for i in range(size):
            v = z[i]
            out[i] = (v if v > 0 else 0) + _log1p(_exp(-fabs(v)))
    else:  # GELU, the tanh approximation
        for i in range(size):
            v = z[i]
            c = -clip if v < -clip else (clip if v > clip else v)
            w = (c * c * gk + 1) * c * gc
            out[i] = v * ((_tanh(w) + 1) * half)


cdef void _derive(int code, floating *z, floating *a, floating *delta,
                  Py_ssize_t size) noexcept nogil:
    """delta *= f'(z), from the output a (and z for gelu)."""
    cdef Py_ssize_t i
    cdef floating v, t, p
    cdef floating slope = <floating>LEAKY_SLOPE, rest = <floating>(1 - LEAKY_SLOPE)
    cdef floating k3 = <floating>(3 * GELU_K), c3 = <floating>(GELU_C / 3)
    cdef floating c2 = <floating>(0.5 * GELU_C), half = 0.5, clip = <floating>GELU_CLIP
    if code == LOGISTIC:
        for i in range(size):
            delta[i] *= (1 - a[i]) * a[i]
    elif code == TANH:
        for i in range(size):
            delta[i] *= 1 - a[i] * a[i]
    elif code == RELU:
        for i in range(size):
            delta[i] *= 1 if a[i] > 0 else 0
    elif code == LEAKY_RELU:
        for i in range(size):
            delta[i] *= (1 if a[i] > 0 else 0) * rest + slope
    elif code == ELU:
        for i in range(size):
            delta[i] *= (a[i] if a[i] < 0 else 0) + 1
    elif code == SOFTPLUS:
        for i in range(size):
            delta[i] *= -_expm1(-a[i])
    elif code == GELU:  # (1 + t)(1/2 + c z p (1 - t) / 2), p = 1 + 3 k z^2
        for i in range(size):
            v = z[i]
            v = -clip if v < -clip else (clip if v > clip else v)
            p = (v * v * k3 + 1) * v
            t = _tanh((v * 2 + p) * c3) + 1
            delta[i] = delta[i] * t * (p * c2 * (2 - t) + half)


# --- output links, losses and output errors -------------------------------------
cdef void _link(int loss, floating *z, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t r, j
    cdef floating top, total
    if loss == POISSON or loss == GAMMA:
        for j in range(m * n):
            z[j] = _exp(z[j])
    elif loss == LOG_LOSS:
        for r in range(m):
            top = z[r * n]
            for j in range(1, n):
                if z[r * n + j] > top:
                    top = z[r * n + j]
            total = 0
            for j in range(n):
                z[r * n + j] = _exp(z[r * n + j] - top)
                total += z[r * n + j]
            for j in range(n):
                z[r * n + j] /= total
    elif loss == BINARY_LOG_LOSS:
        for j in range(m * n):
            z[j] = _sigmoid(z[j])


cdef inline floating _clipped_log(floating p, floating eps) noexcept nogil:
    if p < eps:
        p = eps
    if p > 1 - eps:
        p = 1 - eps
    return logf(p) if floating is float else log(p)


cdef double _per_sample(int loss, double setting, floating *y, floating *pred, floating *diff,
                        Py_ssize_t n, floating eps) noexcept nogil:
    """One sample's loss, summed over its n outputs (diff = pred - y)."""
    cdef Py_ssize_t j
    cdef double total = 0, r, size
    for j in range(n):
        r = diff[j]
        if loss == SQUARED_ERROR:
            total += r * r
        elif loss == POISSON:
            if y[j] > 0:
                total += y[j] * (log(y[j]) - log(pred[j]))
            total += r
        elif loss == LOG_LOSS:
            total += y[j] * _clipped_log(pred[j], eps)
        elif loss == BINARY_LOG_LOSS:
            total += (y[j] * _clipped_log(pred[j], eps)
                      + (1 - y[j]) * _clipped_log(1 - pred[j], eps))
        elif loss == ABSOLUTE_ERROR:
            total += fabs(r)
        elif loss == HUBER:
            size = fabs(r)
            total += 0.5 * r * r if size <= setting else setting * (size - 0.5 * setting)
        elif loss == QUANTILE:
            total += -setting * r if -setting * r > (1 - setting) * r else (1 - setting) * r
        else:  # GAMMA
            total += log(pred[j]) - log(y[j]) + y[j] / pred[j] - 1
    return total


cdef void _output_error(int loss, double setting, floating *delta, floating *pred,
                        Py_ssize_t size) noexcept nogil:
    """delta = pred - y becomes the derivative with respect to the raw output."""
    cdef Py_ssize_t j
    cdef floating d = <floating>setting, low = <floating>(-setting), high = <floating>(1 - setting)
    if loss == ABSOLUTE_ERROR:
        for j in range(size):
            delta[j] = 1 if delta[j] > 0 else (-1 if delta[j] < 0 else 0)
    elif loss == HUBER:
        for j in range(size):
            delta[j] = d if delta[j] > d else (-d if delta[j] < -d else delta[j])
    elif loss == QUANTILE:
        for j in range(size):
            delta[j] = low if delta[j] <= 0 else high
    elif loss == GAMMA:
        for j in range(size):
            delta[j] = delta[j] / pred[j]
    # the canonical links: pred - y already is the derivative


# --- one mini-batch -------------------------------------------------------------
def loss_and_grad(
    const floating[:, ::1] X,
    const floating[:, ::1] Y,
    const floating[::1] sample_weight,
    bint weighted,
    floating[::1] params,
    floating[::1] grad,
    floating[::1] acts,
    floating[::1] inputs,
    floating[::1] deltas,
    floating[::1] masks,
    floating[::1] dropped,
    Py_ssize_t[::1] units,
    Py_ssize_t[::1] offsets,
    Py_ssize_t[::1] has_mask,
    int activation,
    int loss,
    double setting,
    double alpha,
    double l1_ratio,
):
    """The penalized loss of the batch (X, Y); its gradient goes to ``grad``.

    ``offsets[i]`` is where layer i's slot starts in ``acts``, ``inputs``
    (pre-activations, gelu only), ``deltas``, ``masks`` and ``dropped``
    (the masked outputs, with dropout); ``has_mask[i]`` says whether hidden
    layer i drops units (its mask already drawn).
    """
    cdef Py_ssize_t m = X.shape[0], n_layers = units.shape[0] - 1
    cdef Py_ssize_t last = n_layers - 1, i, r, j, k, n, coef, bias
    cdef Py_ssize_t n_coef = 0
    cdef double weight_sum, loss_value = 0, l2, l1, norm2, g
    cdef floating scale, eps, gf
    cdef floating *yp
    cdef floating *a_prev
    cdef floating *out
    cdef floating *delta
    cdef floating *prev
    cdef floating *w
    for i in range(n_layers):
        n_coef += units[i] * units[i + 1]
    if floating is float:
        eps = 1.1920928955078125e-07
    else:
        eps = 2.220446049250313e-16

    if weighted:
        weight_sum = 0
        for r in range(m):
            weight_sum += sample_weight[r]
    else:
        weight_sum = m
    if weight_sum <= 0:  # a batch of zero-weight samples teaches nothing
        for j in range(grad.shape[0]):
            grad[j] = 0
        return 0.0

    with nogil:
        # forward
        a_prev = <floating *>&X[0, 0]
        coef = 0
        bias = n_coef
        for i in range(n_layers):
            k, n = units[i], units[i + 1]
            out = &acts[offsets[i]]
            if i == last or activation != GELU:
                _matmul(a_prev, &params[coef], out, m, k, n)
                for r in range(m):
                    for j in range(n):
                        out[r * n + j] += params[bias + j]
            else:
                _matmul(a_prev, &params[coef], &inputs[offsets[i]], m, k, n)
                for r in range(m):
                    for j in range(n):
                        inputs[offsets[i] + r * n + j] += params[bias + j]
            if i == last:
                _link(loss, out, m, n)
            elif activation == GELU:
                _activate(activation, &inputs[offsets[i]], out, m * n)
            else:
                _activate(activation, out, out, m * n)
            if i < last and has_mask[i]:
                for j in range(m * n):
                    dropped[offsets[i] + j] = out[j] * masks[offsets[i] + j]
                a_prev = &dropped[offsets[i]]
            else:
                a_prev = out
            coef += k * n
            bias += n

        # loss and output error
        n = units[n_layers]
        out = &acts[offsets[last]]
        delta = &deltas[offsets[last]]
        yp = <floating *>&Y[0, 0]
        for j in range(m * n):
            delta[j] = out[j] - yp[j]
        for r in range(m):
            g = _per_sample(loss, setting, &yp[r * n], &out[r * n], &delta[r * n], n, eps)
            loss_value += g * (sample_weight[r] if weighted else 1.0)
        if loss == SQUARED_ERROR:
            loss_value *= 0.5
        elif loss == LOG_LOSS or loss == BINARY_LOG_LOSS:
            loss_value = -loss_value
        loss_value /= weight_sum
        _output_error(loss, setting, delta, out, m * n)
        if weighted:
            for r in range(m):
                scale = <floating>(sample_weight[r] / <floating>weight_sum)
                for j in range(n):
                    delta[r * n + j] *= scale
        else:
            scale = <floating>(1.0 / m)
            for j in range(m * n):
                delta[j] *= scale

        # backward
        bias = grad.shape[0]
        coef = n_coef
        for i in range(last, -1, -1):
            k, n = units[i], units[i + 1]
            coef -= k * n
            bias -= n
            delta = &deltas[offsets[i]]
            if i == 0:
                a_prev = <floating *>&X[0, 0]
            elif has_mask[i - 1]:
                a_prev = &dropped[offsets[i - 1]]
            else:
                a_prev = &acts[offsets[i - 1]]
            _matmul_at_b(a_prev, delta, &grad[coef], m, k, n)
            for j in range(n):
                grad[bias + j] = 0
            for r in range(m):
                for j in range(n):
                    grad[bias + j] += delta[r * n + j]
            if i == 0:
                break
            prev = &deltas[offsets[i - 1]]
            _matmul_a_bt(delta, &params[coef], prev, m, n, k)
            if has_mask[i - 1]:
                for j in range(m * k):
                    prev[j] *= masks[offsets[i - 1] + j]
            _derive(activation, &inputs[offsets[i - 1]], &acts[offsets[i - 1]], prev, m * k)

        # the elastic-net penalty on the weights, divided by the weight sum
        if alpha > 0:
            l2 = alpha * (1 - l1_ratio) / weight_sum
            if l2 > 0:
                norm2 = 0
                for j in range(n_coef):
                    norm2 += params[j] * params[j]
                loss_value += 0.5 * l2 * norm2
                for j in range(n_coef):
                    grad[j] += params[j] * <floating>l2
            if l1_ratio > 0:
                l1 = alpha * l1_ratio / weight_sum
                norm2 = 0
                for j in range(n_coef):
                    norm2 += fabs(params[j])
                    if params[j] > 0:
                        grad[j] += <floating>l1
                    elif params[j] < 0:
                        grad[j] -= <floating>l1
                loss_value += l1 * norm2
                # at w == 0 the subgradient of least magnitude (OWL-QN)
                for j in range(n_coef):
                    if params[j] == 0:
                        gf = <floating>fabs(grad[j]) - <floating>l1
                        if gf < 0:
                            gf = 0
                        grad[j] = gf if grad[j] > 0 else (-gf if grad[j] < 0 else 0)
    return loss_value


# --- optimizer steps, one pass each ---------------------------------------------
def sgd_update(floating[::1] params, floating[::1] grad, floating[::1] velocity,
               double rate, double momentum, bint nesterov):
    cdef Py_ssize_t j
    cdef floating work, mu = <floating>momentum, lr = <floating>rate
    with nogil:
        for j in range(params.shape[0]):
            work = grad[j] * lr
            velocity[j] = velocity[j] * mu - work
            if nesterov:
                params[j] = (params[j] - work) + velocity[j] * mu
            else:
                params[j] += velocity[j]


def adam_update(floating[::1] params, floating[::1] grad, floating[::1] m, floating[::1] v,
                double beta_1, double beta_2, double step, double eps_scaled):
    cdef Py_ssize_t j
    cdef floating b1 = <floating>beta_1, b2 = <floating>beta_2
    cdef floating s = <floating>step, e = <floating>eps_scaled
    with nogil:
        for j in range(params.shape[0]):
            m[j] = m[j] * b1 + grad[j]
            v[j] = v[j] * b2 + grad[j] * grad[j]
            params[j] -= m[j] / (_sqrt(v[j]) + e) * s


def nadam_update(floating[::1] params, floating[::1] grad, floating[::1] m, floating[::1] v,
                 double beta_1, double beta_2, double m_scale, double g_scale,
                 double v_scale, double epsilon, double rate):
    cdef Py_ssize_t j
    cdef floating b1 = <floating>beta_1, b2 = <floating>beta_2
    cdef floating one_b1 = <floating>(1 - beta_1), one_b2 = <floating>(1 - beta_2)
    cdef floating ms = <floating>m_scale, gs = <floating>g_scale, vs = <floating>v_scale
    cdef floating e = <floating>epsilon, lr = <floating>rate, numerator
    with nogil:
        for j in range(params.shape[0]):
            m[j] = m[j] * b1 + grad[j] * one_b1
            v[j] = v[j] * b2 + grad[j] * grad[j] * one_b2
            numerator = m[j] * ms + grad[j] * gs
            params[j] -= numerator / (_sqrt(v[j] * vs) + e) * lr


def rmsprop_update(floating[::1] params, floating[::1] grad, floating[::1] v,
                   double rho, double epsilon, double rate):
    cdef Py_ssize_t j
    cdef floating r = <floating>rho, one_r = <floating>(1 - rho)
    cdef floating e = <floating>epsilon, lr = <floating>rate
    with nogil:
        for j in range(params.shape[0]):
            v[j] = v[j] * r + grad[j] * grad[j] * one_r
            params[j] -= grad[j] / (_sqrt(v[j]) + e) * lr


def adagrad_update(floating[::1] params, floating[::1] grad, floating[::1] G,
                   double epsilon, double rate):
    cdef Py_ssize_t j
    cdef floating e = <floating>epsilon, lr = <floating>rate
    with nogil:
        for j in range(params.shape[0]):
            G[j] += grad[j] * grad[j]
            params[j] -= grad[j] / (_sqrt(G[j]) + e) * lr
