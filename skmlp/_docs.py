"""The estimators' docstrings, their Parameters sections built from the
hyperparameter declarations in :mod:`skmlp._params`.

The fitted attributes both estimators share are written once
(``ATTRIBUTES_DOC``); each estimator's docstring adds its own summary,
parameters, See Also, Notes and a doctested example.
"""

from ._params import CLASSIFIER, REGRESSOR, parameters_doc

__all__ = ["ATTRIBUTES_DOC", "CLASSIFIER_DOC", "REGRESSOR_DOC"]


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
