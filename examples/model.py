"""A two-layer model written as people write it: a helper with a default
argument, a class with a `forward` method, parameters in a dict holding a
list of (w, b) pairs, and a gradient hook that clips the hidden gradient.

    s2sad examples/model.py loss --argnums 0    # the generated code
    python examples/model.py                    # gradients, checked
"""

import numpy as np

import s2sad


def layer(w, b, x, activation=np.tanh):
    return activation(w @ x + b)


class MLP:
    def forward(self, params, x):
        for w, b in params["layers"]:
            x = layer(w, b, x)
            with s2sad.grad_of(x) as dx:
                dx = np.clip(dx, -10.0, 10.0)
        return params["scale"] * x


model = MLP()


def loss(params, x, y):
    return np.sum((model.forward(params, x) - y) ** 2)


def init(seed=0, sizes=(3, 4, 2)):
    rng = np.random.default_rng(seed)
    layers = [(rng.standard_normal((m, n)) * 0.5, np.zeros(m))
              for n, m in zip(sizes[:-1], sizes[1:])]
    return {"layers": layers, "scale": 1.5}


if __name__ == "__main__":
    params = init()
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.3, -0.2])
    grads = s2sad.grad(loss)(params, x, y)
    print("d loss / d scale:", grads["scale"])
    print("d loss / d w of layer 1:\n", grads["layers"][0][0])
    s2sad.check_grads(loss, (params, x, y), argnums=(0,))
    print("checked against central differences")
