"""Typical models whose generated code the golden-file tests hold.

`ARGNUMS` says which arguments each is differentiated with respect to: the
parameters, not the data.
"""

import numpy as np


def mlp(W1, b1, W2, b2, x, labels):
    """A tanh hidden layer and a softmax cross-entropy loss."""
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1,
                                        keepdims=True))
    return -np.mean(np.sum(labels * log_probs, axis=1))


def rnn(W, U, h, xs):
    """A tanh recurrent network over the sequence xs."""
    for x in xs:
        h = np.tanh(h @ W + x @ U)
    return np.sum(h * h)


def logistic_regression(w, X, y):
    """The negative log-likelihood, written with log1p."""
    z = X @ w
    return np.sum(np.log1p(np.exp(-z)) + (1.0 - y) * z)


def logistic_map(x, n):
    L = x
    for i in range(n):
        L = 4.0 * L * (1.0 - L)
    return L


def loop_with_branch(x, n):
    s = 0.0
    for i in range(n):
        if s > 1.0:
            s = s * 0.5 + x
        else:
            s = s + x * x
    return s


ARGNUMS = {"mlp": (0, 1, 2, 3), "rnn": (0, 1), "logistic_regression": 0,
           "logistic_map": 0, "loop_with_branch": 0}
