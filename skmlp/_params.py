"""The estimators' hyperparameters, each declared once.

A :class:`Hyperparameter` holds a parameter's name, default, scikit-learn
constraints and numpydoc text. ``_parameter_constraints`` and the
Parameters section of each estimator's docstring (:mod:`skmlp._docs`) are
built from the tuples below (:func:`constraints`, :func:`parameters_doc`); the estimators'
explicit ``__init__`` signatures are checked against them by
``tests/test_params.py``, and :func:`store` sets what they take. Adding a
hyperparameter is one declaration here plus its line in each ``__init__``
signature.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError, Options, StrOptions

from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES

__all__ = [
    "CLASSIFIER",
    "REGRESSOR",
    "SHARED",
    "TABULAR_CLASSIFIER",
    "TABULAR_REGRESSOR",
    "Hyperparameter",
    "constraints",
    "dropout_rates",
    "hidden_sizes",
    "parameters_doc",
    "store",
]


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: what ``__init__`` takes and how it is documented.

    ``kind`` is the numpydoc type (``float``, ``{'a', 'b'}``); the entry reads
    ``name : kind, default=shown`` followed by ``doc``, where ``shown`` is
    ``repr(default)`` unless ``shown_default`` spells it (``1e-4``).
    """

    name: str
    default: object
    constraints: tuple
    kind: str
    doc: str
    shown_default: str | None = None

    def entry(self) -> str:
        """The numpydoc entry, indented for a class docstring."""
        shown = repr(self.default) if self.shown_default is None else self.shown_default
        lines = [f"    {self.name} : {self.kind}, default={shown}"]
        lines += [f"        {line}" if line else "" for line in self.doc.strip().split("\n")]
        return "\n".join(lines)


def _one_of(names, default: str) -> str:
    """The numpydoc type ``{'default', 'other', ...}``: the default first,
    then the others in registry order."""
    ordered = [default, *(n for n in names if n != default)]
    return "{" + ", ".join(repr(n) for n in ordered) + "}"


def _param(name, default, constraints, kind, doc, shown_default=None) -> Hyperparameter:
    return Hyperparameter(name, default, tuple(constraints), kind, doc, shown_default)


_POSITIVE = Interval(Real, 0, None, closed="neither")
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")
_UNIT = Interval(Real, 0, 1, closed="left")  # a decay rate or a fraction, in [0, 1)
_COUNT = Interval(Integral, 1, None, closed="left")
_SOLVERS = (*OPTIMIZERS, "lbfgs")
_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")
_DTYPES = ("auto", "float32", "float64")
_REGRESSION_LOSSES = ("squared_error", "poisson", "absolute_error", "huber", "quantile", "gamma")


# --- the architecture ---------------------------------------------------
_HIDDEN_LAYER_SIZES = _param(
    "hidden_layer_sizes",
    (100,),
    ["array-like", _COUNT],
    "array-like of shape (n_layers - 2,)",
    """
The ith element is the number of units in the ith hidden layer.""",
)
_ACTIVATION = _param(
    "activation",
    "relu",
    [StrOptions(set(ACTIVATIONS))],
    _one_of(ACTIVATIONS, "relu"),
    """
Activation of the hidden layers. The first four are scikit-learn's;
``leaky_relu`` has slope 0.01 below zero, ``elu`` has alpha 1 and
``gelu`` is the tanh approximation.""",
)
_SOLVER = _param(
    "solver",
    "adam",
    [StrOptions(set(_SOLVERS))],
    _one_of(_SOLVERS, "adam"),
    """
The weight optimizer: Adam, stochastic gradient descent with
(Nesterov) momentum, scipy's full-batch L-BFGS-B, or the stochastic
AdamW (Adam with decoupled ``weight_decay``), RMSProp, Adagrad
(try ``learning_rate_init=0.01``) and NAdam. The update equations are
in the documentation's optimization page.""",
)
_ALPHA = _param(
    "alpha",
    0.0001,
    [_NON_NEGATIVE],
    "float",
    """
Strength of the L2 penalty on the weights (not the biases). As in
scikit-learn the penalty ``alpha / 2 * ||W||^2`` is divided by the
(weighted) number of samples in each batch.""",
)
_BATCH_SIZE = _param(
    "batch_size",
    "auto",
    [StrOptions({"auto"}), _COUNT],
    "int or 'auto'",
    """
Samples per mini-batch for the stochastic solvers; ``'auto'`` is
``min(200, n_samples)``. ``n_samples`` gives full-batch gradient
descent and ``1`` online SGD. Ignored by ``'lbfgs'``.""",
)
_LEARNING_RATE = _param(
    "learning_rate",
    "constant",
    [StrOptions(set(SCHEDULES))],
    _one_of(SCHEDULES, "constant"),
    """
Learning-rate schedule. scikit-learn's three apply to
``solver='sgd'`` only, exactly as there: ``'invscaling'`` uses
``learning_rate_init / (t_ + 1) ** power_t`` each epoch;
``'adaptive'`` divides the rate by 5 whenever the stopping rule would
otherwise stop training, until it falls below 1e-6. The others apply
to every stochastic solver: ``'plateau'`` is ``'adaptive'`` for any
solver, dividing by ``plateau_factor`` until the rate is at or below
``max(learning_rate_min, 1e-12)``; ``'step'`` multiplies the rate by
``decay_rate`` every ``decay_epochs`` epochs; ``'exponential'`` by
``decay_rate ** (epoch / decay_epochs)``; ``'cosine'`` anneals it to
``learning_rate_min`` over ``max_iter`` epochs; ``'cosine_restarts'``
is SGDR (periods ``restart_epochs``, growing by ``restart_mult``);
``'cyclic'`` cycles between ``learning_rate_init`` and
``learning_rate_max`` (half-cycle ``half_cycle_epochs``, amplitude by
``cyclic_mode``); ``'one_cycle'`` rises to ``learning_rate_max`` over
``peak_fraction`` of training, then anneals to
``learning_rate_min``. The last three change the rate every batch,
the others every epoch. Preview any of them with
:func:`skmlp.learning_rate_schedule`.""",
)
_LEARNING_RATE_INIT = _param(
    "learning_rate_init",
    0.001,
    [_POSITIVE, StrOptions({"auto"})],
    "float or 'auto'",
    """
The initial learning rate of the stochastic solvers. ``'auto'`` runs
the learning-rate range test (:func:`skmlp.lr_range_test`) on the
training data at the start of ``fit`` and uses its suggestion,
stored as ``learning_rate_init_``.""",
)
_POWER_T = _param(
    "power_t",
    0.5,
    [_NON_NEGATIVE],
    "float",
    """
Exponent of ``learning_rate='invscaling'``.""",
)
_MAX_ITER = _param(
    "max_iter",
    200,
    [_COUNT],
    "int",
    """
Maximum number of epochs (stochastic solvers) or iterations
(``'lbfgs'``).""",
)
_SHUFFLE = _param(
    "shuffle",
    True,
    ["boolean"],
    "bool",
    """
Whether to shuffle the samples every epoch.""",
)
_RANDOM_STATE = _param(
    "random_state",
    None,
    ["random_state"],
    "int, RandomState instance or None",
    """
Seeds the weight initialization, the validation split and the
shuffling. An int gives bit-identical fits.""",
)
_TOL = _param(
    "tol",
    1e-4,
    [_NON_NEGATIVE],
    "float",
    """
Tolerance of the stopping rule: training stops when the loss (or the
validation score with ``early_stopping``) fails to improve by ``tol``
for more than ``n_iter_no_change`` consecutive epochs. For
``'lbfgs'`` it is the gradient tolerance ``gtol``.""",
    shown_default="1e-4",
)
_VERBOSE = _param(
    "verbose",
    False,
    ["verbose"],
    "bool or int",
    """
Whether to print progress: any truthy value prints scikit-learn's
lines (``Iteration 3, loss = 0.12345678`` per epoch, the validation
score with ``early_stopping``, and why training stopped). The other
per-epoch numbers are in ``history_``.""",
)
_WARM_START = _param(
    "warm_start",
    False,
    ["boolean"],
    "bool",
    """
Reuse the previous fit's solution as initialization. Unlike
scikit-learn, the optimizer's state (Adam's moments and step count,
SGD's velocity, the adaptive learning rate) carries over too, so
that two warm-started fits continue one run; see the deviations page.""",
)
_MOMENTUM = _param(
    "momentum",
    0.9,
    [Interval(Real, 0, 1, closed="both")],
    "float",
    """
Momentum of ``solver='sgd'``.""",
)
_NESTEROVS_MOMENTUM = _param(
    "nesterovs_momentum",
    True,
    ["boolean"],
    "bool",
    """
Whether ``solver='sgd'`` uses Nesterov's momentum.""",
)
_EARLY_STOPPING = _param(
    "early_stopping",
    False,
    ["boolean"],
    "bool",
    """
Hold out ``validation_fraction`` of the training data (stratified for
single-output classification), stop when its score stops improving,
and restore the best-scoring weights. Stochastic solvers only.""",
)
_VALIDATION_FRACTION = _param(
    "validation_fraction",
    0.1,
    [_UNIT],
    "float",
    """
Fraction of the training data held out for ``early_stopping``.""",
)
_BETA_1 = _param(
    "beta_1",
    0.9,
    [_UNIT],
    "float",
    """
Decay rate of Adam's first-moment estimate, in [0, 1).""",
)
_BETA_2 = _param(
    "beta_2",
    0.999,
    [_UNIT],
    "float",
    """
Decay rate of Adam's second-moment estimate, in [0, 1).""",
)
_EPSILON = _param(
    "epsilon",
    1e-8,
    [_POSITIVE],
    "float",
    """
Adam's numerical-stability constant.""",
    shown_default="1e-8",
)
_N_ITER_NO_CHANGE = _param(
    "n_iter_no_change",
    10,
    [_COUNT, Options(Real, {np.inf})],
    "int",
    """
Patience of the stopping rule, in epochs.""",
)
_MAX_FUN = _param(
    "max_fun",
    15000,
    [_COUNT],
    "int",
    """
Maximum number of loss evaluations of ``'lbfgs'``.""",
)
_WEIGHT_INIT = _param(
    "weight_init",
    "sklearn",
    [StrOptions(set(INITIALIZERS))],
    _one_of(INITIALIZERS, "sklearn"),
    """
Weight initialization. ``'sklearn'`` reproduces scikit-learn's draws
exactly; the others are the Glorot/Xavier (tanh, logistic), He/MSRA
(relu family) and LeCun schemes with zero biases.""",
)
_DTYPE = _param(
    "dtype",
    "auto",
    [StrOptions(set(_DTYPES))],
    _one_of(_DTYPES, "auto"),
    """
The floating-point type the network trains and predicts in.
``'auto'`` keeps float32 input in float32 and trains float64 input in
float32 when the solver is stochastic and there are at least 10,000
training samples (about twice as fast, with no measurable accuracy
cost), in float64 otherwise. Predictions always come back in the
floating dtype of the ``X`` passed to ``predict``.""",
)
_WEIGHT_DECAY = _param(
    "weight_decay",
    0.0,
    [_NON_NEGATIVE],
    "float",
    """
Decoupled weight decay (Loshchilov & Hutter 2019): before each
update the weights (not the biases) shrink by
``learning_rate * weight_decay`` of themselves. Honoured by
``solver='sgd'`` and ``'adamw'``, ignored by the others; distinct from
``alpha``, scikit-learn's L2 term added to the gradient.""",
)
_RHO = _param(
    "rho",
    0.9,
    [_UNIT],
    "float",
    """
Decay rate of RMSProp's squared-gradient average, in [0, 1).""",
)

# --- the schedules' settings ---------------------------------------------
_LEARNING_RATE_MIN = _param(
    "learning_rate_min",
    0.0,
    [_NON_NEGATIVE],
    "float",
    """
The floor that ``'cosine'`` and ``'cosine_restarts'`` anneal to, and
the final rate of ``'one_cycle'``.""",
)
_LEARNING_RATE_MAX = _param(
    "learning_rate_max",
    None,
    [_POSITIVE, None],
    "float or None",
    """
The top rate of ``'cyclic'`` and the peak of ``'one_cycle'``; must be
at least ``learning_rate_init``. ``None`` is 10 x
``learning_rate_init``.""",
)
_DECAY_RATE = _param(
    "decay_rate",
    0.5,
    [Interval(Real, 0, 1, closed="right")],
    "float",
    """
The factor of ``'step'`` and ``'exponential'`` per ``decay_epochs``,
and of ``cyclic_mode='exp_range'``'s amplitude, in (0, 1].""",
)
_DECAY_EPOCHS = _param(
    "decay_epochs",
    10,
    [_POSITIVE],
    "float",
    """
The period of ``decay_rate``, in epochs.""",
)
_RESTART_EPOCHS = _param(
    "restart_epochs",
    10,
    [_POSITIVE],
    "float",
    """
The first period of ``'cosine_restarts'``, in epochs.""",
)
_RESTART_MULT = _param(
    "restart_mult",
    2,
    [Interval(Real, 1, None, closed="left")],
    "float",
    """
Each ``'cosine_restarts'`` period is this many times the previous.""",
)
_HALF_CYCLE_EPOCHS = _param(
    "half_cycle_epochs",
    4,
    [_POSITIVE],
    "float",
    """
Half a cycle of ``'cyclic'`` (base to top), in epochs.""",
)
_CYCLIC_MODE = _param(
    "cyclic_mode",
    "triangular",
    [StrOptions(set(_CYCLIC_MODES))],
    _one_of(_CYCLIC_MODES, "triangular"),
    """
The amplitude of ``'cyclic'``: constant, halved every cycle, or
multiplied by ``decay_rate`` every ``decay_epochs``.""",
)
_PEAK_FRACTION = _param(
    "peak_fraction",
    0.3,
    [Interval(Real, 0, 1, closed="neither")],
    "float",
    """
Fraction of training over which ``'one_cycle'`` rises to its peak.""",
)
_WARMUP_EPOCHS = _param(
    "warmup_epochs",
    0,
    [_NON_NEGATIVE],
    "float",
    """
Linear warm-up for any schedule: the rate of update ``s`` is
multiplied by ``min(1, (s + 1) / (warmup_epochs * steps_per_epoch))``.
Must be shorter than ``max_iter``.""",
)

# --- regularization and early stopping -----------------------------------
_L1_RATIO = _param(
    "l1_ratio",
    0.0,
    [Interval(Real, 0, 1, closed="both")],
    "float",
    """
Elastic-net mixing of the ``alpha`` penalty, as scikit-learn's
ElasticNet: ``alpha * ((1 - l1_ratio) / 2 * ||W||^2 + l1_ratio *
||W||_1)``, divided by the batch's sample-weight sum. ``0`` is
scikit-learn's L2 term; ``1`` is pure L1, whose clipped updates set
weights to exactly zero. Biases are never penalized.""",
)
_DROPOUT = _param(
    "dropout",
    0.0,
    [_UNIT, tuple, list],
    "float or tuple of float",
    """
Fraction of units dropped in each hidden layer during training
(inverted dropout: kept units are scaled by ``1 / (1 - dropout)``,
nothing is dropped at prediction). A float applies to every hidden
layer, a tuple gives one rate per hidden layer. Masks are drawn from
``random_state``, so fits are reproducible.""",
)
_SCORING = _param(
    "scoring",
    None,
    [None, str, callable],
    "str, callable or None",
    """
What ``early_stopping`` monitors on the validation split, with
HistGradientBoosting's convention: ``None`` is the estimator's
``score`` (accuracy or R², scikit-learn's behaviour), ``'loss'`` the
validation loss (lower is better), any other string a scorer name
(``sklearn.metrics.get_scorer``), or a callable
``scorer(estimator, X, y)`` (called with ``sample_weight=`` too, when
there are weights and it accepts them). The best-scoring weights are restored
at the end and ``best_epoch_`` says which epoch they came from.""",
)
_MAX_GRAD_NORM = _param(
    "max_grad_norm",
    None,
    [None, _POSITIVE],
    "float or None",
    """
When set, each batch's gradient (penalty included) is rescaled to a
global L2 norm of at most this value before the optimizer's step;
``history_['clipped']`` counts the rescaled steps of each epoch.
Stochastic solvers only (``'lbfgs'`` ignores it).""",
)
_PLATEAU_FACTOR = _param(
    "plateau_factor",
    5.0,
    [Interval(Real, 1, None, closed="neither")],
    "float",
    """
What ``learning_rate='plateau'`` divides the rate by on a plateau;
greater than 1.""",
)

# --- one estimator's only ------------------------------------------------
_CLASS_WEIGHT = _param(
    "class_weight",
    None,
    [StrOptions({"balanced"}), dict, None],
    "dict, 'balanced' or None",
    """
Weights of the classes, multiplied into ``sample_weight``:
``'balanced'`` uses ``n_samples / (n_classes * count(class))``; a
dict maps class labels to weights (missing classes weigh 1; a key
that is not a class is an error).""",
)
_LABEL_SMOOTHING = _param(
    "label_smoothing",
    0.0,
    [_UNIT],
    "float",
    """
Label smoothing ``eps`` in [0, 1): the training targets become
``(1 - eps) * y + eps / K`` (``K`` classes for a softmax output, 2
for each logistic one). ``loss_``, ``loss_curve_`` and ``history_``
then report the smoothed objective; scores and scorers use the true
labels.""",
)
_LOSS = _param(
    "loss",
    "squared_error",
    [StrOptions(set(_REGRESSION_LOSSES))],
    _one_of(_REGRESSION_LOSSES, "squared_error"),
    """
The loss. ``'poisson'`` and ``'gamma'`` use a log link and need
``y >= 0`` and ``y > 0``; ``'absolute_error'`` (the median) and
``'huber'`` resist outliers; ``'quantile'`` estimates the
``quantile``-th conditional quantile. ``score`` stays R².""",
)
_HUBER_DELTA = _param(
    "huber_delta",
    1.0,
    [_POSITIVE],
    "float",
    """
Where ``loss='huber'`` turns from quadratic to linear, in units of
``y`` (``epsilon`` is Adam's); greater than 0.""",
)
_QUANTILE = _param(
    "quantile",
    0.5,
    [Interval(Real, 0, 1, closed="neither")],
    "float",
    """
The quantile ``loss='quantile'`` estimates, in (0, 1)
(HistGradientBoosting's name and meaning).""",
)


# in signature order: every estimator takes these, after its own leading ones
SHARED = (
    _HIDDEN_LAYER_SIZES,
    _ACTIVATION,
    _SOLVER,
    _ALPHA,
    _BATCH_SIZE,
    _LEARNING_RATE,
    _LEARNING_RATE_INIT,
    _POWER_T,
    _MAX_ITER,
    _SHUFFLE,
    _RANDOM_STATE,
    _TOL,
    _VERBOSE,
    _WARM_START,
    _MOMENTUM,
    _NESTEROVS_MOMENTUM,
    _EARLY_STOPPING,
    _VALIDATION_FRACTION,
    _BETA_1,
    _BETA_2,
    _EPSILON,
    _N_ITER_NO_CHANGE,
    _MAX_FUN,
    _WEIGHT_INIT,
    _DTYPE,
    _WEIGHT_DECAY,
    _RHO,
    _LEARNING_RATE_MIN,
    _LEARNING_RATE_MAX,
    _DECAY_RATE,
    _DECAY_EPOCHS,
    _RESTART_EPOCHS,
    _RESTART_MULT,
    _HALF_CYCLE_EPOCHS,
    _CYCLIC_MODE,
    _PEAK_FRACTION,
    _WARMUP_EPOCHS,
    _L1_RATIO,
    _DROPOUT,
    _SCORING,
    _MAX_GRAD_NORM,
    _PLATEAU_FACTOR,
)

# each estimator's parameters, in its ``__init__``'s order
CLASSIFIER = (*SHARED, _CLASS_WEIGHT, _LABEL_SMOOTHING)
REGRESSOR = (_LOSS, *SHARED, _HUBER_DELTA, _QUANTILE)


def constraints(parameters) -> dict:
    """``_parameter_constraints`` of an estimator taking ``parameters``."""
    return {p.name: list(p.constraints) for p in parameters}


def store(estimator, parameters, arguments: dict) -> None:
    """Set each of ``parameters`` on ``estimator`` from ``arguments``, the
    ``locals()`` of its ``__init__``: unchanged, as scikit-learn requires, and
    every declared one, so a parameter cannot be taken but not stored."""
    for p in parameters:
        setattr(estimator, p.name, arguments[p.name])


def parameters_doc(parameters) -> str:
    """The body of the numpydoc Parameters section for ``parameters``."""
    return "\n\n".join(p.entry() for p in parameters)


# --- the checks a parameter's constraints cannot express --------------------
def hidden_sizes(hidden_layer_sizes) -> list[int]:
    """``hidden_layer_sizes`` as a list of positive ints (one int is one layer)."""
    sizes = hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if not all(isinstance(s, Integral) and s > 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must contain positive integers, got {sizes}.")
    return [int(s) for s in sizes]


def dropout_rates(dropout, n_hidden: int, owner: str) -> tuple:
    """``dropout`` as one rate in [0, 1) per hidden layer of ``owner``'s network."""
    rates = dropout
    if np.iterable(rates):
        rates = tuple(rates)
        if len(rates) != n_hidden:
            raise InvalidParameterError(
                f"The 'dropout' parameter of {owner} has {len(rates)} "
                f"values but there are {n_hidden} hidden layers; give one rate per "
                "hidden layer or a single float."
            )
    else:
        rates = (rates,) * n_hidden
    for r in rates:
        if not (isinstance(r, Real) and 0.0 <= r < 1.0):
            raise InvalidParameterError(
                f"The 'dropout' parameter of {owner} must be a float in "
                f"[0, 1) or a tuple of them (the fraction of units dropped); got "
                f"{dropout!r}."
            )
    return tuple(float(r) for r in rates)


# --- the tabular estimators ---------------------------------------------
# TabularMLPClassifier/Regressor take every shared hyperparameter but
# ``weight_init`` (their layers initialize from the data), with RealMLP-TD's
# defaults, and their own below.
_NUMERIC_EMBEDDINGS = ("pbld", "periodic", "piecewise_linear")
_NUMERIC_EMBEDDING = _param(
    "numeric_embedding",
    "pbld",
    [StrOptions(set(_NUMERIC_EMBEDDINGS)), None],
    "{'pbld', 'periodic', 'piecewise_linear'} or None",
    """
How each numeric column enters the network: ``'pbld'`` is RealMLP's
embedding (the value and 3 learned combinations of 16 cosines of it,
:class:`skmlp.layers.PBLDEmbedding`), ``'periodic'`` the cosines and
sines of learned frequencies, ``'piecewise_linear'`` a learned
piecewise-linear encoding over quantile bins; ``None`` passes the scaled
value alone.""",
)
_NUMERIC_SCALING = _param(
    "numeric_scaling",
    "robust_smooth_clip",
    [StrOptions({"robust_smooth_clip", "standard"})],
    "{'robust_smooth_clip', 'standard'}",
    """
How numeric columns are scaled before the network, learned in ``fit``:
``'robust_smooth_clip'`` is RealMLP's median/IQR scaling followed by the
smooth clip ``z / sqrt(1 + (z / 3)^2)``
(:class:`skmlp.preprocessing.RobustScaleSmoothClip`); ``'standard'``
subtracts the mean and divides by the standard deviation.""",
)
_LOG_SKEWED = _param(
    "log_skewed",
    True,
    ["boolean"],
    "bool",
    """
Whether numeric columns with a long right tail (non-negative, with a
maximum more than 5 interquartile ranges above the upper quartile:
counts, sizes, amounts) are replaced by ``sign(x) log(1 + |x|)`` before
scaling, so that smooth clipping does not squeeze their tail together.
An skmlp addition to RealMLP's recipe (docs/tabular.md measures it).""",
)
_CATEGORICAL_FEATURES = _param(
    "categorical_features",
    "from_dtype",
    ["array-like", StrOptions({"from_dtype"}), None],
    "array-like of int, str or bool, 'from_dtype' or None",
    """
Which columns are categorical, as HistGradientBoosting takes it:
``'from_dtype'`` treats pandas/polars categorical, string and object
columns as categorical; or the columns' indices, names, or a boolean
mask; ``None``: none. Two-level columns become one +-1 feature, up to 9
levels a one-hot encoding, more a learned embedding of 8 values.
Unseen levels at prediction are encoded as unknown, never an error.""",
)
_PARAMETRIC_ACTIVATION = _param(
    "parametric_activation",
    True,
    ["boolean"],
    "bool",
    """
Whether each hidden unit's activation is RealMLP's parametric form
``(1 - a) x + a f(x)``, with ``a`` learned per unit from 1 (at a tenth of
the learning rate); ``False`` uses ``f`` itself.""",
)
_N_ENSEMBLE = _param(
    "n_ensemble",
    4,
    [_COUNT],
    "int",
    """
Members of a TabM-mini ensemble trained in one pass: they share the
hidden layers, and each has its own learned input scaling (random signs
at the start) and its own output layer. The training loss is the mean of
the members' losses; predictions average the members (probabilities for
a classifier). ``1`` trains one network. 4 members cost about as much as
one network of twice the width (docs/tabular.md measures the choice);
``2`` fits in 0.5x to 0.75x the time, for slightly lower scores.""",
)


# what the tabular estimators constrain differently: (constraints, kind)
_TABULAR_KINDS = {"max_iter": ([_COUNT, StrOptions({"auto"})], "int or 'auto'")}
# what the tabular estimators document differently
_TABULAR_DOCS = {
    "max_iter": """
Epochs to train (``'lbfgs'``: iterations). ``'auto'`` trains 64 epochs,
and up to 128 on small data, so that a fit sees about 65,536 training
rows (64 epochs of 1,024): ``min(128, max(64, ceil(65536 / n)))`` for
``n`` training rows (after the validation split). A small table's fit
then costs at most what a 1,024-row one does, and its network gets the
updates it needs (docs/tabular.md measures the choice).""",
    "batch_size": """
Samples per mini-batch; ``'auto'`` is ``min(256, n_samples)`` (RealMLP-TD's
256). Ignored by ``'lbfgs'``.""",
    "early_stopping": """
Whether to hold out ``validation_fraction`` of the rows, score every
epoch on them and keep the best epoch's weights (the last of ties); with
``n_iter_no_change=inf`` every one of the ``max_iter`` epochs is trained.
The held-out rows also fit the classifier's temperature.""",
    "n_iter_no_change": """
Patience of the stopping rule, in epochs; ``inf`` trains the whole
schedule and keeps the best epoch (RealMLP's way).""",
}


def _tabular(parameters, **defaults) -> tuple:
    """``parameters`` without ``weight_init``, with tabular ``defaults``."""
    out = []
    for p in parameters:
        if p.name == "weight_init":
            continue
        if p.name in defaults:
            value = defaults.pop(p.name)
            p = replace(p, default=value, shown_default=None if value != np.inf else "inf")
        if p.name in _TABULAR_DOCS:
            p = replace(p, doc=_TABULAR_DOCS[p.name])
        if p.name in _TABULAR_KINDS:
            constraints, kind = _TABULAR_KINDS[p.name]
            p = replace(p, constraints=tuple(constraints), kind=kind)
        out.append(p)
    assert not defaults, defaults
    return tuple(out)


_TABULAR_DEFAULTS = dict(
    hidden_layer_sizes=(128, 128, 128),
    solver="adamw",
    alpha=0.0,
    learning_rate="coslog",
    max_iter="auto",
    early_stopping=True,
    validation_fraction=0.2,
    beta_2=0.95,
    n_iter_no_change=np.inf,
    dtype="float32",
    weight_decay=0.02,
    dropout=0.15,
)
_TABULAR_OWN = (
    _NUMERIC_EMBEDDING,
    _NUMERIC_SCALING,
    _LOG_SKEWED,
    _CATEGORICAL_FEATURES,
    _PARAMETRIC_ACTIVATION,
    _N_ENSEMBLE,
)
TABULAR_CLASSIFIER = (
    *_tabular(
        CLASSIFIER,
        **_TABULAR_DEFAULTS,
        activation="selu",
        learning_rate_init=0.04,
        label_smoothing=0.05,
    ),
    *_TABULAR_OWN,
)
TABULAR_REGRESSOR = (
    *_tabular(REGRESSOR, **_TABULAR_DEFAULTS, activation="mish", learning_rate_init=0.2),
    *_TABULAR_OWN,
)
