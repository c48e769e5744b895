"""The estimators' docstrings, their Parameters sections built from the
hyperparameter declarations in :mod:`skmlp._params`.

The fitted attributes both estimators share are written once
(``ATTRIBUTES_DOC``); each estimator's docstring adds its own summary,
parameters, See Also, Notes and a doctested example.
"""

from ._params import (
    CLASSIFIER,
    REGRESSOR,
    TABULAR_CLASSIFIER,
    TABULAR_REGRESSOR,
    parameters_doc,
)

__all__ = [
    "ATTRIBUTES_DOC",
    "CLASSIFIER_DOC",
    "REGRESSOR_DOC",
    "TABULAR_CLASSIFIER_DOC",
    "TABULAR_REGRESSOR_DOC",
]


ATTRIBUTES_DOC = """\
    loss_ : float
        The loss at the end of training (with the penalty term).

    best_loss_ : float or None
        The smallest epoch loss seen (stochastic solvers); ``None`` with
        ``early_stopping``.

    loss_curve_ : list of float
        The loss of each epoch (stochastic solvers).

    validation_scores_ : list of float or None
        The validation score of each epoch with ``early_stopping``.

    best_validation_score_ : float or None
        The best validation score with ``early_stopping``.

    t_ : int
        Number of training samples seen by the stochastic solver.

    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix from layer i to layer i + 1.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    n_iter_ : int
        Number of epochs (or L-BFGS iterations) run by the last call.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation (the loss's canonical link).

    learning_rate_init_ : float
        The initial learning rate used (the range test's choice with
        ``learning_rate_init='auto'``). Stochastic solvers only.

    history_ : dict of lists
        One entry per epoch: ``epoch``, ``train_loss``, ``val_loss`` and
        ``val_score`` (NaN without ``early_stopping``), ``learning_rate``
        (the mean rate of the epoch's updates, the divisions of
        ``'adaptive'`` and ``'plateau'`` included; every update's rate is
        :func:`skmlp.learning_rate_schedule`), ``time`` (seconds, validation
        included) and ``clipped`` (steps rescaled by ``max_grad_norm``).
        Stochastic solvers only; ``pandas.DataFrame(est.history_)`` is the
        learning curve.

    best_epoch_ : int or None
        With ``early_stopping``, the epoch (1-based, counted over
        ``history_``) whose weights were restored; ``None`` otherwise."""


CLASSIFIER_DOC = f"""Multi-layer perceptron classifier, a drop-in for scikit-learn's.

    Minimizes the log-loss (softmax for multiclass, logistic for binary and
    multilabel targets) with Adam, SGD or L-BFGS, using skmlp's own numpy
    backpropagation engine. Every parameter of
    :class:`sklearn.neural_network.MLPClassifier` exists with the same name,
    default and meaning.

    Parameters
    ----------
{parameters_doc(CLASSIFIER)}

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels (one array per output for multilabel targets).

{ATTRIBUTES_DOC}

    See Also
    --------
    MLPRegressor : Multi-layer perceptron regressor.
    sklearn.neural_network.MLPClassifier : The estimator this one replaces.

    Notes
    -----
    Where skmlp differs from scikit-learn on purpose (``partial_fit`` for
    L-BFGS, float32 L-BFGS, warm starts, divergence) is listed in the
    documentation's deviations page.

    References
    ----------
    Glorot, X. and Bengio, Y. "Understanding the difficulty of training deep
    feedforward neural networks." AISTATS 2010.

    Kingma, D. and Ba, J. "Adam: A method for stochastic optimization."
    arXiv:1412.6980, 2014.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skmlp import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                     max_iter=2000, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """


REGRESSOR_DOC = f"""Multi-layer perceptron regressor, a drop-in for scikit-learn's.

    Minimizes half the squared error (identity output), the half Poisson
    deviance (exponential output) or one of the robust, quantile and gamma
    losses scikit-learn's MLP lacks, with Adam, SGD or L-BFGS, using skmlp's
    own numpy backpropagation engine. Every parameter of
    :class:`sklearn.neural_network.MLPRegressor` exists with the same name,
    default and meaning.

    Parameters
    ----------
{parameters_doc(REGRESSOR)}

    Attributes
    ----------
{ATTRIBUTES_DOC}

    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier.
    sklearn.neural_network.MLPRegressor : The estimator this one replaces.

    Notes
    -----
    With several outputs the reported loss is the sum over outputs of each
    output's loss, the function whose gradient the solver follows
    (scikit-learn reports the mean); see the deviations page.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skmlp import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> y = y / y.std()
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", tol=1e-2,
    ...                    random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    """


_TABULAR_SUMMARY = """\
    Holzmüller et al.'s RealMLP-TD recipe on skmlp's engine: the estimator
    takes a raw table (numpy array, pandas or polars DataFrame) with
    categorical columns and missing values, encodes it (robust scaling and
    smooth clipping of numeric columns, missing-value indicators, +-1,
    one-hot or learned embeddings for categoricals), and trains an MLP with
    numeric embeddings, a learned input scale, neural-tangent parametrized
    layers initialized from the data, parametric activations, AdamW, the
    ``coslog`` schedule and annealed dropout and weight decay. It keeps the
    epoch that scores best on a 20% validation split (the last of ties).
    Every hyperparameter of the MLP estimators but ``weight_init`` is here,
    with the recipe's defaults."""

_TABULAR_ATTRIBUTES = """\
    encoder_ : TabularEncoder
        The fitted encoding of the input table (``encoder_.layout_``
        describes the encoded columns).

    coefs_ : list of ndarray
        The network's weight-decayed parameter blocks (weights, embeddings,
        activation parameters), in the order of its flat parameter vector.

    intercepts_ : list of ndarray
        Its other parameter blocks (biases, the input scale, ensemble
        adapters).

    best_epoch_ : int or None
        The epoch whose weights were kept (with ``early_stopping``).

    loss_curve_ : list of float
        The training loss of each epoch.

    validation_scores_ : list of float or None
        The validation score of each epoch.

    history_ : dict of list
        Per-epoch records: losses, scores, learning rates, times.

    n_iter_ : int
        The number of epochs trained.

    n_features_in_ : int
        Number of columns seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during fit, when they are all strings."""

_TABULAR_NOTES = """\
    There is no ``partial_fit``: the encoding, the data-dependent
    initialization and the schedules are learned over one whole fit.
    Compiled kernels and the ONNX export cover the plain MLP only; this
    network trains with the numpy engine. The documentation's tabular page
    has the benchmark against HistGradientBoosting and the ablation."""

_TABULAR_REFERENCES = """\
    Holzmüller, D., Grinsztajn, L. and Steinwart, I. "Better by Default:
    Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data." NeurIPS 2024.

    Gorishniy, Y., Kotelnikov, A. and Babenko, A. "TabM: Advancing Tabular
    Deep Learning with Parameter-Efficient Ensembling." ICLR 2025."""

TABULAR_CLASSIFIER_DOC = f"""MLP classifier for raw tabular data, strong by default.

{_TABULAR_SUMMARY} Label smoothing (0.05) trains it; a temperature fitted
    on the validation split then calibrates ``predict_proba``.

    Parameters
    ----------
{parameters_doc(TABULAR_CLASSIFIER)}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    temperature_ : float
        The temperature dividing the logits in ``predict_proba``, fitted on
        the validation split (1 without one).

{_TABULAR_ATTRIBUTES}

    See Also
    --------
    TabularMLPRegressor : The regressor.
    MLPClassifier : scikit-learn's MLP, unchanged.
    sklearn.ensemble.HistGradientBoostingClassifier : The baseline to beat.

    Notes
    -----
{_TABULAR_NOTES}

    References
    ----------
{_TABULAR_REFERENCES}

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skmlp import TabularMLPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = TabularMLPClassifier(max_iter=8, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

TABULAR_REGRESSOR_DOC = f"""MLP regressor for raw tabular data, strong by default.

{_TABULAR_SUMMARY} The targets are standardized for training, and
    predictions clipped to the training targets' range.

    Parameters
    ----------
{parameters_doc(TABULAR_REGRESSOR)}

    Attributes
    ----------
{_TABULAR_ATTRIBUTES}

    See Also
    --------
    TabularMLPClassifier : The classifier.
    MLPRegressor : scikit-learn's MLP, unchanged.
    sklearn.ensemble.HistGradientBoostingRegressor : The baseline to beat.

    Notes
    -----
{_TABULAR_NOTES}

    References
    ----------
{_TABULAR_REFERENCES}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skmlp import TabularMLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = TabularMLPRegressor(max_iter=8, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """


def documented(text: str):
    """Give the decorated function the docstring ``text`` (put it innermost,
    so that the wrappers above it copy the text)."""

    def document(function):
        function.__doc__ = text
        return function

    return document


def fit_doc(estimator: str, classifier: bool) -> str:
    """The docstring of ``estimator.fit``."""
    what = "labels" if classifier else "targets"
    y = (
        "Class labels, or a label-indicator matrix for multilabel targets."
        if classifier
        else "Target values."
    )
    y_val = (
        "The labels of ``X_val``; every label must be a class of ``y``."
        if classifier
        else "The targets of ``X_val``."
    )
    return f"""Fit the model to data ``X`` and {what} ``y``.

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            Training data; float32 input is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            {y}
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, non-negative.
        X_val : {{array-like, sparse matrix}} of shape (n_val, n_features), default=None
            A validation set for ``early_stopping``, used instead of the
            ``validation_fraction`` split (HistGradientBoosting's convention).
            Needs ``early_stopping=True``, a stochastic solver and ``y_val``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            {y_val}
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows, for the validation loss and score.

        Returns
        -------
        self : {estimator}
            The fitted estimator.
        """


def partial_fit_doc(estimator: str, classifier: bool) -> str:
    """The docstring of ``estimator.partial_fit``."""
    classes = (
        """
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear; required on the first call."""
        if classifier
        else ""
    )
    return f"""Run one epoch over ``(X, y)`` (stochastic solvers only).

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            {"Class labels." if classifier else "Target values."}
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.{classes}
        X_val, y_val, sample_weight_val : None
            Not supported: ``partial_fit`` does no early stopping. Given,
            they raise a ValueError.

        Returns
        -------
        self : {estimator}
            The updated estimator.
        """
