"""A differential fuzzer for s2sad: random programs against Python itself.

    python tools/fuzz.py --programs 2000 --seed 0 [--keep DIR] [--minimise N]
        [--batch 100] [--verbose]

Writes random programs (seeded, deterministic) as real source files, a module
per batch, imports them and runs each through s2sad's `value_and_grad`,
`vjp` and `jvp`. The programs are built from a table of statement makers
(`MAKERS`) that write what users write: arrays made and copied, aliases and
views updated in place, containers, dtype conversions, keywords, special
values, complex inputs, helper functions and module constants, loops and
branches. Each program takes Python floats, float (and complex) arrays,
ints, lists and dicts.

Every program has exactly three acceptable outcomes:

- refused: s2sad raises an `S2SADError` (not `S2SADInternalError`) whose
  message starts with `FILE:LINE:` inside the program, when the derivative
  is made or called;
- raised: `f(*args)` raises and s2sad raises the same exception type;
- checked: every value s2sad computes equals `f(*args)` bitwise (same shape
  and dtype kind), the derivatives match central differences (below), the
  reverse and forward derivatives agree with each other, the caller's
  arguments and the module's constants are unchanged, and no gradient shares
  memory with another, with an argument or with the cotangent.

Anything else is a finding; its class says what went wrong and where
(`wrong value [jvp]`, `internal TypeError [vjp]`, ...).

Derivatives: each input coordinate (real and imaginary parts of complex
inputs separately) is moved in float64. The reference is the fourth-order
central difference with step 1e-3; the point counts as smooth along that
coordinate only if the second-order difference with step 1e-5 agrees with it
(so kinks, jumps of int/round/floor and float32 rounding within 2e-3 are
skipped, and counted). s2sad's derivative must then agree with the reference
within 1e-6 relative to the size of the derivative (plus 1e-9 times the size
of the output, for rounding in the differences). The reverse derivative of a
complex input z is compared with d/dRe(z) - i d/dIm(z) (JAX's convention,
README "Complex values"); forward tangents of a real output must be real.

Findings are minimised (statements, return terms, helpers and arguments are
dropped while the same class of finding remains) and, with `--keep DIR`,
written to DIR as runnable files. The exit status is 1 if anything was found.
"""

import argparse
import collections
import contextlib
import copy
import importlib.util
import itertools
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import s2sad  # noqa: E402
from s2sad import errors  # noqa: E402
from s2sad.api import _get, _leaves  # noqa: E402 (check_grads' walkers)

# ------------------------------------------------------------------ types


class T:
    """The static type of a value a program holds.

    kind: "float" (a Python or NumPy real scalar), "int", "array", "list",
    "tuple" or "dict". Arrays have a shape (a `None` length is known only at
    run time) and a dtype kind: "f" float64, "f4" float32, "i", "b", "c".
    Containers hold the types of their items (a dict: key -> type).
    """

    __slots__ = ("kind", "shape", "dtype", "items")

    def __init__(self, kind, shape=(), dtype="f", items=None):
        self.kind, self.shape, self.dtype, self.items = (
            kind, tuple(shape), dtype, items)

    def __eq__(self, other):
        return (isinstance(other, T) and self.kind == other.kind
                and self.shape == other.shape and self.dtype == other.dtype
                and self.items == other.items)

    def __hash__(self):
        return hash((self.kind, self.shape, self.dtype))

    def __repr__(self):
        return f"T({self.kind}, {self.shape}, {self.dtype})"


FLOAT, INT = T("float"), T("int")


def arr(shape, dtype="f"):
    return T("array", shape, dtype)


def is_real_array(t, ndim=None):
    return (t.kind == "array" and t.dtype in ("f", "f4")
            and (ndim is None or len(t.shape) == ndim))


def known(t):
    return t.kind == "array" and None not in t.shape


SHAPES = [(3,), (4,), (2, 3), (3,), (2, 3)]

# ------------------------------------------------------------------ statements


class Line:
    """One statement on one line."""

    def __init__(self, text):
        self.text = text

    def render(self, indent):
        return [" " * indent + self.text]

    def copy(self):
        return Line(self.text)


class Block:
    """A compound statement: its header (`for ...:`) and body; `orelse` is
    the body of an `else:`."""

    def __init__(self, header, body, orelse=None):
        self.header, self.body, self.orelse = header, body, orelse

    def render(self, indent):
        lines = [" " * indent + self.header]
        for stmt in self.body or [Line("pass")]:
            lines += stmt.render(indent + 4)
        if self.orelse is not None:
            lines.append(" " * indent + "else:")
            for stmt in self.orelse or [Line("pass")]:
                lines += stmt.render(indent + 4)
        return lines

    def copy(self):
        return Block(self.header, [s.copy() for s in self.body],
                     None if self.orelse is None
                     else [s.copy() for s in self.orelse])


class Program:
    """A generated program: module constants and helpers, then `def`."""

    def __init__(self, name, params, inputs, body, returns, tops, tags,
                 output, vjp=True):
        self.name = name
        self.params = params      # [(name, T)]
        self.inputs = inputs      # the argument values
        self.body = body          # [Line | Block]
        self.returns = returns    # return terms (summed), or [array expr]
        self.tops = tops          # [(kind "const"|"helper", name, lines)]
        self.tags = tags          # the features it exercises
        self.output = output      # "scalar" or "array"
        self.vjp = vjp            # check s2sad.vjp too

    def source(self):
        lines = []
        for _, _, top in self.tops:
            lines += top
        lines.append(f"def {self.name}({', '.join(p for p, _ in self.params)}):")
        for stmt in self.body:
            lines += stmt.render(4)
        joined = " + ".join(self.returns) if self.output == "scalar" else (
            self.returns[0])
        lines.append(f"    return {joined}")
        return lines

    def copy(self):
        return Program(self.name, list(self.params), list(self.inputs),
                       [s.copy() for s in self.body], list(self.returns),
                       list(self.tops), set(self.tags), self.output,
                       self.vjp)


# ------------------------------------------------------------------ generator


class Gen:
    """Builds one program: a scope of typed names and a random source."""

    def __init__(self, rng, name):
        self.rng = rng
        self.name = name
        self.env = {}          # name -> T, the names in scope
        self.consts = {}       # module constants: name -> T
        self.helpers = {}      # helper name -> signature kind
        self.tops = []
        self.tags = set()
        self.counter = itertools.count()
        self.depth = 0
        self.frozen = set()    # outer names a block may only update in kind
        self.pending = []
        self.taken = set()     # every name given out (the parameters too)

    # names
    def fresh(self, stem="v"):
        while True:
            name = f"{stem}{next(self.counter)}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def define(self, name, t):
        """Binds `name` once the statement being made is done (its own
        right-hand side can't read it)."""
        self.pending.append((name, t))

    def bind(self, name, t):
        self.env[name] = t

    def pick(self, predicate, include_consts=False):
        names = [n for n, t in self.env.items() if predicate(t)]
        if include_consts:
            names += [n for n, t in self.consts.items() if predicate(t)]
        return self.rng.choice(names) if names else None

    def typeof(self, name):
        return self.env.get(name) or self.consts.get(name)

    def chance(self, p):
        return self.rng.random() < p

    def const(self):
        return self.rng.choice(["0.5", "2.0", "-1.25", "3.0", "0.75", "1.5",
                                "-0.5", "0.0", "1.0", "0.1"])

    def index(self, n):
        return self.rng.randrange(-n, n) if n else 0

    # expressions
    def scalar(self, depth=0):
        """A real scalar expression."""
        rng = self.rng
        options = ["var", "var", "elem", "reduce", "const", "binary",
                   "binary", "unary", "int"]
        if depth >= 2 or depth == 1 and self.chance(0.6):
            options = ["var", "var", "elem", "reduce", "const"]
        choice = rng.choice(options)
        if choice == "var":
            name = self.pick(lambda t: t.kind == "float", include_consts=True)
            if name:
                return name
        if choice in ("elem", "var"):
            name = self.pick(lambda t: is_real_array(t) and known(t)
                             and 0 not in t.shape and len(t.shape) <= 2,
                             include_consts=True)
            if name:
                shape = self.typeof(name).shape
                return f"{name}[{', '.join(str(self.index(n)) for n in shape)}]"
        if choice == "reduce":
            name = self.pick(lambda t: t.kind == "array" and t.dtype != "c",
                             include_consts=True)
            if name:
                fn = rng.choice(["np.sum({})", "np.mean({})", "{}.sum()",
                                 "np.max({})", "np.prod({})", "np.min({})"])
                return fn.format(name)
            name = self.pick(lambda t: t.kind == "array" and t.dtype == "c")
            if name:
                self.tags.add("complex")
                return rng.choice([
                    "np.linalg.norm({})", "np.var({})", "np.std({})",
                    "np.sum(np.abs({}))", "np.real(np.sum({}))",
                    "np.sum({}).imag", "np.abs(np.vdot({0}, {0}))",
                    "np.mean({}).real"]).format(name)
        if choice == "int":
            name = self.pick(lambda t: t.kind == "int")
            if name:
                return f"{name} * {self.scalar(depth + 1)}"
        if choice == "binary":
            op = rng.choice(["+", "-", "*", "*", "/"])
            left, right = self.scalar(depth + 1), self.scalar(depth + 1)
            if op == "/" and self.chance(0.7):
                return f"{left} / (1.0 + {right} ** 2)"
            return f"({left} {op} {right})"
        if choice == "unary":
            inner = self.scalar(depth + 1)
            return rng.choice([
                "np.sin({})", "math.cos({})", "np.tanh({})", "({}) ** 2",
                "abs({})", "np.exp(-({}) ** 2)", "math.exp(0.1 * {})",
                "np.sqrt(({}) ** 2 + 1.0)", "max({0}, 0.25 * {0})",
                "float({})", "np.log1p(({}) ** 2)", "min({}, 1.5)"]).format(inner)
        return self.const()

    def array(self, shape, depth=0):
        """A real float array expression of `shape`."""
        rng = self.rng
        same = self.pick(lambda t: t.kind == "array" and t.shape == shape
                         and t.dtype != "c", include_consts=True)
        options = ["same", "same", "same", "make", "unary", "binary",
                   "scalar", "shape", "complex"]
        if depth >= 2 or depth == 1 and self.chance(0.6):
            options = ["same", "same", "make", "scalar"]
        choice = rng.choice(options)
        if choice == "same" and same:
            if self.typeof(same).dtype in ("i", "b"):
                return f"{same} * {self.scalar(depth + 1)}"
            return same
        if choice == "unary":
            inner = self.array(shape, depth + 1)
            return rng.choice([
                "np.sin({})", "np.cos({})", "np.tanh({})", "({}) ** 2",
                "np.exp(0.3 * {})", "np.abs({})", "np.sqrt(np.abs({}))",
                "np.log1p(({}) ** 2)", "np.maximum({}, 0.2)",
                "np.clip({}, -1.0, 1.0)", "-{}", "np.square({})",
                "np.where({0} > 0.3, {0}, 0.5 * {0})", "np.cbrt({})",
                "np.arctan({})"]).format(inner)
        if choice == "binary":
            left, right = self.array(shape, depth + 1), self.array(
                shape, depth + 1)
            op = rng.choice(["+", "-", "*", "*"])
            if self.chance(0.15):
                return f"{left} / (1.0 + {right} ** 2)"
            return f"({left} {op} {right})"
        if choice == "scalar":
            other = self.array(shape, depth + 1)
            return f"{other} * {self.scalar(depth + 1)}"
        if choice == "shape":
            expr = self.reshaped(shape)
            if expr:
                return expr
        if choice == "complex":
            name = self.pick(lambda t: t.kind == "array" and t.dtype == "c"
                             and t.shape == shape)
            if name:
                self.tags.add("complex")
                return rng.choice(["np.abs({})", "np.real({})", "{}.imag",
                                   "np.angle({})", "({0} * np.conj({0})).real",
                                   "np.imag({} ** 2)"]).format(name)
        if shape == ():
            return self.scalar(depth + 1)
        return rng.choice([
            "np.ones({0}) * {1}", "np.full({0}, {1})",
            "np.linspace(0.0, 1.0, {2}).reshape({0}) * {1}",
            "np.arange({2}).reshape({0}) * {1}"]).format(
                shape, self.scalar(depth + 1), math.prod(shape))

    def reshaped(self, shape):
        """An expression of `shape` made from an array of another shape."""
        candidates = []
        for name, t in list(self.env.items()) + list(self.consts.items()):
            if not (is_real_array(t) and known(t)) or t.shape == shape:
                continue
            if math.prod(t.shape) == math.prod(shape):
                candidates.append(f"{name}.reshape({shape})")
            if len(t.shape) == 2 and t.shape[::-1] == shape:
                candidates.append(f"{name}.T")
            if len(t.shape) == 2 and len(shape) == 1:
                if t.shape[1] == shape[0]:
                    candidates += [f"{name}[{self.index(t.shape[0])}]",
                                   f"np.sum({name}, axis=0)",
                                   f"{name}.mean(axis=0)",
                                   f"np.max({name}, axis=0)"]
                if t.shape[0] == shape[0]:
                    candidates += [f"{name}[:, {self.index(t.shape[1])}]",
                                   f"np.sum({name}, axis=1)",
                                   f"np.std({name}, axis=-1)"]
            if len(t.shape) == 1 and len(shape) == 1 and t.shape[0] > shape[0]:
                k = t.shape[0] - shape[0]
                candidates += [f"{name}[{k}:]", f"{name}[:{shape[0]}]",
                               f"np.diff({name}, n={k})"]
            if len(t.shape) == 1 and len(shape) == 2 and shape[1] == t.shape[0]:
                candidates.append(f"np.tile({name}, ({shape[0]}, 1))")
        return self.rng.choice(candidates) if candidates else None

    def complex_array(self, shape):
        name = self.pick(lambda t: t.kind == "array" and t.dtype == "c"
                         and t.shape == shape)
        real = self.array(shape, 1)
        options = [f"np.exp(1j * {real})", f"{real} + 1j * {self.array(shape, 1)}",
                   f"{real} * (0.5 - 1j)"]
        if name:
            options += [f"{name} * {real}", f"np.conj({name})", f"{name} ** 2",
                        f"{name} * 1j + {self.scalar(1)}", name,
                        f"np.exp({name} * 0.5)"]
        return self.rng.choice(options)

    def condition(self):
        left = self.scalar(1)
        return self.rng.choice([f"{left} > {self.const()}",
                                f"{left} < {self.scalar(1)}",
                                f"{left} >= 0.0",
                                f"not {left} > 1.0"])

    # statements
    def statements(self, count):
        out = []
        for _ in range(count):
            for _ in range(20):
                weight_total = sum(w for w, _, _ in MAKERS)
                r = self.rng.random() * weight_total
                for weight, tag, maker in MAKERS:
                    r -= weight
                    if r <= 0:
                        break
                if tag == "loops" and self.depth >= 2:
                    continue
                self.pending = []
                made = maker(self)
                pending, self.pending = self.pending, []
                if made:
                    for name, t in pending:
                        self.env[name] = t
                    self.tags.add(tag)
                    out += made
                    break
        return out

    def block_body(self, count):
        """Statements in a nested scope: names made inside are dropped after,
        names from outside keep their type."""
        saved, frozen = dict(self.env), self.frozen
        self.frozen = frozen | set(saved)
        self.depth += 1
        try:
            body = self.statements(count)
        finally:
            self.depth -= 1
            self.env = {n: t for n, t in self.env.items() if n in saved}
            self.frozen = frozen
        return body

    def assign(self, target, t):
        """May `target` be (re)bound to a value of type t here?"""
        return target not in self.frozen or self.env.get(target) == t


# each maker returns a list of statements, or None when it does not apply

def mk_create(g):
    shape = g.rng.choice(SHAPES + [(0,)] if g.chance(0.05) else SHAPES)
    name = g.fresh("a")
    form = g.rng.choice(["zeros", "ones", "arange", "list", "copy", "copy",
                         "full", "npcopy", "asarray"])
    size = math.prod(shape)
    if form == "zeros":
        src = f"np.zeros({shape})"
    elif form == "ones":
        src = f"np.ones({shape})"
    elif form == "arange":
        if g.chance(0.5):
            g.define(name, arr(shape, "i"))
            return [Line(f"{name} = np.arange({size}).reshape({shape})")]
        src = f"np.arange({float(size)}).reshape({shape})"
    elif form == "full":
        src = f"np.full({shape}, {g.scalar()})"
    elif form == "list" and len(shape) == 1:
        items = ", ".join(g.scalar(1) for _ in range(shape[0]))
        src = f"np.array([{items}])"
    elif form == "list":
        rows = ", ".join("[" + ", ".join(g.scalar(1) for _ in range(shape[1]))
                         + "]" for _ in range(shape[0]))
        src = f"np.array([{rows}])"
    else:
        base = g.pick(lambda t: t.kind == "array" and known(t),
                      include_consts=True)
        if not base:
            return None
        shape = g.typeof(base).shape
        src = {"copy": f"{base}.copy()", "npcopy": f"np.copy({base})",
               "asarray": f"np.array({base})"}.get(form, f"{base}.copy()")
        g.define(name, arr(shape, g.typeof(base).dtype))
        return [Line(f"{name} = {src}")]
    g.define(name, arr(shape))
    return [Line(f"{name} = {src}")]


def mk_expr(g):
    """A new array or scalar from an expression."""
    if g.chance(0.4):
        name = g.fresh("s")
        g.define(name, FLOAT)
        return [Line(f"{name} = {g.scalar()}")]
    shape = g.rng.choice(SHAPES)
    name = g.fresh("e")
    src = g.array(shape)
    g.define(name, arr(shape))
    return [Line(f"{name} = {src}")]


def mk_alias(g):
    base = g.pick(lambda t: t.kind == "array" and known(t),
                  include_consts=g.chance(0.3))
    if not base:
        return None
    t = g.typeof(base)
    name = g.fresh("b")
    forms = [(f"{base}", t.shape)]
    if len(t.shape) == 1 and t.shape[0] >= 2:
        n = t.shape[0]
        forms += [(f"{base}[:2]", (2,)), (f"{base}[1:]", (n - 1,)),
                  (f"{base}[::2]", ((n + 1) // 2,)),
                  (f"{base}[::-1]", (n,))]
        if n % 2 == 0:
            forms.append((f"{base}.reshape(2, {n // 2})", (2, n // 2)))
    if len(t.shape) == 2:
        r, c = t.shape
        forms += [(f"{base}.T", (c, r)), (f"{base}.reshape(-1)", (r * c,)),
                  (f"{base}[{g.index(r)}]", (c,)), (f"{base}.ravel()", (r * c,)),
                  (f"{base}[:, {g.index(c)}]", (r,)),
                  (f"{base}[1:]", (r - 1, c))]
    src, shape = g.rng.choice(forms)
    g.define(name, arr(shape, t.dtype))
    return [Line(f"{name} = {src}")]


def mk_inplace(g):
    target = g.pick(lambda t: t.kind == "array" and known(t)
                    and t.dtype != "c", include_consts=g.chance(0.1))
    if not target:
        return None
    t = g.typeof(target)
    shape, rng = t.shape, g.rng
    form = rng.choice(["aug", "aug", "item", "itemaug", "slice", "slicestore",
                       "mask", "row"])
    op = rng.choice(["+=", "-=", "*=", "/="])
    if op == "/=" and g.chance(0.5):
        op = "*="
    if form == "aug":
        value = g.scalar(1) if g.chance(0.4) else g.array(shape, 1)
        return [Line(f"{target} {op} {value}")]
    if 0 in shape:
        return [Line(f"{target} {op} {g.scalar(1)}")]
    idx = ", ".join(str(g.index(n)) for n in shape)
    if form == "item":
        return [Line(f"{target}[{idx}] = {g.scalar(1)}")]
    if form == "itemaug":
        return [Line(f"{target}[{idx}] {op} {g.scalar(1)}")]
    if form == "slice":
        return [Line(f"{target}[1:] {op} {g.scalar(1)}")]
    if form == "slicestore" and len(shape) == 1 and shape[0] >= 2:
        return [Line(f"{target}[:2] = {g.array((2,), 1)}")]
    if form == "mask":
        return [Line(f"{target}[{target} > {g.scalar(2)}] = {g.scalar(2)}")]
    if form == "row" and len(shape) == 2:
        return [Line(f"{target}[{g.index(shape[0])}] = "
                     f"{g.array((shape[1],), 1)}")]
    return [Line(f"{target}[{idx}] {op} {g.scalar(1)}")]


def mk_scalar_update(g):
    name = g.pick(lambda t: t.kind == "float")
    if not name:
        return None
    op = g.rng.choice(["+=", "-=", "*=", "/="])
    value = g.scalar(1)
    if op == "/=":
        value = f"(1.0 + {value} ** 2)"
    if g.chance(0.3):
        return [Line(f"{name} = {name} {op[0]} {value}")]
    return [Line(f"{name} {op} {value}")]


def mk_container(g):
    rng = g.rng
    form = rng.choice(["list", "append", "dict", "tuple", "mutate", "mutate",
                       "read", "stack", "comp", "pop", "twice"])
    if form == "list":
        items = [g.pick(lambda t: t.kind in ("float", "array")) or g.scalar()
                 for _ in range(rng.randint(1, 3))]
        name = g.fresh("L")
        g.define(name, T("list", items=[g.typeof(i) or FLOAT for i in items]))
        return [Line(f"{name} = [{', '.join(items)}]")]
    if form == "dict":
        items = {k: g.pick(lambda t: t.kind in ("float", "array")) or g.scalar()
                 for k in rng.sample(["w", "b", "s"], rng.randint(1, 3))}
        name = g.fresh("d")
        g.define(name, T("dict", items={k: g.typeof(v) or FLOAT
                                        for k, v in items.items()}))
        body = ", ".join(f"{k!r}: {v}" for k, v in items.items())
        return [Line(f"{name} = {{{body}}}")]
    if form == "tuple":
        a = g.pick(lambda t: t.kind in ("float", "array"))
        b = g.pick(lambda t: t.kind in ("float", "array"))
        if not a or not b:
            return None
        p, q = g.fresh("u"), g.fresh("u")
        g.define(p, g.typeof(b))
        g.define(q, g.typeof(a))
        if g.chance(0.5):
            t = g.fresh("t")
            g.define(t, T("tuple", items=[g.typeof(a), g.typeof(b)]))
            return [Line(f"{t} = ({a}, {b})"), Line(f"{q}, {p} = {t}[0], {t}[1]")
                    if g.chance(0.5) else Line(f"{q}, {p} = {t}")]
        return [Line(f"{p}, {q} = {b}, {a}")]
    lists = [n for n, t in g.env.items() if t.kind == "list"]
    dicts = [n for n, t in g.env.items() if t.kind == "dict"]
    if form == "append" and lists:
        name = rng.choice(lists)
        value = g.pick(lambda t: t.kind in ("float", "array")) or g.scalar()
        if name in g.frozen:    # appended in a loop: the length is unknown
            return None
        g.env[name] = T("list", items=g.env[name].items + [g.typeof(value)
                                                           or FLOAT])
        return [Line(f"{name}.append({value})")]
    if form == "pop" and lists:
        name = rng.choice(lists)
        if name in g.frozen or not g.env[name].items:
            return None
        g.env[name] = T("list", items=g.env[name].items[:-1])
        return [Line(f"{name}.pop()")]
    if form in ("mutate", "read", "twice") and (lists or dicts):
        name = rng.choice(lists + dicts)
        t = g.env[name]
        keys = (list(range(len(t.items))) if t.kind == "list"
                else list(t.items))
        if not keys:
            return None
        key = rng.choice(keys)
        item = t.items[key]
        ref = f"{name}[{key!r}]"
        if form == "mutate":
            if item.kind == "array" and item.dtype != "c":
                op = rng.choice(["+=", "*=", "-="])
                return [Line(f"{ref} {op} {g.scalar(1)}")]
            if item.kind == "float" and not (name in g.frozen and False):
                return [Line(f"{ref} = {ref} * {g.scalar(1)}")]
            return None
        new = g.fresh("r")
        g.define(new, item)
        if form == "twice":
            return [Line(f"{new} = {ref} * {ref} + {ref}")]
        return [Line(f"{new} = {ref}")]
    if form == "stack":
        items = [n for n, t in g.env.items()
                 if is_real_array(t, 1) and known(t)]
        if len(items) < 2:
            return None
        a, b = rng.sample(items, 2)
        if g.env[a].shape != g.env[b].shape or g.chance(0.4):
            name = g.fresh("c")
            axis = rng.choice(["", ", axis=0", ", axis=-1"])
            g.define(name, arr((g.env[a].shape[0] + g.env[b].shape[0],)))
            return [Line(f"{name} = np.concatenate([{a}, {b}]{axis})")]
        name = g.fresh("c")
        axis = rng.choice([0, 1])
        n = g.env[a].shape[0]
        g.define(name, arr((2, n) if axis == 0 else (n, 2)))
        return [Line(f"{name} = np.stack([{a}, {b}], axis={axis})")]
    if form == "comp" and lists:
        name = rng.choice(lists)
        items = g.env[name].items
        if not items or any(i != items[0] for i in items) or \
                items[0].kind not in ("float", "array") or \
                (items[0].kind == "array" and items[0].dtype == "c") or \
                name in g.frozen:
            return None
        new = g.fresh("L")
        g.define(new, T("list", items=list(items)))
        return [Line(f"{new} = [np.sin(u) * 2.0 for u in {name}]")]
    return None


def mk_dtype(g):
    rng = g.rng
    form = rng.choice(["astype_int", "astype_f32", "astype_bool", "int",
                       "round", "round2", "floor", "rint", "mask", "where",
                       "intstore", "array_dtype", "float", "intmul"])
    a = g.pick(lambda t: is_real_array(t) and known(t), include_consts=True)
    name = g.fresh("k")
    if form in ("int", "round"):
        fn = "int" if form == "int" else "round"
        g.define(name, INT)
        return [Line(f"{name} = {fn}({g.scalar(1)})")]
    if form == "round2":
        g.define(name, FLOAT)
        return [Line(f"{name} = round({g.scalar(1)}, 2)")]
    if form == "float":
        k = g.pick(lambda t: t.kind == "int")
        if not k:
            return None
        g.define(name, FLOAT)
        return [Line(f"{name} = float({k}) * {g.scalar(1)}")]
    if not a:
        return None
    t = g.typeof(a)
    if form == "astype_int":
        g.define(name, arr(t.shape, "i"))
        return [Line(f"{name} = {a}.astype(int)")]
    if form == "astype_f32":
        g.define(name, arr(t.shape, "f4"))
        return [Line(f"{name} = {a}.astype(np.float32)")]
    if form == "astype_bool":
        g.define(name, arr(t.shape, "b"))
        return [Line(f"{name} = {a}.astype(bool)")]
    if form in ("floor", "rint"):
        g.define(name, arr(t.shape))
        return [Line(f"{name} = np.{form}({a} * {g.scalar(1)})")]
    if form == "mask":
        mask = g.fresh("m")
        g.define(mask, arr(t.shape, "b"))
        g.define(name, arr(t.shape))
        return [Line(f"{mask} = {a} > {g.scalar(1)}"),
                Line(f"{name} = {g.array(t.shape, 1)} * {mask}")]
    if form == "where":
        g.define(name, arr(t.shape))
        return [Line(f"{name} = np.where({a} < {g.scalar(1)}, "
                     f"{g.array(t.shape, 1)}, {g.scalar(1)})")]
    if form == "intstore":
        ints = g.pick(lambda t: t.kind == "array" and t.dtype == "i"
                      and known(t) and 0 not in t.shape)
        if not ints:
            g.define(name, arr(t.shape, "i"))
            return [Line(f"{name} = np.zeros({t.shape}, dtype=int)"),
                    Line(f"{name}[{', '.join(str(g.index(n)) for n in t.shape)}]"
                         f" = {g.scalar(1)}") if 0 not in t.shape else
                    Line(f"{name} += 1")]
        shape = g.env[ints].shape if ints in g.env else g.consts[ints].shape
        return [Line(f"{ints}[{', '.join(str(g.index(n)) for n in shape)}] = "
                     f"{g.scalar(1)}")]
    if form == "array_dtype":
        dtype = rng.choice(["int", "float", "np.float32", "bool"])
        g.define(name, arr(t.shape, {"int": "i", "float": "f",
                                     "np.float32": "f4", "bool": "b"}[dtype]))
        return [Line(f"{name} = np.array({a}, dtype={dtype})")]
    ints = g.pick(lambda t: t.kind == "array" and t.dtype in ("i", "b")
                  and known(t))
    if not ints:
        return None
    shape = g.typeof(ints).shape
    g.define(name, arr(shape))
    return [Line(f"{name} = {ints} * {g.array(shape, 1)}")]


def mk_keywords(g):
    rng = g.rng
    a = g.pick(lambda t: is_real_array(t) and known(t), include_consts=True)
    if not a:
        return None
    t = g.typeof(a)
    name = g.fresh("w")
    forms = ["sum_dtype", "take", "clip", "clip_kw", "cumsum", "var", "norm",
             "round", "sort"]
    if len(t.shape) == 2:
        forms += ["sum_axis", "sum_keep", "mean_axis", "max_axis", "concat1"]
    form = rng.choice(forms)
    if form == "sum_dtype":
        g.define(name, FLOAT)
        dtype = rng.choice(["np.float32", "float", "np.float64"])
        return [Line(f"{name} = np.sum({a}, dtype={dtype})")]
    if form == "take" and len(t.shape) == 1:
        mode = rng.choice(["clip", "wrap"])
        g.define(name, arr((3,)))
        return [Line(f"{name} = np.take({a}, [0, {t.shape[0] + 1}, -1], "
                     f"mode={mode!r})")]
    if form == "clip":
        g.define(name, arr(t.shape))
        return [Line(f"{name} = np.clip({a}, -0.5, {g.scalar(2)})")]
    if form == "clip_kw":
        g.define(name, arr(t.shape))
        return [Line(f"{name} = {a}.clip(min=-1.0, max=1.0)")]
    if form == "cumsum":
        axis = rng.choice(["", ", axis=0", ", axis=-1"])
        fn = rng.choice(["cumsum", "cumprod"])
        g.define(name, arr(t.shape if axis else (math.prod(t.shape),)))
        return [Line(f"{name} = np.{fn}({a}{axis})")]
    if form == "var":
        g.define(name, FLOAT)
        fn = rng.choice(["var", "std"])
        return [Line(f"{name} = np.{fn}({a}, ddof={rng.choice([0, 1])})")]
    if form == "norm":
        g.define(name, FLOAT)
        ord_ = rng.choice(["", ", ord=1", ", ord=2", ", ord=np.inf"]
                          if len(t.shape) == 1 else ["", ", ord='fro'"])
        return [Line(f"{name} = np.linalg.norm({a}{ord_})")]
    if form == "round":
        g.define(name, arr(t.shape))
        return [Line(f"{name} = np.round({a}, decimals=1) + {a}")]
    if form == "sort":
        g.define(name, arr(t.shape))
        return [Line(f"{name} = np.sort({a}, axis=-1)")]
    if form == "sum_axis":
        axis = rng.choice([0, 1])
        g.define(name, arr((t.shape[1 - axis],)))
        return [Line(f"{name} = np.sum({a}, axis={axis})")]
    if form == "sum_keep":
        axis = rng.choice([0, 1])
        shape = (1, t.shape[1]) if axis == 0 else (t.shape[0], 1)
        g.define(name, arr(shape))
        return [Line(f"{name} = np.sum({a}, axis={axis}, keepdims=True)")]
    if form == "mean_axis":
        g.define(name, arr((t.shape[0],)))
        return [Line(f"{name} = {a}.mean(axis=1)")]
    if form == "max_axis":
        g.define(name, arr((t.shape[1],)))
        return [Line(f"{name} = np.max({a}, axis=0)")]
    if form == "concat1":
        g.define(name, arr((t.shape[0], 2 * t.shape[1])))
        return [Line(f"{name} = np.concatenate([{a}, {g.array(t.shape, 1)}], "
                     f"axis=1)")]
    return None


def mk_special(g):
    rng = g.rng
    form = rng.choice(["sqrt0", "log", "pow0", "div", "empty", "emptysum",
                       "sqrtarr", "powint", "inf", "mathsqrt", "hypot"])
    name = g.fresh("z")
    if form == "sqrt0":
        g.define(name, FLOAT)
        return [Line(f"{name} = np.sqrt({g.scalar(1)} * 0.0)")]
    if form == "log":
        g.define(name, FLOAT)
        return [Line(f"{name} = np.log({g.scalar(1)})")]
    if form == "pow0":
        g.define(name, FLOAT)
        return [Line(f"{name} = ({g.scalar(1)}) ** {rng.choice(['0.5', '2', '1.5', '0', '-1', '3.0'])}")]
    if form == "div":
        g.define(name, FLOAT)
        return [Line(f"{name} = {g.scalar(1)} / {g.scalar(1)}")]
    if form == "empty":
        a = g.pick(lambda t: is_real_array(t, 1) and known(t),
                   include_consts=True)
        if not a:
            return None
        g.define(name, arr((0,)))
        return [Line(f"{name} = {a}[:0] * {g.scalar(1)}")]
    if form == "emptysum":
        g.define(name, FLOAT)
        e = g.pick(lambda t: t.kind == "array" and 0 in t.shape)
        if not e:
            return [Line(f"{name} = np.sum(np.zeros(0)) + {g.scalar(1)}")]
        return [Line(f"{name} = np.sum({e} ** 2) + {g.scalar(1)}")]
    if form == "sqrtarr":
        a = g.pick(lambda t: is_real_array(t) and known(t))
        if not a:
            return None
        shape = g.typeof(a).shape
        g.define(name, arr(shape))
        return [Line(f"{name} = np.sqrt({a} * {a}) + np.log(np.abs({a}))")]
    if form == "powint":
        a = g.pick(lambda t: is_real_array(t) and known(t))
        if not a:
            return None
        g.define(name, arr(g.typeof(a).shape))
        return [Line(f"{name} = np.power({a}, {rng.choice([2, 3, 0.5, -1])})")]
    if form == "inf":
        g.define(name, FLOAT)
        return [Line(f"{name} = min({g.scalar(1)}, np.inf) + 0.0 * np.inf"
                     if g.chance(0.2) else
                     f"{name} = min({g.scalar(1)}, float('inf'))")]
    if form == "mathsqrt":
        g.define(name, FLOAT)
        return [Line(f"{name} = math.sqrt({g.scalar(1)})")]
    g.define(name, FLOAT)
    return [Line(f"{name} = math.hypot({g.scalar(1)}, {g.scalar(1)})")]


def mk_complex(g):
    shape = g.rng.choice([(3,), (4,)])
    name = g.fresh("q")
    if g.chance(0.6):
        g.define(name, arr(shape, "c"))
        return [Line(f"{name} = {g.complex_array(shape)}")]
    z = g.pick(lambda t: t.kind == "array" and t.dtype == "c")
    if not z:
        return None
    g.define(name, FLOAT)
    return [Line(f"{name} = " + g.rng.choice([
        "np.linalg.norm({})", "np.var({})", "np.std({})",
        "np.sum(np.abs({}) ** 2)", "np.real(np.sum({0} * {0}))",
        "np.sum(np.conj({}).imag)", "np.abs(np.sum({}))",
        "np.linalg.norm({}, ord=1)"]).format(z))]


HELPERS = [
    ("pure", ["def {h}(u, v):", "    return u * v + np.sin(u)"]),
    ("pure", ["def {h}(u, v):", "    w = u - v", "    return w * w"]),
    ("mutates", ["def {h}(u, v):", "    u *= v", "    return u"]),
    ("mutates", ["def {h}(u, v):", "    u[0] = v", "    return u * 2.0"]),
    ("default", ["def {h}(u, v, c={K}):", "    return u * c + v"]),
    ("keyword", ["def {h}(u, v, *, scale=2.0):", "    return scale * u - v"]),
    ("loop", ["def {h}(u, v):", "    t = v",
              "    for e in np.atleast_1d(u):", "        t = t + e * e",
              "    return t + 0.0 * u"]),
    ("container", ["def {h}(u, v):", "    items = [u, v]",
                   "    items.append(items[0] * v)",
                   "    return items[0] + items[2]"]),
    ("global", ["def {h}(u, v):", "    return u * {K} + v * {K}"]),
]


def mk_call(g):
    rng = g.rng
    if not g.helpers or g.chance(0.4):
        kind, lines = rng.choice(HELPERS)
        h = f"{g.name}_h{len(g.helpers)}"
        K = next((n for n, t in g.consts.items() if t.kind == "float"), "1.5")
        g.tops.append(("helper", h, [ln.format(h=h, K=K) for ln in lines]))
        g.helpers[h] = kind
    h = rng.choice(list(g.helpers))
    kind = g.helpers[h]
    u = g.pick(lambda t: t.kind in ("float", "array") and t.dtype != "c"
               and known(t) | (t.kind == "float"), include_consts=True)
    if not u:
        return None
    t = g.typeof(u)
    v = g.scalar(1)
    name = g.fresh("h")
    g.define(name, t if kind != "mutates" or t.kind == "array"
             else t)
    call = f"{h}({u}, {v})"
    if kind == "keyword" and g.chance(0.5):
        call = f"{h}({u}, {v}, scale={g.scalar(1)})"
    if kind == "default" and g.chance(0.5):
        call = f"{h}({u}, v={v})"
    if t.kind == "array" and t.dtype in ("i", "b"):
        g.define(name, arr(t.shape))
    return [Line(f"{name} = {call}")]


def mk_loop(g):
    """A loop; most carry an accumulator that reads the loop variables (an
    `enumerate` start or a `zip` pairing that is wrong then shows)."""
    rng = g.rng
    form = rng.choice(["range", "range", "enumerate", "enumerate", "zip",
                       "iter", "while", "enumerate_list"])
    acc = g.fresh("acc") if g.chance(0.7) else None
    if form == "range":
        n = g.pick(lambda t: t.kind == "int") if g.chance(0.3) else None
        bound = f"{n} % 4" if n else str(rng.randint(0, 3))
        i = g.fresh("i")
        start = rng.choice(["", "1, "])
        header = f"for {i} in range({start}{bound}):"
        names = [(i, INT)]
    elif form in ("enumerate", "iter", "zip"):
        a = g.pick(lambda t: is_real_array(t) and known(t) and t.shape[0] < 6)
        if not a:
            return None
        t = g.typeof(a)
        elem = FLOAT if len(t.shape) == 1 else arr(t.shape[1:])
        i, v = g.fresh("i"), g.fresh("x")
        if form == "enumerate":
            start = rng.choice(["", ", start=1", ", start=2", ", 3",
                                ", start=-1"])
            header = f"for {i}, {v} in enumerate({a}{start}):"
            names = [(i, INT), (v, elem)]
        elif form == "zip":
            b = g.pick(lambda s: s.kind == "array" and known(s)
                       and s.dtype != "c" and s.shape[:1] == t.shape[:1])
            w = g.fresh("x")
            tb = g.typeof(b)
            header = f"for {v}, {w} in zip({a}, {b}):"
            names = [(v, elem), (w, FLOAT if len(tb.shape) == 1
                                 else arr(tb.shape[1:], tb.dtype))]
        else:
            header = f"for {v} in {a}:"
            names = [(v, elem)]
    elif form == "enumerate_list":
        lists = [n for n, t in g.env.items() if t.kind == "list" and t.items
                 and all(x == t.items[0] for x in t.items)
                 and t.items[0].kind in ("float", "array")]
        if not lists:
            return None
        L = rng.choice(lists)
        i, v = g.fresh("i"), g.fresh("x")
        start = rng.choice([", start=1", ", start=3", ""])
        header = f"for {i}, {v} in enumerate({L}{start}):"
        names = [(i, INT), (v, g.env[L].items[0])]
    else:
        k = g.fresh("n")
        g.bind(k, INT)
        cond = g.condition() if g.chance(0.5) else "True"
        header = f"while {k} < {rng.randint(1, 4)} and {cond}:"
        names = [(k, INT)]
    before = [Line(f"{acc} = {rng.choice(['0.0', '1.0', g.scalar(1)])}")] \
        if acc else []
    if form == "while":
        before.append(Line(f"{names[0][0]} = 0"))
    if acc:
        g.bind(acc, FLOAT)
    update = []
    with scoped(g, *itertools.chain(*names)) if form != "while" else \
            contextlib.nullcontext():
        body = g.block_body(rng.randint(1, 2))
        if acc:
            terms = [n if t.kind in ("float", "int") else f"np.sum({n})"
                     for n, t in names if t.kind != "array" or t.dtype != "c"]
            term = " * ".join(terms) or g.scalar(1)
            update = [Line(rng.choice([f"{acc} += {term}",
                                       f"{acc} = {acc} + {term} * {g.scalar(1)}",
                                       f"{acc} -= {term}"]))]
    tail = [Line(f"{names[0][0]} += 1")] if form == "while" else []
    return before + [Block(header, body + update + tail)]


def mk_branch(g):
    rng = g.rng
    if g.chance(0.25):
        name = g.fresh("s")
        g.define(name, FLOAT)
        return [Line(f"{name} = {g.scalar(1)} if {g.condition()} else "
                     f"{g.scalar(1)}")]
    cond = g.condition()
    body = g.block_body(rng.randint(1, 2))
    orelse = g.block_body(rng.randint(1, 2)) if g.chance(0.5) else None
    return [Block(f"if {cond}:", body, orelse)]


@contextlib.contextmanager
def scoped(g, *pairs):
    """Names bound by a loop header, visible in its body only."""
    names = pairs[::2]
    for name, t in zip(names, pairs[1::2]):
        g.bind(name, t)
    try:
        yield
    finally:
        for name in names:
            g.env.pop(name, None)


# (weight, tag, maker): the grammar; add a row to extend it
MAKERS = [
    (3, "arrays", mk_create),
    (4, "expressions", mk_expr),
    (3, "aliasing", mk_alias),
    (4, "in-place", mk_inplace),
    (2, "in-place", mk_scalar_update),
    (3, "containers", mk_container),
    (3, "dtypes", mk_dtype),
    (2, "keywords", mk_keywords),
    (2, "special values", mk_special),
    (1, "complex", mk_complex),
    (2, "helpers", mk_call),
    (2, "loops", mk_loop),
    (2, "branches", mk_branch),
]

# ------------------------------------------------------------------ programs

ARG_KINDS = ["float", "float", "vec", "vec", "mat", "complex", "int", "list",
             "dict"]


def _number(rng, special):
    if special and rng.random() < 0.25:
        return rng.choice([0.0, 0.0, -1.0, 1.0, 0.5, 2.0, -0.0, float("inf")])
    return rng.uniform(-2.0, 2.0)


def generate(seed, index):
    """Program number `index` of the programs drawn from `seed`."""
    rng = random.Random(f"{seed}:{index}")
    name = f"p{index}"
    g = Gen(rng, name)
    special = rng.random() < 0.3
    # module constants
    for _ in range(rng.randint(0, 2)):
        if rng.random() < 0.5:
            c = f"{name.upper()}_K{len(g.consts)}"
            value = repr(round(rng.uniform(-2, 2), 3))
            g.consts[c] = FLOAT
        else:
            c = f"{name.upper()}_W{len(g.consts)}"
            n = rng.choice([3, 4])
            value = "np.array([" + ", ".join(
                repr(round(rng.uniform(-2, 2), 3)) for _ in range(n)) + "])"
            g.consts[c] = arr((n,))
        g.tops.append(("const", c, [f"{c} = {value}"]))
    # parameters
    params, inputs = [], []
    for k in range(rng.randint(1, 4)):
        kind = rng.choice(ARG_KINDS if k else ARG_KINDS[:6])
        pname = {"float": "x", "vec": "a", "mat": "m", "complex": "z",
                 "int": "n", "list": "l", "dict": "d"}[kind] + str(k)
        if kind == "float":
            t, value = FLOAT, _number(rng, special)
        elif kind in ("vec", "mat"):
            shape = (rng.choice([3, 4]),) if kind == "vec" else (2, 3)
            if special and rng.random() < 0.1:
                shape = (0,)
            t = arr(shape)
            value = np.array([_number(rng, special)
                              for _ in range(math.prod(shape))]).reshape(shape)
        elif kind == "complex":
            t = arr((3,), "c")
            value = np.array([complex(_number(rng, special),
                                      _number(rng, special))
                              for _ in range(3)])
        elif kind == "int":
            t, value = INT, rng.randint(0, 3)
        elif kind == "list":
            t = T("list", items=[arr((3,)), FLOAT])
            value = [np.array([_number(rng, special) for _ in range(3)]),
                     _number(rng, special)]
        else:
            t = T("dict", items={"w": arr((2, 3)), "b": FLOAT})
            value = {"w": np.array([_number(rng, special) for _ in range(6)]
                                   ).reshape(2, 3),
                     "b": _number(rng, special)}
        params.append((pname, t))
        inputs.append(value)
        g.bind(pname, t)
        g.taken.add(pname)
    if special:
        g.tags.add("special values")
    if any(t.dtype == "c" for _, t in params):
        g.tags.add("complex")
    body = g.statements(rng.randint(1, 6))
    output = "array" if rng.random() < 0.2 else "scalar"
    returns = _returns(g, params, output)
    program = Program(name, params, inputs, body, returns, g.tops, g.tags,
                      output)
    # vjp makes a transformation of its own: every program with an array
    # output, a third of the others (value_and_grad checks reverse mode)
    program.vjp = output == "array" or rng.random() < 1 / 3
    return program


def _returns(g, params, output):
    """The return terms: reductions of the arguments and of some locals,
    so that anything changed in place (through an alias) shows."""
    rng = g.rng
    if output == "array":
        name = g.pick(lambda t: is_real_array(t) and t.dtype == "f"
                      and known(t))
        if name:
            t = g.env[name]
            return [rng.choice([name, name, f"{name} * {g.scalar(2)}",
                                f"np.concatenate([{name}.ravel(), "
                                f"np.atleast_1d({g.scalar(2)})])"])]
    names = [p for p, _ in params] + [n for n in list(g.env)[-4:]
                                      if n not in dict(params)]
    rng.shuffle(names)
    terms = [term for term in (_reduce(rng, n, g.env[n])
                               for n in names[:rng.randint(1, 4)])
             if term]
    return terms or ["0.0"]


def _reduce(rng, name, t, depth=0):
    if t.kind in ("float", "int"):
        return name
    if t.kind == "array":
        if t.dtype == "c":
            return rng.choice(["np.sum(np.abs({}) ** 2)",
                               "np.real(np.sum({}))",
                               "np.linalg.norm({})"]).format(name)
        return rng.choice(["np.sum({})", "np.sum({0} * {0})",
                           "np.sum(np.sin({}))", "float(np.sum({}))"]
                          ).format(name)
    if t.kind in ("list", "tuple") and t.items and depth < 2:
        k = rng.randrange(len(t.items))
        return _reduce(rng, f"{name}[{k}]", t.items[k], depth + 1)
    if t.kind == "dict" and t.items and depth < 2:
        k = rng.choice(sorted(t.items))
        return _reduce(rng, f"{name}[{k!r}]", t.items[k], depth + 1)
    return None


def arg_source(value):
    """Python source that makes `value` again, exactly."""
    if isinstance(value, np.ndarray):
        items = ", ".join(arg_source(v) for v in value.ravel())
        return (f"np.array([{items}], dtype={value.dtype.name!r})"
                f".reshape({value.shape})")
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        v = complex(value) if isinstance(value, (complex, np.complexfloating)) \
            else float(value)
        if isinstance(v, complex):
            return f"complex({arg_source(v.real)}, {arg_source(v.imag)})"
        return f"float({str(v)!r})" if not math.isfinite(v) else repr(v)
    if isinstance(value, list):
        return "[" + ", ".join(arg_source(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {arg_source(v)}"
                               for k, v in value.items()) + "}"
    return repr(value)


# ------------------------------------------------------------------ modules


class Modules:
    """Writes programs to module files in `directory` and imports them."""

    HEADER = ["import math", "", "import numpy as np", "", ""]

    def __init__(self, directory):
        self.directory = directory
        self.numbers = itertools.count()

    def load(self, programs):
        """Imports one module holding `programs`; returns (module, path,
        {name: (first line, last line)})."""
        name = f"fuzz_{os.getpid()}_{next(self.numbers)}"
        path = os.path.join(self.directory, name + ".py")
        lines, spans = list(self.HEADER), {}
        for program in programs:
            body = program.source()
            spans[program.name] = (len(lines) + 1, len(lines) + len(body))
            lines += body + ["", ""]
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(lines))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module, path, spans


# ------------------------------------------------------------------ checking

EPS4, EPS2 = 1e-3, 1e-5
RTOL, ATOL_OUTPUT = 1e-6, 1e-9
TIMEOUT = 20


class Finding(Exception):
    """What went wrong: its class (what and in which mode) and the detail."""

    def __init__(self, cls, detail):
        super().__init__(f"{cls}: {detail}")
        self.cls, self.detail = cls, detail

    def __reduce__(self):
        return Finding, (self.cls, self.detail)


class Timeout(Exception):
    pass


def _differentiable(value):
    if isinstance(value, bool) or isinstance(value, int):
        return False
    if isinstance(value, float):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind in "fc"


def _same(a, b):
    """Bitwise equality of two results (nan equal to nan, same dtype kind)."""
    if isinstance(a, (list, tuple, dict)) or isinstance(b, (list, tuple, dict)):
        if type(a) is not type(b):
            return False
        la, lb = list(_leaves(a)), list(_leaves(b))
        return len(la) == len(lb) and all(
            pa == pb and _same(va, vb) for (pa, va), (pb, vb) in zip(la, lb))
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return False
    if a.shape != b.shape or a.dtype != b.dtype and not (
            a.dtype.kind == b.dtype.kind == "f"
            and a.dtype.itemsize == b.dtype.itemsize):
        return False
    if a.dtype.kind in "fc":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b)))
                    and np.array_equal(np.signbit(a.real), np.signbit(b.real)))
    return np.array_equal(a, b)


def _same_structure(gradient, value):
    """Is `gradient` a list, tuple or dict where `value` is one (with the
    same keys or length, recursively)?"""
    if isinstance(value, (list, tuple, dict)):
        if not isinstance(gradient, type(value)) or len(gradient) != len(value):
            return False
        if isinstance(value, dict):
            return gradient.keys() == value.keys() and all(
                _same_structure(gradient[k], value[k]) for k in value)
        return all(_same_structure(g, v) for g, v in zip(gradient, value))
    return True


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"{value!r}"
    return repr(value)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


@contextlib.contextmanager
def _deadline(seconds):
    def expire(*_):
        raise Timeout(f"no result in {seconds} s")
    if hasattr(signal, "SIGALRM"):
        old = signal.signal(signal.SIGALRM, expire)
        signal.alarm(seconds)
    try:
        yield
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)


class Checker:
    """Runs one program through Python and s2sad and judges the outcome."""

    def __init__(self, module, path, span, program):
        self.module, self.path, self.span = module, path, span
        self.program = program
        self.f = getattr(module, program.name)
        self.args = program.inputs
        self.globals = {name: getattr(module, name)
                        for kind, name, _ in program.tops if kind == "const"}
        self.saved = copy.deepcopy(self.globals)
        self.notes = collections.Counter()

    # calls
    def fresh(self):
        return copy.deepcopy(self.args)

    def restore(self):
        for name, value in self.saved.items():
            setattr(self.module, name, copy.deepcopy(value))

    def python(self, args):
        try:
            return self.f(*args)
        finally:
            # what the program's own code does to its module's arrays (a
            # helper writing into one) the derivative does too
            self.python_after = copy.deepcopy(
                {name: getattr(self.module, name) for name in self.saved})
            self.restore()

    def s2sad_call(self, what, call):
        """Calls s2sad with fresh arguments; checks that they and the module
        constants are unchanged. Returns (result, args) or raises Finding or
        _Stop (an acceptable end of this mode)."""
        args = self.fresh()
        try:
            result = call(args)
        except (Finding, Timeout):
            raise
        except Exception as exc:  # noqa: BLE001 - every exception is judged
            self.judge_exception(what, exc)
        for i, (given, kept) in enumerate(zip(args, self.args)):
            if not _same(given, kept):
                raise Finding(f"mutated argument [{what}]",
                              f"argument {i} was {_describe(kept)}, after "
                              f"the call {_describe(given)}")
        after = getattr(self, "python_after", self.saved)
        now = {name: getattr(self.module, name) for name in self.saved}
        self.restore()
        for name, value in self.saved.items():
            current = now[name]
            if not _same(current, value) and not _same(current, after[name]):
                raise Finding(f"mutated module constant [{what}]",
                              f"{name} was {_describe(value)}, after the "
                              f"call {_describe(current)}")
        return result, args

    def judge_exception(self, what, exc):
        first, last = self.span
        prefix = f"{self.path}:"
        message = str(exc)
        if isinstance(exc, errors.S2SADInternalError):
            raise Finding(f"internal error S2SADInternalError [{what}]",
                          _short(message))
        if isinstance(exc, errors.S2SADError):
            located = False
            if message.startswith(prefix):
                line = message[len(prefix):].split(":", 1)[0]
                located = line.isdigit() and first <= int(line) <= last
            if not located:
                raise Finding(f"unlocated refusal [{what}]", _short(message))
            self.notes["refused: " + _refusal_key(message[len(prefix):])] += 1
            raise _Stop("refused")
        if self.py_exc is not None:
            if type(exc) is type(self.py_exc):
                raise _Stop("raised")
            raise Finding(
                f"different exception [{what}]",
                f"Python raises {type(self.py_exc).__name__}: {self.py_exc}; "
                f"s2sad raises {type(exc).__name__}: {_short(message)}")
        raise Finding(f"internal {type(exc).__name__} [{what}]",
                      _short(message) + "\n" + _where(exc))

    # the check
    def run(self):
        """Returns (outcome, notes); outcome is "checked", "refused",
        "raised" or a Finding."""
        self.py_exc, self.rev, self.differences = None, None, {}
        with _quiet(), _deadline(TIMEOUT):
            try:
                self.expected = self.python(self.fresh())
            except Timeout:
                return "slow", self.notes
            except Exception as exc:  # noqa: BLE001
                self.py_exc = exc
            try:
                outcomes = [self.reverse(), self.vjp(), self.forward()]
            except Finding as finding:
                return finding, self.notes
            except Timeout as exc:
                return Finding("timeout", str(exc)), self.notes
            except Exception as exc:  # noqa: BLE001 - the checker's own bug
                return Finding("fuzzer error (not s2sad's)",
                               traceback.format_exc(limit=-3)), self.notes
        if "checked" in outcomes:
            return "checked", self.notes
        return ("refused" if "refused" in outcomes else "raised"), self.notes

    def mode(self, method):
        try:
            method()
            return "checked"
        except _Stop as stop:
            return stop.outcome

    def positions(self):
        return tuple(i for i, a in enumerate(self.args)
                     if _differentiable(a) or isinstance(a, (list, dict)))

    def check_value(self, what, value):
        if self.py_exc is not None:
            raise Finding(f"no exception [{what}]",
                          f"Python raises {type(self.py_exc).__name__}: "
                          f"{self.py_exc}; s2sad returns {_describe(value)}")
        if not _same(value, self.expected):
            raise Finding(f"wrong value [{what}]",
                          f"s2sad gives {_describe(value)}, Python "
                          f"{_describe(self.expected)}")

    def reverse(self):
        if self.program.output != "scalar":
            return "skipped"
        argnums = self.positions()
        if not argnums:
            return "skipped"

        def body():
            def call(args):
                return s2sad.value_and_grad(self.f, argnums=argnums)(*args)
            (value, grads), args = self.s2sad_call("value_and_grad", call)
            self.check_value("value_and_grad", value)
            self.check_grads("value_and_grad", grads, argnums, args, 1.0)
            (value2, grads2), _ = self.s2sad_call("value_and_grad", call)
            if not (_same(value2, value) and _same(list(grads2), list(grads))):
                raise Finding("second call differs [value_and_grad]",
                              f"first {_describe(grads)}, second "
                              f"{_describe(grads2)}")
            self.rev = (argnums, grads)
        return self.mode(body)

    def vjp(self):
        if not self.program.vjp:
            return "skipped"

        def body():
            (value, vjp_fn), args = self.s2sad_call(
                "vjp", lambda args: s2sad.vjp(self.f, *args))
            self.check_value("vjp", value)
            if self.program.output == "scalar":
                cotangent = 0.75
            else:
                shape = np.shape(value)
                cotangent = np.linspace(-1.0, 1.5, max(1, math.prod(shape))
                                        )[:math.prod(shape)].reshape(shape)
            try:
                grads = vjp_fn(copy.deepcopy(cotangent))
            except Exception as exc:  # noqa: BLE001
                self.judge_exception("vjp_fn", exc)
            argnums = tuple(i for i in range(len(self.args))
                            if grads[i] is not None)
            for i in argnums:
                if not (_differentiable(self.args[i])
                        or isinstance(self.args[i], (list, dict))):
                    raise Finding("gradient for a constant [vjp]",
                                  f"argument {i}: {_describe(grads[i])}")
            self.check_grads("vjp", tuple(grads[i] for i in argnums), argnums,
                             args, cotangent)
        return self.mode(body)

    def forward(self):
        coords = list(self.coordinates())
        if not coords:
            return "skipped"

        def body():
            self.jvps = {}
            for coord in coords:
                tangents = self.tangents(coord)
                (value, tangent), _ = self.s2sad_call(
                    "jvp", lambda args: s2sad.jvp(self.f, tuple(args),
                                                  tangents))
                self.check_value("jvp", value)
                self.jvps[coord] = tangent
            self.check_forward()
        return self.mode(body)

    # coordinates: (argument, leaf path, flat index, "re" | "im")
    def coordinates(self):
        for i, arg in enumerate(self.args):
            for path, leaf in _leaves(arg):
                if not _differentiable(leaf):
                    continue
                for j in range(np.size(leaf)):
                    yield (i, path, j, "re")
                    if np.iscomplexobj(leaf):
                        yield (i, path, j, "im")

    def moved(self, coord, step):
        i, path, j, part = coord
        args = self.fresh()
        holder, key = (args, i) if not path else (_get(args[i], path[:-1]),
                                                  path[-1])
        leaf = holder[key]
        delta = step if part == "re" else step * 1j
        if isinstance(leaf, float):
            holder[key] = leaf + delta
        else:
            leaf.reshape(-1)[j] += delta
        return args

    def tangents(self, coord):
        i, path, j, part = coord
        out = []
        for k, arg in enumerate(self.args):
            if not (_differentiable(arg) or isinstance(arg, (list, dict))):
                out.append(None)
                continue
            tangent = copy.deepcopy(arg)
            for p, leaf in list(_leaves(arg)):
                if not _differentiable(leaf):
                    continue
                zero = 0.0 if isinstance(leaf, float) else np.zeros_like(leaf)
                if k == i and p == path:
                    if isinstance(leaf, float):
                        zero = 1.0
                    else:
                        zero.reshape(-1)[j] = 1.0 if part == "re" else 1j
                if not p:
                    tangent = zero
                else:
                    _get(tangent, p[:-1])[p[-1]] = zero
            out.append(tangent)
        return tuple(out)

    def difference(self, coord):
        """(reference derivative, smooth?) of the output along coord."""
        if coord in self.differences:
            return self.differences[coord]

        def at(step):
            return np.asarray(self.python(self.moved(coord, step)),
                              dtype=complex if np.iscomplexobj(self.expected)
                              else float)
        try:
            d4 = (at(-2 * EPS4) - 8 * at(-EPS4) + 8 * at(EPS4)
                  - at(2 * EPS4)) / (12 * EPS4)
            d2 = (at(EPS2) - at(-EPS2)) / (2 * EPS2)
        except Exception:  # noqa: BLE001 - Python fails near the point
            self.differences[coord] = (None, False)
            return None, False
        smooth = bool(np.all(np.isfinite(d4)) and np.all(np.isfinite(d2))
                      and _close(d2, d4, self.expected))
        self.differences[coord] = (d4, smooth)
        return d4, smooth

    def check_grads(self, what, grads, argnums, args, cotangent):
        """Reverse derivatives: shapes, aliasing, and against differences."""
        arrays = []
        for i, g in zip(argnums, grads):
            if not _same_structure(g, self.args[i]):
                raise Finding(f"gradient structure [{what}]",
                              f"argument {i} is {_describe(self.args[i])}, "
                              f"its gradient {_describe(g)}")
            for path, leaf in _leaves(self.args[i]):
                if not _differentiable(leaf):
                    continue
                try:
                    gl = _get(g, path)
                except (KeyError, IndexError, TypeError):
                    raise Finding(f"gradient structure [{what}]",
                                  f"argument {i}: {_describe(g)}") from None
                if np.shape(gl) != np.shape(leaf) or (
                        np.iscomplexobj(gl) and not np.iscomplexobj(leaf)) \
                        or np.asarray(gl).dtype == object:
                    raise Finding(f"gradient shape or dtype [{what}]",
                                  f"argument {i}{list(path)} is "
                                  f"{_describe(leaf)}, its gradient "
                                  f"{_describe(gl)}")
                if isinstance(gl, np.ndarray):
                    arrays.append((f"gradient of argument {i}{list(path)}",
                                   gl))
        owners = arrays + [(f"argument {i}", leaf) for i, a in enumerate(args)
                           for _, leaf in _leaves(a)
                           if isinstance(leaf, np.ndarray)]
        if isinstance(cotangent, np.ndarray):
            owners.append(("the cotangent", cotangent))
        for k, (name, g) in enumerate(arrays):
            for other, value in owners[k + 1:]:
                if g.size and np.shares_memory(g, value):
                    raise Finding(f"aliased gradient [{what}]",
                                  f"the {name} shares memory with {other}")
        if self.py_exc is not None or not np.all(np.isfinite(
                np.asarray(self.expected, dtype=complex))):
            return
        for coord in self.coordinates():
            i, path, j, part = coord
            if i not in argnums:
                continue
            g = np.asarray(_get(grads[argnums.index(i)], path)).reshape(-1)[j]
            g = g.real if part == "re" else -g.imag
            d4, smooth = self.difference(coord)
            if not smooth:
                self.notes["reverse: coordinate not smooth"] += 1
                continue
            if not np.isfinite(g):  # see SPECIAL_POINTS
                self.notes["reverse: not finite at a special point"] += 1
                continue
            expected = np.sum(np.asarray(cotangent) * d4)
            if not _close(g, expected, self.expected):
                raise Finding(f"wrong derivative [{what}]",
                              f"d/d{_coord_name(coord)}: s2sad gives {g!r}, "
                              f"central differences {expected!r}")
            self.notes["reverse: coordinate checked"] += 1

    def check_forward(self):
        if self.py_exc is not None or not np.all(np.isfinite(
                np.asarray(self.expected, dtype=complex))):
            return
        for coord, tangent in self.jvps.items():
            if np.shape(tangent) != np.shape(self.expected) or \
                    np.asarray(tangent).dtype == object:
                raise Finding("tangent shape or dtype [jvp]",
                              f"d/d{_coord_name(coord)}: {_describe(tangent)}"
                              f" for output {_describe(self.expected)}")
            d4, smooth = self.difference(coord)
            if smooth and not np.all(np.isfinite(tangent)):
                # see SPECIAL_POINTS
                self.notes["forward: not finite at a special point"] += 1
            elif smooth:
                if not _close(tangent, d4, self.expected):
                    raise Finding("wrong derivative [jvp]",
                                  f"d/d{_coord_name(coord)}: s2sad gives "
                                  f"{_describe(tangent)}, central "
                                  f"differences {_describe(d4)}")
                self.notes["forward: coordinate checked"] += 1
            else:
                self.notes["forward: coordinate not smooth"] += 1
            if self.rev is not None and coord[0] in self.rev[0]:
                argnums, grads = self.rev
                i, path, j, part = coord
                g = np.asarray(_get(grads[argnums.index(i)], path)
                               ).reshape(-1)[j]
                g = g.real if part == "re" else -g.imag
                if not _agree(tangent, g, self.expected):
                    raise Finding("forward and reverse differ",
                                  f"d/d{_coord_name(coord)}: jvp gives "
                                  f"{_describe(tangent)}, value_and_grad "
                                  f"{g!r} (smooth: {smooth})")


# SPECIAL_POINTS: a derivative that is nan or inf where central differences
# are finite is the chain rule through an infinite partial times a zero
# (`np.sqrt(x * 0.0)`: 0.5 / sqrt(0) * 0.0 is nan; `x * inf` at an entry
# that does not reach the output), as JAX computes it too; such coordinates
# are counted, not judged (in either mode: one mode may form the product
# and the other not).


class _Stop(Exception):
    def __init__(self, outcome):
        super().__init__(outcome)
        self.outcome = outcome


def _close(actual, expected, output):
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape and actual.size != 1 \
            and expected.size != 1:
        return False
    if not (np.all(np.isfinite(actual))):
        return False
    scale = max(np.max(np.abs(expected), initial=0.0),
                np.max(np.abs(actual), initial=0.0))
    size = np.max(np.abs(np.asarray(output, dtype=complex)), initial=0.0)
    return bool(np.max(np.abs(actual - expected), initial=0.0)
                <= RTOL * scale + ATOL_OUTPUT * (1.0 + size))


def _agree(forward, reverse, output):
    """Forward and reverse derivatives agree: close where both are finite
    (where either is not, a special point: see SPECIAL_POINTS)."""
    forward, reverse = np.asarray(forward), np.asarray(reverse)
    if forward.dtype == object or reverse.dtype == object:
        return False
    same = (forward == reverse) | (np.isnan(forward) & np.isnan(reverse))
    if np.all(same):
        return True
    if not (np.all(np.isfinite(forward)) and np.all(np.isfinite(reverse))):
        # a special point (see SPECIAL_POINTS): an infinite partial times a
        # zero is nan in the mode that multiplies them, and the other mode
        # may never form the product
        return True
    return _close(forward, reverse, output)


def _coord_name(coord):
    i, path, j, part = coord
    where = "".join(f"[{p!r}]" for p in path)
    return f"{'Im ' if part == 'im' else ''}arg{i}{where}.flat[{j}]"


def _short(message, limit=300):
    message = message.strip()
    return message if len(message) <= limit else message[:limit] + " ..."


def _refusal_key(message):
    """A refusal message without its line number and names, for counting."""
    text = message.split(":", 1)[-1].strip()
    text = re.sub(r"`[^`]*`", "`_`", text)
    return text.split(";")[0].split(". ")[0][:90]


def _where(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f"raised at {os.path.relpath(last.filename, ROOT)}:{last.lineno} ({last.name})"


# ------------------------------------------------------------------ running


def run_program(modules, program):
    """(outcome, notes) of one program in a module of its own."""
    module, path, spans = modules.load([program])
    return Checker(module, path, spans[program.name], program).run()


def run_batch(modules, programs):
    module, path, spans = modules.load(programs)
    for program in programs:
        yield program, Checker(module, path, spans[program.name],
                               program).run()


def minimise(modules, program, cls, budget=400):
    """The smallest program found that still gives a finding of class
    `cls`: drops statements, return terms, helpers, constants and
    arguments while the finding stays."""
    tries = [0]

    def still(candidate):
        if tries[0] >= budget:
            return False
        tries[0] += 1
        try:
            outcome, _ = run_program(modules, candidate)
        except Exception:  # noqa: BLE001 - the candidate does not load
            return False
        return isinstance(outcome, Finding) and outcome.cls == cls

    best = program
    changed = True
    while changed and tries[0] < budget:
        changed = False
        for candidate in _reductions(best):
            if still(candidate):
                best, changed = candidate, True
                break
    return best


def _reductions(program):
    """Programs with one thing less."""
    # return terms
    if program.output == "scalar" and len(program.returns) > 1:
        for k in range(len(program.returns)):
            p = program.copy()
            del p.returns[k]
            yield p
    # statements, innermost lists included; blocks also unwrapped
    for path in _statement_paths(program.body):
        p = program.copy()
        holder, k = _locate(p.body, path)
        del holder[k]
        yield p
        stmt = _locate(program.body, path)[0][path[-1][1]]
        if isinstance(stmt, Block):
            p = program.copy()
            holder, k = _locate(p.body, path)
            holder[k:k + 1] = [s.copy() for s in stmt.body]
            yield p
    # helpers and constants
    for k in range(len(program.tops)):
        p = program.copy()
        del p.tops[k]
        yield p
    # arguments
    if len(program.params) > 1:
        for k in range(len(program.params)):
            p = program.copy()
            del p.params[k]
            del p.inputs[k]
            yield p
    # simpler return: a single term
    if program.output == "scalar" and program.returns != ["0.0"]:
        pass


def _statement_paths(body, prefix=()):
    for k, stmt in enumerate(body):
        yield prefix + (("body", k),)
        if isinstance(stmt, Block):
            yield from _statement_paths(stmt.body, prefix + (("body", k),
                                                             ("in", "body")))
            if stmt.orelse:
                yield from _statement_paths(stmt.orelse, prefix + (
                    ("body", k), ("in", "orelse")))


def _locate(body, path):
    holder = body
    for step in path[:-1]:
        if step[0] == "body":
            holder = holder[step[1]]
        else:
            holder = getattr(holder, step[1])
    return holder, path[-1][1]


def reproducer(program, finding):
    """A runnable file: the program, its arguments, what went wrong, and a
    main block that shows what Python and s2sad give."""
    lines = ["# s2sad differential fuzzer: a finding",
             f"# class: {finding.cls}"]
    lines += ["# " + ln for ln in finding.detail.splitlines()]
    lines += ["", "import math", "", "import numpy as np", "", "import s2sad",
              "", ""]
    lines += program.source()
    args = ", ".join(arg_source(v) for v in program.inputs)
    argnums = tuple(i for i, a in enumerate(program.inputs)
                    if _differentiable(a) or isinstance(a, (list, dict)))
    f = program.name
    lines += ["", "", f"ARGS = [{args}]", "", "",
              "def ones(tree):",
              "    if isinstance(tree, dict):",
              "        return {k: ones(v) for k, v in tree.items()}",
              "    if isinstance(tree, list):",
              "        return [ones(v) for v in tree]",
              "    return 1.0 if isinstance(tree, float) else np.ones_like(tree)",
              "", "",
              "def show(what, call):",
              "    try:",
              "        print(what, call())",
              "    except Exception as exc:",
              "        print(what, type(exc).__name__, exc)",
              "", "",
              'if __name__ == "__main__":',
              f"    show('python:        ', lambda: {f}(*ARGS))"]
    if program.output == "scalar":
        lines.append(f"    show('value_and_grad:', lambda: s2sad.value_and_grad("
                     f"{f}, argnums={argnums!r})(*ARGS))")
    lines += [f"    value, vjp_fn = s2sad.vjp({f}, *ARGS)",
              "    show('vjp (ones):    ', lambda: (value, vjp_fn("
              "np.ones(np.shape(value)))))",
              f"    show('jvp (ones):    ', lambda: s2sad.jvp({f}, ARGS, "
              f"[ones(a) if i in {argnums!r} else None "
              f"for i, a in enumerate(ARGS)]))"]
    return "\n".join(lines) + "\n"


class Report:
    """Counts outcomes (by feature too) and keeps the first program of each
    class of finding, by its number; reports of parts of a run merge."""

    def __init__(self, seed):
        self.seed = seed
        self.outcomes = collections.Counter()
        self.by_tag = collections.defaultdict(collections.Counter)
        self.findings = collections.Counter()
        self.first = {}        # class -> (program number, Finding)
        self.notes = collections.Counter()

    def add(self, index, program, outcome, notes):
        key = "finding" if isinstance(outcome, Finding) else outcome
        self.outcomes[key] += 1
        for tag in program.tags:
            self.by_tag[tag][key] += 1
        self.notes.update(notes)
        if isinstance(outcome, Finding):
            self.findings[outcome.cls] += 1
            self.first.setdefault(outcome.cls, (index, outcome))

    def merge(self, other):
        self.outcomes.update(other.outcomes)
        for tag, counts in other.by_tag.items():
            self.by_tag[tag].update(counts)
        self.findings.update(other.findings)
        self.notes.update(other.notes)
        for cls, (index, finding) in other.first.items():
            if cls not in self.first or index < self.first[cls][0]:
                self.first[cls] = (index, finding)

    @property
    def programs(self):
        return sum(self.outcomes.values())

    def summary(self, refusals=12):
        lines = [f"{self.programs} programs (seed {self.seed}): " + ", ".join(
            f"{self.outcomes[k]} {k}" for k in
            ("checked", "refused", "raised", "finding", "slow")
            if self.outcomes[k])]
        lines.append("by feature:        checked  refused   raised  finding")
        for tag in sorted(self.by_tag):
            c = self.by_tag[tag]
            lines.append(f"  {tag:15} {c['checked']:8} {c['refused']:8} "
                         f"{c['raised']:8} {c['finding']:8}")
        checks = {k: v for k, v in self.notes.items()
                  if not k.startswith("refused")}
        lines.append("derivative coordinates: " + ", ".join(
            f"{v} {k}" for k, v in sorted(checks.items())))
        refused = [(k, v) for k, v in self.notes.most_common()
                   if k.startswith("refused")]
        if refused:
            lines.append("most common refusals (a count per mode):")
            lines += [f"  {v:6} {k[len('refused: '):]}"
                      for k, v in refused[:refusals]]
        if self.findings:
            lines.append("findings by class (first program):")
            lines += [f"  {v:6} {k} (program {self.first[k][0]})"
                      for k, v in self.findings.most_common()]
        return "\n".join(lines)

    def reproducers(self):
        """(class, program, finding) for the first program of each class."""
        for cls, (index, finding) in sorted(self.first.items()):
            yield cls, generate(self.seed, index), finding


def _work(job):
    """Runs programs `first` .. `first + count - 1` of `seed` in modules of
    `batch` programs; returns their Report."""
    seed, first, count, batch = job
    report = Report(seed)
    with tempfile.TemporaryDirectory() as directory:
        modules = Modules(directory)
        for start in range(first, first + count, batch):
            indices = range(start, min(start + batch, first + count))
            chunk = [generate(seed, k) for k in indices]
            for k, (program, (outcome, notes)) in zip(
                    indices, run_batch(modules, chunk)):
                report.add(k, program, outcome, notes)
    return report


def fuzz(programs, seed, start=0, batch=100, jobs=1, progress=None):
    """Runs programs `start` .. `start + programs - 1` of `seed`, in `jobs`
    processes; returns their Report."""
    parts = [(seed, first, min(batch, start + programs - first), batch)
             for first in range(start, start + programs, batch)]
    report = Report(seed)
    if jobs <= 1 or len(parts) == 1:
        results = map(_work, parts)
        pool = None
    else:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(jobs)
        results = pool.imap_unordered(_work, parts)
    try:
        for part in results:
            report.merge(part)
            if progress:
                progress(report)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return report


def minimised(report, budget=400):
    """(class, minimised program, its finding) for each class of finding."""
    with tempfile.TemporaryDirectory() as directory:
        modules = Modules(directory)
        for cls, program, finding in report.reproducers():
            small = minimise(modules, program, cls, budget)
            outcome, _ = run_program(modules, small)
            yield cls, small, outcome if isinstance(outcome, Finding) \
                else finding


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0,
                        help="the number of the first program (with "
                             "--programs 1: rerun one program)")
    parser.add_argument("--batch", type=int, default=100,
                        help="programs per module")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per CPU)")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the minimised reproducers to DIR")
    parser.add_argument("--no-minimise", action="store_true",
                        help="show the first program of each class as is")
    options = parser.parse_args(argv)
    began = time.perf_counter()

    def progress(report):
        print(f"  {report.programs} programs, "
              f"{time.perf_counter() - began:.0f} s: "
              f"{report.outcomes['finding']} findings", file=sys.stderr,
              flush=True)

    report = fuzz(options.programs, options.seed, options.start,
                  options.batch, options.jobs, progress)
    elapsed = time.perf_counter() - began
    print(report.summary())
    print(f"{elapsed:.1f} s, {options.jobs} jobs "
          f"({1000 * elapsed / max(1, options.programs):.1f} ms per program)")
    if not report.findings:
        return 0
    found = (((cls, p, f) for cls, p, f in report.reproducers())
             if options.no_minimise else minimised(report))
    if options.keep:
        os.makedirs(options.keep, exist_ok=True)
    for k, (cls, program, finding) in enumerate(found):
        text = reproducer(program, finding)
        print(f"\n==== {cls} ====\n{text}", flush=True)
        if options.keep:
            slug = "".join(ch if ch.isalnum() else "_" for ch in cls)
            slug = "_".join(part for part in slug.split("_") if part)
            with open(os.path.join(options.keep, f"finding_{k:02d}_{slug}.py"),
                      "w", encoding="utf-8") as out:
                out.write(text)
    return 1


if __name__ == "__main__":
    sys.exit(main())
