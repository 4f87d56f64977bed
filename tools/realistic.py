"""Realistic programs for the benchmarks, with hand-written gradients.

Each program is a plain Python + NumPy/`math` function in float64, written
the way a scientist or engineer writes it in their own code: module-level
constants, small helper functions, Python loops, slice assignments and
element assignments. For each program `name` there is `name_hand`, its
gradient written by hand the way a careful person writes it (a Python list
as the tape when a loop must be reversed), taking the program's arguments
and returning the gradient with respect to the case's `argnums` (a tuple
when `argnums` is a tuple).

`CASES` lists what the benchmarks differentiate, `TARGETS` the time ratio
s2sad / hand-written each kind of program should meet, and `ports(library)`
gives the programs as a user of autograd, JAX (eager or jit) or PyTorch
writes them. `check(case)` compares a case's hand-written gradient with
central differences and with s2sad's gradient. Run

    python tools/realistic.py

to check every case and print s2sad's gradient time / hand-written time
(min of 5 `timeit` repeats) for each, and, with the peer libraries
installed,

    python tools/realistic.py --ports

to check each library's gradient of its ports against the hand-written one.
"""

import collections
import math
import sys

import numpy as np

SCALAR = "scalar/loop"
ARRAY = "array"
TINY = "tiny array"
TARGETS = {SCALAR: 1.5, ARRAY: 1.3, TINY: 2.0}

Case = collections.namedtuple("Case", "name kind program argnums args quick")
Case.__doc__ = """A program to differentiate: `program` names the function
here (and `program + "_hand"` its hand-written gradient), taken with
respect to `argnums` at `args`; integer arguments are loop counts. `quick`
is False for cases too slow for a smoke run."""


# ---------------------------------------------------------------------------
# Pendulum, integrated with classical Runge-Kutta (scalar loop).

G = 9.81      # gravity, m/s^2
L = 1.5       # pendulum length, m
DT = 0.01     # time step, s


def rhs(theta, omega):
    """Time derivatives of the pendulum's angle and angular velocity."""
    return omega, -G / L * math.sin(theta)


def pendulum_rk4(theta, omega, n):
    """The angle after `n` RK4 steps from (theta, omega)."""
    for _ in range(n):
        k1t, k1w = rhs(theta, omega)
        k2t, k2w = rhs(theta + 0.5 * DT * k1t, omega + 0.5 * DT * k1w)
        k3t, k3w = rhs(theta + 0.5 * DT * k2t, omega + 0.5 * DT * k2w)
        k4t, k4w = rhs(theta + DT * k3t, omega + DT * k3w)
        theta = theta + DT / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
        omega = omega + DT / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
    return theta


def pendulum_rk4_hand(theta, omega, n):
    c = G / L
    tape = []
    for _ in range(n):
        k1t, k1w = omega, -c * math.sin(theta)
        a2t = theta + 0.5 * DT * k1t
        k2t, k2w = omega + 0.5 * DT * k1w, -c * math.sin(a2t)
        a3t = theta + 0.5 * DT * k2t
        k3t, k3w = omega + 0.5 * DT * k2w, -c * math.sin(a3t)
        a4t = theta + DT * k3t
        k4t, k4w = omega + DT * k3w, -c * math.sin(a4t)
        tape.append((math.cos(theta), math.cos(a2t), math.cos(a3t),
                     math.cos(a4t)))
        theta = theta + DT / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
        omega = omega + DT / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
    gth, gom = 1.0, 0.0
    for _ in range(n):
        c1, c2, c3, c4 = tape.pop()
        g1t, g2t, g3t, g4t = (DT / 6 * gth, DT / 3 * gth, DT / 3 * gth,
                              DT / 6 * gth)
        g1w, g2w, g3w, g4w = (DT / 6 * gom, DT / 3 * gom, DT / 3 * gom,
                              DT / 6 * gom)
        a4t, a4w = -c * c4 * g4w, g4t
        g3t += DT * a4t
        g3w += DT * a4w
        a3t, a3w = -c * c3 * g3w, g3t
        g2t += 0.5 * DT * a3t
        g2w += 0.5 * DT * a3w
        a2t, a2w = -c * c2 * g2w, g2t
        g1t += 0.5 * DT * a2t
        g1w += 0.5 * DT * a2w
        a1t, a1w = -c * c1 * g1w, g1t
        gth = gth + a1t + a2t + a3t + a4t
        gom = gom + a1w + a2w + a3w + a4w
    return gth, gom


# ---------------------------------------------------------------------------
# Kalman filter log-likelihood of a local-level model (scalar loop).

P0 = 10.0     # prior variance of the level


def kalman_nll(log_q, log_r, ys):
    """Negative log-likelihood of the observations `ys` under a random walk
    with process variance exp(log_q) seen with noise variance exp(log_r)."""
    q = math.exp(log_q)
    r = math.exp(log_r)
    m, P = 0.0, P0
    nll = 0.0
    for t in range(len(ys)):
        P = P + q
        S = P + r
        v = ys[t] - m
        nll += 0.5 * (math.log(2 * math.pi * S) + v * v / S)
        K = P / S
        m = m + K * v
        P = (1 - K) * P
    return nll


def kalman_nll_hand(log_q, log_r, ys):
    q, r = math.exp(log_q), math.exp(log_r)
    m, P = 0.0, P0
    tape = []
    for t in range(len(ys)):
        Pp = P + q
        S = Pp + r
        v = ys[t] - m
        K = Pp / S
        tape.append((Pp, S, v, K))
        m = m + K * v
        P = (1 - K) * Pp
    gm, gP, gq, gr = 0.0, 0.0, 0.0, 0.0
    for _ in range(len(ys)):
        Pp, S, v, K = tape.pop()
        gK = gm * v - gP * Pp
        gv = gm * K + v / S
        gPp = gP * (1 - K) + gK / S
        gS = -gK * Pp / (S * S) + 0.5 * (1 / S - v * v / (S * S))
        gm = gm - gv
        gPp += gS
        gr += gS
        gq += gPp
        gP = gPp
    return gq * q, gr * r


# ---------------------------------------------------------------------------
# Black-Scholes call price and its five greeks (scalar).

def norm_cdf(x):
    """Standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black_scholes(S, K, T, r, sigma):
    """Price of a European call on spot S, strike K, maturity T."""
    vol = sigma * math.sqrt(T)
    d1 = (math.log(S / K) + (r + 0.5 * sigma ** 2) * T) / vol
    d2 = d1 - vol
    return S * norm_cdf(d1) - K * math.exp(-r * T) * norm_cdf(d2)


def black_scholes_hand(S, K, T, r, sigma):
    vol = sigma * math.sqrt(T)
    d1 = (math.log(S / K) + (r + 0.5 * sigma ** 2) * T) / vol
    d2 = d1 - vol
    pdf1 = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    disc = math.exp(-r * T)
    nd2 = norm_cdf(d2)
    return (norm_cdf(d1), -disc * nd2,
            S * pdf1 * sigma / (2 * math.sqrt(T)) + r * K * disc * nd2,
            K * T * disc * nd2, S * pdf1 * math.sqrt(T))


# ---------------------------------------------------------------------------
# Explicit 2-D heat equation on a grid with fixed boundary (array loop).

ALPHA = 0.2   # diffusion number D dt / dx^2 (stable below 0.25)


def heat(u, steps):
    """Sum of squares of the temperature after `steps` explicit steps."""
    for _ in range(steps):
        new = u.copy()
        new[1:-1, 1:-1] = u[1:-1, 1:-1] + ALPHA * (
            u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
            - 4 * u[1:-1, 1:-1])
        u = new
    return np.sum(u * u)


def heat_hand(u, steps):
    for _ in range(steps):
        new = u.copy()
        new[1:-1, 1:-1] = u[1:-1, 1:-1] + ALPHA * (
            u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
            - 4 * u[1:-1, 1:-1])
        u = new
    g = 2 * u
    for _ in range(steps):  # the step is linear: apply its transpose
        inner = ALPHA * g[1:-1, 1:-1]
        prev = g.copy()
        prev[1:-1, 1:-1] -= 4 * inner
        prev[2:, 1:-1] += inner
        prev[:-2, 1:-1] += inner
        prev[1:-1, 2:] += inner
        prev[1:-1, :-2] += inner
        g = prev
    return g


# ---------------------------------------------------------------------------
# Gaussian-process negative log marginal likelihood (kernel by loops).

def sq_exp(xi, xj, ell, sf2):
    """Squared-exponential covariance of two input points."""
    return sf2 * np.exp(-0.5 * np.sum((xi - xj) ** 2) / ell ** 2)


def gp_nll(params, X, y):
    """-log p(y | X) for a GP with log length scale, log signal and log
    noise standard deviations `params`."""
    ell = np.exp(params[0])
    sf2 = np.exp(2 * params[1])
    sn2 = np.exp(2 * params[2])
    n = len(y)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            K[i, j] = sq_exp(X[i], X[j], ell, sf2)
    K = K + sn2 * np.eye(n)
    sign, logdet = np.linalg.slogdet(K)
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + 0.5 * logdet + 0.5 * n * math.log(2 * math.pi)


def gp_nll_hand(params, X, y):
    # The kernel built by the same loops as the program builds it, with
    # the squared distances its derivative needs kept beside it.
    ell = np.exp(params[0])
    sf2 = np.exp(2 * params[1])
    sn2 = np.exp(2 * params[2])
    n = len(y)
    Kf = np.zeros((n, n))
    D2 = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            d2 = np.sum((X[i] - X[j]) ** 2)
            D2[i, j] = d2
            Kf[i, j] = sf2 * np.exp(-0.5 * d2 / ell ** 2)
    K = Kf + sn2 * np.eye(n)
    Kinv = np.linalg.inv(K)
    alpha = Kinv @ y
    W = 0.5 * (Kinv - np.outer(alpha, alpha))  # d nll / d K
    return np.array([np.sum(W * Kf * D2) / ell ** 2, 2 * np.sum(W * Kf),
                     2 * sn2 * np.trace(W)])


# ---------------------------------------------------------------------------
# Vectorised array programs.

def rosenbrock(x):
    """The n-dimensional Rosenbrock function."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hand(x):
    a = x[:-1]
    d = x[1:] - a * a
    g = np.zeros_like(x)
    g[:-1] = -400.0 * a * d - 2 * (1 - a)
    g[1:] += 200.0 * d
    return g


def softmax_regression(W, X, Y):
    """Mean cross-entropy of a linear softmax classifier on one-hot Y."""
    n = X.shape[0]
    logits = X @ W
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.sum(Y * logp) / n


def softmax_regression_hand(W, X, Y):
    logits = X @ W
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    P = e / e.sum(axis=1, keepdims=True)
    return X.T @ (P * Y.sum(axis=1, keepdims=True) - Y) / X.shape[0]


def mlp_one(W1, b1, W2, b2, x, t):
    """Squared error of a one-hidden-layer tanh network on one example."""
    h = np.tanh(W1 @ x + b1)
    out = W2 @ h + b2
    return 0.5 * np.sum((out - t) ** 2)


def mlp_one_hand(W1, b1, W2, b2, x, t):
    h = np.tanh(W1 @ x + b1)
    dout = W2 @ h + b2 - t
    dz = (W2.T @ dout) * (1 - h * h)
    return np.outer(dz, x), dz, np.outer(dout, h), dout


def softmax_rows(scores):
    """Row-wise softmax."""
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def attention(Wq, Wk, Wv, X, mask):
    """Half the squared norm of a masked single-head attention block."""
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    scores = Q @ K.T / math.sqrt(Q.shape[1])
    scores = np.where(mask, scores, -1e9)
    out = softmax_rows(scores) @ V
    return 0.5 * np.sum(out ** 2)


def attention_hand(Wq, Wk, Wv, X, mask):
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    scale = 1 / math.sqrt(Q.shape[1])
    P = softmax_rows(np.where(mask, Q @ K.T * scale, -1e9))
    out = P @ V
    dP = out @ V.T
    dS = P * (dP - np.sum(dP * P, axis=1, keepdims=True))
    dS = np.where(mask, dS, 0.0) * scale
    return X.T @ (dS @ K), X.T @ (dS.T @ Q), X.T @ (P.T @ out)


LAMBDA = 1e-2  # L2 regularisation strength


def l2_penalty(w):
    """Ridge penalty on the weights."""
    return 0.5 * LAMBDA * np.sum(w ** 2)


def logistic_l2(w, X, y):
    """L2-regularised logistic loss, labels y in {-1, +1}."""
    z = X @ w
    return np.mean(np.logaddexp(0.0, -y * z)) + l2_penalty(w)


def logistic_l2_hand(w, X, y):
    z = X @ w
    return X.T @ (-y / (1 + np.exp(y * z))) / len(y) + LAMBDA * w


# ---------------------------------------------------------------------------
# Asian call under geometric Brownian motion with fixed noise (array loop).

RATE = 0.03
MATURITY = 1.0
STRIKE = 100.0


def gbm_asian(S0, sigma, Z):
    """Monte-Carlo price of an arithmetic-average Asian call; Z holds the
    standard normal increments, paths x steps."""
    n_paths, n_steps = Z.shape
    dt = MATURITY / n_steps
    S = np.full(n_paths, S0)
    total = np.zeros(n_paths)
    for k in range(n_steps):
        S = S * np.exp((RATE - 0.5 * sigma ** 2) * dt
                       + sigma * math.sqrt(dt) * Z[:, k])
        total = total + S
    payoff = np.maximum(total / n_steps - STRIKE, 0.0)
    return math.exp(-RATE * MATURITY) * np.mean(payoff)


def gbm_asian_hand(S0, sigma, Z):
    # Pathwise: S_k = S0 exp(sum_{j<=k} ((RATE - sigma^2/2) dt
    # + sigma sqrt(dt) Z_j)), so dS_k/dS0 = S_k / S0 and dS_k/dsigma =
    # S_k sum_{j<=k} (sqrt(dt) Z_j - sigma dt), carried forward.
    n_paths, n_steps = Z.shape
    dt = MATURITY / n_steps
    S = np.full(n_paths, S0)
    dlog = np.zeros(n_paths)
    total = np.zeros(n_paths)
    dtotal = np.zeros(n_paths)
    for k in range(n_steps):
        S = S * np.exp((RATE - 0.5 * sigma ** 2) * dt
                       + sigma * math.sqrt(dt) * Z[:, k])
        dlog = dlog + math.sqrt(dt) * Z[:, k] - sigma * dt
        total = total + S
        dtotal = dtotal + S * dlog
    in_money = total / n_steps > STRIKE
    disc = math.exp(-RATE * MATURITY) / n_steps
    return (disc * np.mean(np.where(in_money, total, 0.0)) / S0,
            disc * np.mean(np.where(in_money, dtotal, 0.0)))


# ---------------------------------------------------------------------------
# Projectile with quadratic drag until it lands (scalar while loop).

GRAV = 9.81   # m/s^2
DRAG = 0.05   # drag coefficient over mass, 1/m
H = 0.01      # time step, s


def projectile(speed, angle):
    """Range of a projectile launched at `speed` and `angle` (semi-implicit
    Euler, stopped at the first step below ground)."""
    vx = speed * math.cos(angle)
    vy = speed * math.sin(angle)
    x, y = 0.0, 0.0
    while y >= 0.0:
        v = math.sqrt(vx * vx + vy * vy)
        vx, vy = vx - H * DRAG * v * vx, vy - H * (GRAV + DRAG * v * vy)
        x, y = x + H * vx, y + H * vy
    return x


def projectile_hand(speed, angle):
    vx = speed * math.cos(angle)
    vy = speed * math.sin(angle)
    x, y = 0.0, 0.0
    tape = []
    while y >= 0.0:
        v = math.sqrt(vx * vx + vy * vy)
        tape.append((vx, vy, v))
        vx, vy = vx - H * DRAG * v * vx, vy - H * (GRAV + DRAG * v * vy)
        x, y = x + H * vx, y + H * vy
    gx, gvx, gvy = 1.0, 0.0, 0.0   # y's adjoint stays 0: x never reads it
    while tape:
        vx, vy, v = tape.pop()
        gvx += H * gx
        gv = -H * DRAG * (gvx * vx + gvy * vy)
        gvx = gvx * (1 - H * DRAG * v) + gv * vx / v
        gvy = gvy * (1 - H * DRAG * v) + gv * vy / v
    return (gvx * math.cos(angle) + gvy * math.sin(angle),
            speed * (gvy * math.cos(angle) - gvx * math.sin(angle)))


# ---------------------------------------------------------------------------
# 1-D wave equation, leapfrog in time (array loop, in-place slice update).

COURANT = 0.5  # c dt / dx


def wave(u0, steps):
    """Energy-like sum of squares of a string released at rest from u0,
    ends fixed, after `steps` steps."""
    u_prev = u0.copy()
    u = u0.copy()
    for _ in range(steps):
        u_next = np.zeros_like(u)
        u_next[1:-1] = 2 * u[1:-1] - u_prev[1:-1]
        u_next[1:-1] += COURANT ** 2 * (u[2:] - 2 * u[1:-1] + u[:-2])
        u_prev, u = u, u_next
    return np.sum(u ** 2)


def wave_hand(u0, steps):
    c2 = COURANT ** 2
    u_prev, u = u0.copy(), u0.copy()
    for _ in range(steps):
        u_next = np.zeros_like(u)
        u_next[1:-1] = (2 - 2 * c2) * u[1:-1] - u_prev[1:-1] + c2 * (
            u[2:] + u[:-2])
        u_prev, u = u, u_next
    g_prev, g = np.zeros_like(u), 2 * u
    for _ in range(steps):  # linear steps: apply their transpose
        inner = g[1:-1]
        g_u = g_prev.copy()
        g_u[1:-1] += (2 - 2 * c2) * inner
        g_u[2:] += c2 * inner
        g_u[:-2] += c2 * inner
        g_prev = np.zeros_like(g)
        g_prev[1:-1] = -inner
        g = g_u
    return g + g_prev


# ---------------------------------------------------------------------------
# A GRU run over a short sequence (array loop with a helper).

def sigmoid(x):
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def gru(Wz, Wr, Wh, xs, h0):
    """Squared norm of a GRU's last hidden state (no biases)."""
    h = h0
    for x in xs:
        hx = np.concatenate([h, x])
        z = sigmoid(Wz @ hx)
        r = sigmoid(Wr @ hx)
        cand = np.tanh(Wh @ np.concatenate([r * h, x]))
        h = (1 - z) * h + z * cand
    return np.sum(h ** 2)


def gru_hand(Wz, Wr, Wh, xs, h0):
    d = len(h0)
    tape, h = [], h0
    for x in xs:
        hx = np.concatenate([h, x])
        z = sigmoid(Wz @ hx)
        r = sigmoid(Wr @ hx)
        rhx = np.concatenate([r * h, x])
        cand = np.tanh(Wh @ rhx)
        tape.append((h, hx, z, r, rhx, cand))
        h = (1 - z) * h + z * cand
    gWz, gWr, gWh = np.zeros_like(Wz), np.zeros_like(Wr), np.zeros_like(Wh)
    g = 2 * h
    while tape:
        h, hx, z, r, rhx, cand = tape.pop()
        gpre_c = g * z * (1 - cand * cand)
        gpre_z = g * (cand - h) * z * (1 - z)
        grhx = Wh.T @ gpre_c
        gpre_r = grhx[:d] * h * r * (1 - r)
        gWh += np.outer(gpre_c, rhx)
        gWz += np.outer(gpre_z, hx)
        gWr += np.outer(gpre_r, hx)
        g = (g * (1 - z) + grhx[:d] * r + (Wz.T @ gpre_z)[:d]
             + (Wr.T @ gpre_r)[:d])
    return gWz, gWr, gWh


# ---------------------------------------------------------------------------
# Tiny-array programs.

def two_xtx(x):
    """2 x^T x."""
    return 2 * x @ x


def two_xtx_hand(x):
    return 4 * x


GAMMA = 3.0   # risk aversion


def markowitz(w, Sigma, mu):
    """Mean-variance objective of the portfolio with weights w / sum(w)."""
    w = w / np.sum(w)
    return 0.5 * GAMMA * w @ Sigma @ w - mu @ w


def markowitz_hand(w, Sigma, mu):
    s = np.sum(w)
    u = w / s
    gu = 0.5 * GAMMA * (Sigma + Sigma.T) @ u - mu
    return (gu - gu @ u) / s


STIFF = 4.0                                # spring constant
QUARTIC = 0.5                              # anharmonic coefficient
DT_LF = 0.05                               # leapfrog time step
Q_TARGET = np.array([0.3, -0.2, 0.5])      # where the particle should end


def force(q):
    """Force of the anharmonic potential STIFF|q|^2/2 + QUARTIC|q|^4/4."""
    return -(STIFF + QUARTIC * (q @ q)) * q


def leapfrog(q, p, n):
    """Squared miss of Q_TARGET after `n` kick-drift-kick leapfrog steps of
    a particle in 3-D from position q with momentum p."""
    for _ in range(n):
        p = p + 0.5 * DT_LF * force(q)
        q = q + DT_LF * p
        p = p + 0.5 * DT_LF * force(q)
    d = q - Q_TARGET
    return d @ d


def leapfrog_hand(q, p, n):
    def force_vjp(q, v):  # the force's Jacobian is symmetric
        return -(STIFF + QUARTIC * (q @ q)) * v - 2 * QUARTIC * (q @ v) * q

    qs = [q]
    for _ in range(n):
        p = p + 0.5 * DT_LF * force(q)
        q = q + DT_LF * p
        p = p + 0.5 * DT_LF * force(q)
        qs.append(q)
    gq, gp = 2 * (q - Q_TARGET), np.zeros_like(p)
    for k in range(n - 1, -1, -1):
        gq = gq + 0.5 * DT_LF * force_vjp(qs[k + 1], gp)
        gp = gp + DT_LF * gq
        gq = gq + 0.5 * DT_LF * force_vjp(qs[k], gp)
    return gq, gp


# ---------------------------------------------------------------------------
# The cases.

def _rng(seed):
    return np.random.default_rng(seed)


def heat_inputs(size=64, seed=0):
    """A hot square in the middle of a cool, noisy plate."""
    u = 0.1 * _rng(seed).standard_normal((size, size))
    u[size // 4:3 * size // 4, size // 4:3 * size // 4] += 1.0
    return u


def gp_inputs(n=30, seed=1):
    """(params, X, y): n noisy samples of a smooth function of 2 inputs."""
    rng = _rng(seed)
    X = rng.uniform(-2, 2, (n, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.1 * rng.standard_normal(n)
    return np.array([0.1, -0.2, -1.5]), X, y


def softmax_inputs(n=1000, d=50, classes=10, seed=2):
    """(W, X, Y) with one-hot labels Y."""
    rng = _rng(seed)
    X = rng.standard_normal((n, d))
    Y = np.eye(classes)[rng.integers(0, classes, n)]
    return 0.1 * rng.standard_normal((d, classes)), X, Y


def mlp_inputs(seed=3):
    """(W1, b1, W2, b2, x, t) for a 10-32-1 network."""
    rng = _rng(seed)
    return (rng.standard_normal((32, 10)) / math.sqrt(10),
            0.1 * rng.standard_normal(32),
            rng.standard_normal((1, 32)) / math.sqrt(32),
            0.1 * rng.standard_normal(1), rng.standard_normal(10), 0.7)


def attention_inputs(length=32, width=32, seed=4):
    """(Wq, Wk, Wv, X, mask) with a causal mask."""
    rng = _rng(seed)
    W = [rng.standard_normal((width, width)) / math.sqrt(width)
         for _ in range(3)]
    X = rng.standard_normal((length, width))
    return (*W, X, np.tril(np.ones((length, length), dtype=bool)))


def logistic_inputs(n=500, d=20, seed=5):
    """(w, X, y) with labels in {-1, +1} from a noisy linear rule."""
    rng = _rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sign(X @ rng.standard_normal(d) + rng.standard_normal(n))
    return 0.1 * rng.standard_normal(d), X, y


def kalman_inputs(n=200, seed=6):
    """(log_q, log_r, ys): a random walk seen through noise."""
    rng = _rng(seed)
    level = np.cumsum(0.3 * rng.standard_normal(n))
    return math.log(0.1), math.log(0.5), level + rng.standard_normal(n)


def gbm_inputs(paths=2000, steps=50, seed=7):
    """(S0, sigma, Z) for an at-the-money Asian call."""
    return 100.0, 0.25, _rng(seed).standard_normal((paths, steps))


def gru_inputs(hidden=16, inputs=8, steps=20, seed=9):
    """(Wz, Wr, Wh, xs, h0) for `gru`."""
    rng = _rng(seed)
    W = [rng.standard_normal((hidden, hidden + inputs))
         / math.sqrt(hidden + inputs) for _ in range(3)]
    return (*W, rng.standard_normal((steps, inputs)), np.zeros(hidden))


def wave_inputs(size=200):
    """A plucked string: a smooth bump, zero at both ends."""
    return np.sin(np.linspace(0.0, np.pi, size)) ** 3


def markowitz_inputs(seed=8):
    """(w, Sigma, mu) for three assets."""
    rng = _rng(seed)
    A = rng.standard_normal((3, 3))
    return (np.array([0.5, 0.3, 0.2]), 0.04 * (A @ A.T + np.eye(3)),
            np.array([0.05, 0.07, 0.03]))


# These cases were written before s2sad was tuned on them. Where it was
# then found slow (gradients all correct): module-level float constants
# and NumPy scalars (ys[t]) in a loop (pendulum_rk4, kalman_nll: 30-70x
# hand-written), the adjoint of a basic slice scattered with np.add.at
# (heat, rosenbrock, wave), and each element assignment K[i, j] = ...
# copying K and keeping both copies on the tape (gp_nll: time and memory
# growing as n^4, 1.7 GB at n = 120). tools/results/realistic.md has the
# current numbers.
CASES = [
    Case("pendulum RK4, n = 10", SCALAR, "pendulum_rk4", (0, 1),
         (1.0, 0.0, 10), True),
    Case("pendulum RK4, n = 1000", SCALAR, "pendulum_rk4", (0, 1),
         (1.0, 0.0, 1000), True),
    Case("Kalman filter NLL, 200 steps", SCALAR, "kalman_nll", (0, 1),
         kalman_inputs(), True),
    Case("Black-Scholes call, 5 greeks", SCALAR, "black_scholes",
         (0, 1, 2, 3, 4), (100.0, 95.0, 0.5, 0.03, 0.25), True),
    Case("projectile with drag until it lands", SCALAR, "projectile",
         (0, 1), (20.0, 0.7), True),
    Case("2-D heat 64x64, 50 steps", ARRAY, "heat", 0,
         (heat_inputs(), 50), True),
    Case("GP NLL, 30 points, kernel by loops", ARRAY, "gp_nll", 0,
         gp_inputs(), True),
    Case("Rosenbrock, n = 10", ARRAY, "rosenbrock", 0,
         (np.linspace(-1.0, 1.5, 10),), True),
    Case("Rosenbrock, n = 10**4", ARRAY, "rosenbrock", 0,
         (np.linspace(-1.0, 1.5, 10 ** 4),), True),
    Case("softmax regression 1000x50, 10 classes", ARRAY,
         "softmax_regression", 0, softmax_inputs(), True),
    Case("MLP 10-32-1, one example", ARRAY, "mlp_one", (0, 1, 2, 3),
         mlp_inputs(), True),
    Case("masked attention, length 32, width 32", ARRAY, "attention",
         (0, 1, 2), attention_inputs(), True),
    Case("logistic regression + L2, 500x20", ARRAY, "logistic_l2", 0,
         logistic_inputs(), True),
    Case("GBM Asian call, 2000 paths x 50 steps", ARRAY, "gbm_asian",
         (0, 1), gbm_inputs(), True),
    Case("1-D wave 200 points, 100 steps", ARRAY, "wave", 0,
         (wave_inputs(), 100), True),
    Case("GRU hidden 16, input 8, 20 steps", ARRAY, "gru", (0, 1, 2),
         gru_inputs(), True),
    Case("2 x @ x, x = arange(4)", TINY, "two_xtx", 0, (np.arange(4.0),),
         True),
    Case("Markowitz objective, 3 assets", TINY, "markowitz", 0,
         markowitz_inputs(), True),
    Case("leapfrog 3-D anharmonic, 100 steps", TINY, "leapfrog", (0, 1),
         (np.array([1.0, 0.0, 0.5]), np.array([0.0, 0.8, -0.3]), 100),
         True),
]


# ---------------------------------------------------------------------------
# Checking the hand-written gradients.

def as_tuple(gradient, argnums):
    """A gradient as a tuple of float64 arrays, one per argument."""
    parts = gradient if isinstance(argnums, tuple) else (gradient,)
    return tuple(np.asarray(part, dtype=float) for part in parts)


def mismatch(actual, expected):
    """Largest difference of the parts of two gradients, relative to the
    largest entry of `expected`."""
    scale = max(np.max(np.abs(part)) for part in expected) or 1.0
    return max(np.max(np.abs(np.asarray(a, dtype=float) - e))
               for a, e in zip(actual, expected)) / scale


def central_differences(case, samples=12, step=1e-6, seed=0):
    """Central-difference estimates of the gradient at up to `samples`
    entries of each differentiated argument: (estimates, indices), the
    indices into each argument's flattened entries."""
    program = globals()[case.program]
    rng = np.random.default_rng(seed)
    estimates, picked = [], []
    argnums = case.argnums if isinstance(case.argnums, tuple) else (
        case.argnums,)
    for i in argnums:
        base = np.asarray(case.args[i], dtype=float)
        size = base.size
        indices = (np.arange(size) if size <= samples
                   else rng.choice(size, samples, replace=False))
        values = []
        for k in indices:
            h = step * max(1.0, abs(base.flat[k]))
            shifted = []
            for sign in (1, -1):
                arg = base.copy()
                arg.flat[k] += sign * h
                args = list(case.args)
                args[i] = arg if np.ndim(case.args[i]) else float(arg)
                shifted.append(program(*args))
            values.append((shifted[0] - shifted[1]) / (2 * h))
        estimates.append(np.array(values))
        picked.append(indices)
    return estimates, picked


def check(case, s2sad_too=True):
    """Check a case's hand-written gradient against central differences
    (1e-6 relative to the largest entry) and against s2sad's gradient
    (1e-10), and s2sad's value against the program's. Raises
    AssertionError on a disagreement."""
    program = globals()[case.program]
    hand = as_tuple(globals()[case.program + "_hand"](*case.args),
                    case.argnums)
    estimates, picked = central_differences(case)
    sampled = tuple(part.ravel()[k] for part, k in zip(hand, picked))
    error = mismatch(sampled, estimates)
    assert error < 1e-6, f"{case.name}: hand vs differences {error:.1e}"
    if s2sad_too:
        import s2sad
        value, gradient = s2sad.value_and_grad(
            program, argnums=case.argnums)(*case.args)
        error = mismatch(as_tuple(gradient, case.argnums), hand)
        assert error < 1e-10, f"{case.name}: s2sad vs hand {error:.1e}"
        expected = program(*case.args)
        assert abs(value - expected) <= 1e-12 * max(1.0, abs(expected)), (
            f"{case.name}: s2sad value {value} != {expected}")


# ---------------------------------------------------------------------------
# The programs as users of the other AD libraries write them.

def ports(library):
    """{program name: function} of the programs written for `library`:
    "autograd" (autograd.numpy), "jax" (jax.numpy, run eagerly), "jax jit"
    (as "jax", with lax.fori_loop / lax.scan for the long loops and the GP
    kernel by broadcasting, as a JAX user writes them for jax.jit) or
    "torch" (torch ops on float64 tensors; masks and labels arrive as
    float64 tensors, integer loop counts as ints)."""
    if library == "autograd":
        import autograd.numpy as anp
        import autograd.scipy.special as special
        return _autograd_ports(anp, special.erf)
    if library in ("jax", "jax jit"):
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.special as special
        eager = _jax_ports(jnp, special.erf)
        if library == "jax":
            return eager
        # A while loop on traced values cannot be compiled, and JAX's
        # lax.while_loop has no reverse-mode derivative.
        del eager["projectile"]
        return dict(eager, **_jax_jit_ports(jnp, jax.lax))
    if library == "torch":
        import torch
        return _torch_ports(torch)
    raise ValueError(f"unknown library {library!r}")


def _shared_ports(xp, erf):
    """The programs that read the same in autograd.numpy and jax.numpy
    (and NumPy): only operators and functions the three share."""
    def rhs_(theta, omega):
        return omega, -G / L * xp.sin(theta)

    def pendulum_rk4_(theta, omega, n):
        for _ in range(n):
            k1t, k1w = rhs_(theta, omega)
            k2t, k2w = rhs_(theta + 0.5 * DT * k1t, omega + 0.5 * DT * k1w)
            k3t, k3w = rhs_(theta + 0.5 * DT * k2t, omega + 0.5 * DT * k2w)
            k4t, k4w = rhs_(theta + DT * k3t, omega + DT * k3w)
            theta = theta + DT / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
            omega = omega + DT / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
        return theta

    def kalman_nll_(log_q, log_r, ys):
        q, r = xp.exp(log_q), xp.exp(log_r)
        m, P, nll = 0.0, P0, 0.0
        for t in range(len(ys)):
            P = P + q
            S = P + r
            v = ys[t] - m
            nll = nll + 0.5 * (xp.log(2 * math.pi * S) + v * v / S)
            K = P / S
            m = m + K * v
            P = (1 - K) * P
        return nll

    def black_scholes_(S, K, T, r, sigma):
        def ncdf(x):
            return 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
        vol = sigma * xp.sqrt(T)
        d1 = (xp.log(S / K) + (r + 0.5 * sigma ** 2) * T) / vol
        d2 = d1 - vol
        return S * ncdf(d1) - K * xp.exp(-r * T) * ncdf(d2)

    def rosenbrock_(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    def softmax_regression_(W, X, Y):
        logits = X @ W
        logits = logits - xp.max(logits, axis=1, keepdims=True)
        logp = logits - xp.log(xp.sum(xp.exp(logits), axis=1,
                                      keepdims=True))
        return -xp.sum(Y * logp) / X.shape[0]

    def mlp_one_(W1, b1, W2, b2, x, t):
        h = xp.tanh(W1 @ x + b1)
        return 0.5 * xp.sum((W2 @ h + b2 - t) ** 2)

    def attention_(Wq, Wk, Wv, X, mask):
        Q, K, V = X @ Wq, X @ Wk, X @ Wv
        scores = xp.where(mask, Q @ K.T / math.sqrt(Q.shape[1]), -1e9)
        e = xp.exp(scores - xp.max(scores, axis=1, keepdims=True))
        out = (e / xp.sum(e, axis=1, keepdims=True)) @ V
        return 0.5 * xp.sum(out ** 2)

    def logistic_l2_(w, X, y):
        z = X @ w
        return (xp.mean(xp.logaddexp(0.0, -y * z))
                + 0.5 * LAMBDA * xp.sum(w ** 2))

    def gbm_asian_(S0, sigma, Z):
        n_paths, n_steps = Z.shape
        dt = MATURITY / n_steps
        S = S0 * xp.ones(n_paths)
        total = xp.zeros(n_paths)
        for k in range(n_steps):
            S = S * xp.exp((RATE - 0.5 * sigma ** 2) * dt
                           + sigma * math.sqrt(dt) * Z[:, k])
            total = total + S
        payoff = xp.maximum(total / n_steps - STRIKE, 0.0)
        return math.exp(-RATE * MATURITY) * xp.mean(payoff)

    def markowitz_(w, Sigma, mu):
        w = w / xp.sum(w)
        return 0.5 * GAMMA * w @ Sigma @ w - mu @ w

    def force_(q):
        return -(STIFF + QUARTIC * (q @ q)) * q

    def leapfrog_(q, p, n):
        for _ in range(n):
            p = p + 0.5 * DT_LF * force_(q)
            q = q + DT_LF * p
            p = p + 0.5 * DT_LF * force_(q)
        d = q - Q_TARGET
        return d @ d

    def projectile_(speed, angle):
        vx = speed * xp.cos(angle)
        vy = speed * xp.sin(angle)
        x, y = 0.0, 0.0
        while y >= 0.0:
            v = xp.sqrt(vx * vx + vy * vy)
            vx, vy = vx - H * DRAG * v * vx, vy - H * (GRAV + DRAG * v * vy)
            x, y = x + H * vx, y + H * vy
        return x

    def sigmoid_(x):
        return 1.0 / (1.0 + xp.exp(-x))

    def gru_(Wz, Wr, Wh, xs, h0):
        h = h0
        for x in xs:
            hx = xp.concatenate([h, x])
            z = sigmoid_(Wz @ hx)
            r = sigmoid_(Wr @ hx)
            cand = xp.tanh(Wh @ xp.concatenate([r * h, x]))
            h = (1 - z) * h + z * cand
        return xp.sum(h ** 2)

    return {"pendulum_rk4": pendulum_rk4_, "kalman_nll": kalman_nll_,
            "black_scholes": black_scholes_, "rosenbrock": rosenbrock_,
            "softmax_regression": softmax_regression_, "mlp_one": mlp_one_,
            "attention": attention_, "logistic_l2": logistic_l2_,
            "gbm_asian": gbm_asian_, "two_xtx": two_xtx,
            "markowitz": markowitz_, "leapfrog": leapfrog_,
            "projectile": projectile_, "gru": gru_}


def _autograd_ports(anp, erf):
    """autograd has no element or slice assignment: the heat step pads the
    updated interior back to the full grid, the GP kernel is built as
    nested lists and turned into an array."""
    def heat_(u, steps):
        for _ in range(steps):
            inner = u[1:-1, 1:-1] + ALPHA * (
                u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                - 4 * u[1:-1, 1:-1])
            middle = anp.concatenate([u[1:-1, :1], inner, u[1:-1, -1:]],
                                     axis=1)
            u = anp.concatenate([u[:1], middle, u[-1:]], axis=0)
        return anp.sum(u * u)

    def gp_nll_(params, X, y):
        ell = anp.exp(params[0])
        sf2 = anp.exp(2 * params[1])
        sn2 = anp.exp(2 * params[2])
        n = len(y)
        K = anp.array([[sf2 * anp.exp(-0.5 * anp.sum((X[i] - X[j]) ** 2)
                                      / ell ** 2) for j in range(n)]
                       for i in range(n)])
        K = K + sn2 * anp.eye(n)
        sign, logdet = anp.linalg.slogdet(K)
        alpha = anp.linalg.solve(K, y)
        return (0.5 * y @ alpha + 0.5 * logdet
                + 0.5 * n * math.log(2 * math.pi))

    def wave_(u0, steps):
        u_prev, u = u0, u0
        for _ in range(steps):
            inner = (2 * u[1:-1] - u_prev[1:-1]
                     + COURANT ** 2 * (u[2:] - 2 * u[1:-1] + u[:-2]))
            u_prev, u = u, anp.concatenate([anp.zeros(1), inner,
                                            anp.zeros(1)])
        return anp.sum(u ** 2)

    return dict(_shared_ports(anp, erf), heat=heat_, gp_nll=gp_nll_,
                wave=wave_)


def _jax_ports(jnp, erf):
    """Eager JAX: slice and element assignment become `.at[...].set`."""
    def heat_(u, steps):
        for _ in range(steps):
            u = u.at[1:-1, 1:-1].set(u[1:-1, 1:-1] + ALPHA * (
                u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                - 4 * u[1:-1, 1:-1]))
        return jnp.sum(u * u)

    def gp_nll_(params, X, y):
        ell = jnp.exp(params[0])
        sf2 = jnp.exp(2 * params[1])
        sn2 = jnp.exp(2 * params[2])
        n = len(y)
        K = jnp.zeros((n, n))
        for i in range(n):
            for j in range(n):
                K = K.at[i, j].set(sf2 * jnp.exp(
                    -0.5 * jnp.sum((X[i] - X[j]) ** 2) / ell ** 2))
        return _gp_tail(jnp, K, sn2, y)

    def wave_(u0, steps):
        u_prev, u = u0, u0
        for _ in range(steps):
            u_prev, u = u, _wave_step(jnp, u_prev, u)
        return jnp.sum(u ** 2)

    return dict(_shared_ports(jnp, erf), heat=heat_, gp_nll=gp_nll_,
                wave=wave_)


def _wave_step(jnp, u_prev, u):
    """The string one step on, in JAX: ends held at zero."""
    return jnp.zeros_like(u).at[1:-1].set(
        2 * u[1:-1] - u_prev[1:-1]
        + COURANT ** 2 * (u[2:] - 2 * u[1:-1] + u[:-2]))


def _gp_tail(jnp, K, sn2, y):
    """The GP negative log-likelihood from its noise-free kernel matrix."""
    n = len(y)
    K = K + sn2 * jnp.eye(n)
    sign, logdet = jnp.linalg.slogdet(K)
    alpha = jnp.linalg.solve(K, y)
    return 0.5 * y @ alpha + 0.5 * logdet + 0.5 * n * math.log(2 * math.pi)


def _jax_jit_ports(jnp, lax):
    """The loops as a JAX user writes them for jax.jit (a Python loop would
    be unrolled into the compiled program)."""
    def pendulum_rk4_(theta, omega, n):
        def rhs_(theta, omega):
            return omega, -G / L * jnp.sin(theta)

        def step(_, state):
            theta, omega = state
            k1t, k1w = rhs_(theta, omega)
            k2t, k2w = rhs_(theta + 0.5 * DT * k1t, omega + 0.5 * DT * k1w)
            k3t, k3w = rhs_(theta + 0.5 * DT * k2t, omega + 0.5 * DT * k2w)
            k4t, k4w = rhs_(theta + DT * k3t, omega + DT * k3w)
            return (theta + DT / 6 * (k1t + 2 * k2t + 2 * k3t + k4t),
                    omega + DT / 6 * (k1w + 2 * k2w + 2 * k3w + k4w))
        return lax.fori_loop(0, n, step, (theta, omega))[0]

    def kalman_nll_(log_q, log_r, ys):
        q, r = jnp.exp(log_q), jnp.exp(log_r)

        def step(state, y):
            m, P, nll = state
            P = P + q
            S = P + r
            v = y - m
            nll = nll + 0.5 * (jnp.log(2 * math.pi * S) + v * v / S)
            K = P / S
            return (m + K * v, (1 - K) * P, nll), None
        start = (jnp.zeros_like(q), P0 + jnp.zeros_like(q),
                 jnp.zeros_like(q))
        return lax.scan(step, start, ys)[0][2]

    def heat_(u, steps):
        def step(_, u):
            return u.at[1:-1, 1:-1].set(u[1:-1, 1:-1] + ALPHA * (
                u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                - 4 * u[1:-1, 1:-1]))
        u = lax.fori_loop(0, steps, step, u)
        return jnp.sum(u * u)

    def gp_nll_(params, X, y):
        ell = jnp.exp(params[0])
        sf2 = jnp.exp(2 * params[1])
        sn2 = jnp.exp(2 * params[2])
        d2 = jnp.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=2)
        return _gp_tail(jnp, sf2 * jnp.exp(-0.5 * d2 / ell ** 2), sn2, y)

    def gbm_asian_(S0, sigma, Z):
        n_paths, n_steps = Z.shape
        dt = MATURITY / n_steps

        def step(state, z):
            S, total = state
            S = S * jnp.exp((RATE - 0.5 * sigma ** 2) * dt
                            + sigma * math.sqrt(dt) * z)
            return (S, total + S), None
        start = (S0 * jnp.ones(n_paths), jnp.zeros(n_paths))
        total = lax.scan(step, start, Z.T)[0][1]
        payoff = jnp.maximum(total / n_steps - STRIKE, 0.0)
        return math.exp(-RATE * MATURITY) * jnp.mean(payoff)

    def leapfrog_(q, p, n):
        def force_(q):
            return -(STIFF + QUARTIC * (q @ q)) * q

        def step(_, state):
            q, p = state
            p = p + 0.5 * DT_LF * force_(q)
            q = q + DT_LF * p
            return q, p + 0.5 * DT_LF * force_(q)
        q, p = lax.fori_loop(0, n, step, (q, p))
        d = q - Q_TARGET
        return d @ d

    def wave_(u0, steps):
        def step(_, state):
            u_prev, u = state
            return u, _wave_step(jnp, u_prev, u)
        u = lax.fori_loop(0, steps, step, (u0, u0))[1]
        return jnp.sum(u ** 2)

    def gru_(Wz, Wr, Wh, xs, h0):
        def sigmoid_(x):
            return 1.0 / (1.0 + jnp.exp(-x))

        def step(h, x):
            hx = jnp.concatenate([h, x])
            z = sigmoid_(Wz @ hx)
            r = sigmoid_(Wr @ hx)
            cand = jnp.tanh(Wh @ jnp.concatenate([r * h, x]))
            return (1 - z) * h + z * cand, None
        h = lax.scan(step, h0, xs)[0]
        return jnp.sum(h ** 2)

    return {"pendulum_rk4": pendulum_rk4_, "kalman_nll": kalman_nll_,
            "heat": heat_, "gp_nll": gp_nll_, "gbm_asian": gbm_asian_,
            "leapfrog": leapfrog_, "wave": wave_, "gru": gru_}


def _torch_ports(torch):
    """PyTorch: slice assignment on a clone (not a leaf), the GP kernel
    built as a list of rows and stacked; constants as float64 tensors."""
    def heat_(u, steps):
        for _ in range(steps):
            new = u.clone()
            new[1:-1, 1:-1] = u[1:-1, 1:-1] + ALPHA * (
                u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                - 4 * u[1:-1, 1:-1])
            u = new
        return torch.sum(u * u)

    def gp_nll_(params, X, y):
        ell = torch.exp(params[0])
        sf2 = torch.exp(2 * params[1])
        sn2 = torch.exp(2 * params[2])
        n = len(y)
        rows = [torch.stack([sf2 * torch.exp(
            -0.5 * torch.sum((X[i] - X[j]) ** 2) / ell ** 2)
            for j in range(n)]) for i in range(n)]
        K = torch.stack(rows) + sn2 * torch.eye(n, dtype=torch.float64)
        sign, logdet = torch.linalg.slogdet(K)
        alpha = torch.linalg.solve(K, y)
        return (0.5 * y @ alpha + 0.5 * logdet
                + 0.5 * n * math.log(2 * math.pi))

    def rosenbrock_(x):
        return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2
                         + (1 - x[:-1]) ** 2)

    def softmax_regression_(W, X, Y):
        logp = torch.log_softmax(X @ W, dim=1)
        return -torch.sum(Y * logp) / X.shape[0]

    def attention_(Wq, Wk, Wv, X, mask):
        Q, K, V = X @ Wq, X @ Wk, X @ Wv
        scores = (Q @ K.T / math.sqrt(Q.shape[1])).masked_fill(mask == 0,
                                                              -1e9)
        out = torch.softmax(scores, dim=1) @ V
        return 0.5 * torch.sum(out ** 2)

    def logistic_l2_(w, X, y):
        z = X @ w
        return (torch.mean(torch.nn.functional.softplus(-y * z))
                + 0.5 * LAMBDA * torch.sum(w ** 2))

    def gbm_asian_(S0, sigma, Z):
        n_paths, n_steps = Z.shape
        dt = MATURITY / n_steps
        S = S0 * torch.ones(n_paths, dtype=torch.float64)
        total = torch.zeros(n_paths, dtype=torch.float64)
        for k in range(n_steps):
            S = S * torch.exp((RATE - 0.5 * sigma ** 2) * dt
                              + sigma * math.sqrt(dt) * Z[:, k])
            total = total + S
        payoff = torch.relu(total / n_steps - STRIKE)
        return math.exp(-RATE * MATURITY) * torch.mean(payoff)

    target = torch.tensor(Q_TARGET, dtype=torch.float64)

    def force_(q):
        return -(STIFF + QUARTIC * (q @ q)) * q

    def leapfrog_(q, p, n):
        for _ in range(n):
            p = p + 0.5 * DT_LF * force_(q)
            q = q + DT_LF * p
            p = p + 0.5 * DT_LF * force_(q)
        d = q - target
        return d @ d

    def wave_(u0, steps):
        u_prev, u = u0, u0
        for _ in range(steps):
            u_next = torch.zeros_like(u)
            u_next[1:-1] = 2 * u[1:-1] - u_prev[1:-1]
            u_next[1:-1] += COURANT ** 2 * (u[2:] - 2 * u[1:-1] + u[:-2])
            u_prev, u = u, u_next
        return torch.sum(u ** 2)

    def gru_(Wz, Wr, Wh, xs, h0):
        h = h0
        for x in xs:
            hx = torch.cat([h, x])
            z = torch.sigmoid(Wz @ hx)
            r = torch.sigmoid(Wr @ hx)
            cand = torch.tanh(Wh @ torch.cat([r * h, x]))
            h = (1 - z) * h + z * cand
        return torch.sum(h ** 2)

    # the programs that read the same as in autograd and JAX, torch for xp
    ports = _shared_ports(torch, torch.erf)
    ports.update({
        "wave": wave_, "gru": gru_, "heat": heat_, "gp_nll": gp_nll_,
        "rosenbrock": rosenbrock_, "softmax_regression": softmax_regression_,
        "attention": attention_, "logistic_l2": logistic_l2_,
        "gbm_asian": gbm_asian_, "leapfrog": leapfrog_})
    return ports


def port_gradient(case, library):
    """The gradient of `case` computed by `library` on its port of the
    program (None when the program is not ported), as a tuple of arrays:
    autograd.grad, jax.grad (under jax.jit for "jax jit", loop counts
    static) or torch.autograd.grad on float64 tensors."""
    program = ports(library).get(case.program)
    if program is None:
        return None
    wrt = case.argnums if isinstance(case.argnums, tuple) else (
        case.argnums,)
    if library == "autograd":
        import autograd
        gradient = autograd.grad(program, case.argnums)(*case.args)
    elif library == "torch":
        import torch
        args = tuple(a if isinstance(a, int) else torch.tensor(
            a, dtype=torch.float64, requires_grad=i in wrt)
            for i, a in enumerate(case.args))
        gradient = torch.autograd.grad(program(*args),
                                       [args[i] for i in wrt])
        return tuple(part.detach().numpy() for part in gradient)
    else:
        import jax
        import jax.numpy as jnp
        args = tuple(a if isinstance(a, int) else jnp.asarray(a)
                     for a in case.args)
        gradient = jax.grad(program, case.argnums)
        if library == "jax jit":
            gradient = jax.jit(gradient, static_argnums=[
                i for i, a in enumerate(case.args) if isinstance(a, int)])
        gradient = gradient(*args)
    return as_tuple(gradient, case.argnums)


def check_port(case, library):
    """Check `library`'s gradient of its port of a case against the
    hand-written gradient (1e-10 relative to the largest entry); returns
    False if the program is not ported to `library`."""
    gradient = port_gradient(case, library)
    if gradient is None:
        return False
    hand = as_tuple(globals()[case.program + "_hand"](*case.args),
                    case.argnums)
    error = mismatch(gradient, hand)
    assert error < 1e-10, f"{case.name}, {library}: {error:.1e}"
    return True


def ratios(cases=CASES, repeat=7):
    """[(case, s2sad seconds, hand-written seconds)] per call, each the
    minimum of `repeat` timeit loops of about 0.05 s, the two gradients'
    loops taken in turn (so a slow spell of a shared machine falls on
    both)."""
    import timeit

    import s2sad
    rows = []
    for case in cases:
        hand = globals()[case.program + "_hand"]
        grad = s2sad.grad(globals()[case.program], argnums=case.argnums)
        timers = []
        for function in (grad, hand):
            timer = timeit.Timer(lambda function=function: function(
                *case.args))
            number, _ = timer.autorange()
            timers.append((timer, max(1, number // 4)))
        seconds = [math.inf, math.inf]
        for _ in range(repeat):
            for k, (timer, number) in enumerate(timers):
                seconds[k] = min(seconds[k], timer.timeit(number) / number)
        rows.append((case, *seconds))
    return rows


def main():
    """Check every case and print s2sad / hand-written time ratios; with
    --ports, check instead each library's gradient of its ports."""
    if "--ports" in sys.argv[1:]:
        for library in ("autograd", "jax", "jax jit", "torch"):
            for case in CASES:
                done = check_port(case, library)
                print(f"{library}: {case.name}: "
                      f"{'agrees' if done else 'not ported'}")
        return
    for case in CASES:
        check(case)
    print("| case | kind | s2sad | hand | ratio | target |")
    print("|---|---|---|---|---|---|")
    for case, s2, hand in ratios():
        print(f"| {case.name} | {case.kind} | {s2 * 1e6:.1f} us | "
              f"{hand * 1e6:.1f} us | {s2 / hand:.2f} | "
              f"{TARGETS[case.kind]} |")


if __name__ == "__main__":
    main()
