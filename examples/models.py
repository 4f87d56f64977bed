"""Typical models: the programs `tools/bench.py` and `tools/peers.py` time,
and whose generated code `tests/golden/` holds.

`s2sad examples/models.py` prints the gradient of each with respect to the
arguments `ARGNUMS` gives for it (its parameters, not its data), and
`s2sad examples/models.py rnn --argnums 1,2` that of one of them.
"""

import numpy as np


def logistic_map(x, n):
    """L(n) of the logistic map L(1) = x, L(k+1) = 4 L(k) (1 - L(k))."""
    L = x
    for i in range(n):
        L = 4.0 * L * (1.0 - L)
    return L


def loop_branch(x, n):
    """A scalar loop with a branch."""
    s = 0.0
    for i in range(n):
        if s > 1.0:
            s = s * 0.5 + x
        else:
            s = s + x * x
    return s


def rnn(h, W, U, xs):
    """A tanh recurrent network over the sequence xs."""
    for x in xs:
        h = np.tanh(h @ W + x @ U)
    return np.sum(h * h)


def mlp(W1, W2, x, t):
    """A tanh hidden layer and a mean squared error."""
    h = np.tanh(x @ W1)
    d = h @ W2 - t
    return np.mean(d * d)


def classifier(W1, b1, W2, b2, x, labels):
    """A tanh hidden layer and a softmax cross-entropy loss."""
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1,
                                        keepdims=True))
    return -np.mean(np.sum(labels * log_probs, axis=1))


def logistic_regression(w, X, y):
    """The negative log-likelihood, written with log1p."""
    z = X @ w
    return np.sum(np.log1p(np.exp(-z)) + (1.0 - y) * z)


ARGNUMS = {"logistic_map": 0, "loop_branch": 0, "rnn": (1, 2),
           "mlp": (0, 1), "classifier": (0, 1, 2, 3), "logistic_regression": 0}
