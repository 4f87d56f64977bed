"""NumPy coverage report: which of the NumPy functions autograd
differentiates s2sad differentiates too, in both modes; then every public
function of `math`, and the SciPy functions s2sad has rules for.

    python tools/coverage.py            # Markdown report on stdout

The list (tools/autograd_numpy_rules.txt) was read from HIPS/autograd 1.9.
A function counts as covered when the s2sad registry has a rule for it with
a reverse and a forward derivative (an elementwise rule gives both). Array
methods count when `x.<name>(...)` finds a rule (its own, or the NumPy
function's of the same name).
"""

import operator
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from s2sad import analysis, ssa  # noqa: E402
from s2sad.rules import registry  # noqa: E402

LIST = pathlib.Path(__file__).with_name("autograd_numpy_rules.txt")

METHODS = ["sum", "mean", "max", "min", "prod", "var", "std", "reshape",
           "transpose", "dot", "ravel", "flatten", "squeeze", "clip",
           "cumsum", "cumprod", "trace", "astype", "conj", "round"]
ATTRIBUTES = ["T", "real", "imag"]
INDEXING = ["x[1]", "x[-1]", "x[1:]", "x[::2]", "x[::-1]", "x[:, 1]",
            "x[..., 0]", "x[:, None]", "x[index_array] (duplicates summed)",
            "x[boolean_mask]"]


def resolve(name):
    """`np.linalg.norm` -> the function object (None if NumPy lacks it)."""
    obj = np
    for part in name.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def status(rule):
    """'both modes', 'reverse only', ... for a registry rule (or None)."""
    if rule is None:
        return "missing"
    if not rule.differentiable:
        return "zero derivative"
    reverse = rule.partials is not None or rule.adjoint is not None
    forward = rule.partials is not None or rule.tangent is not None
    if reverse and forward:
        return "both modes"
    return "reverse only" if reverse else "forward only"


def autograd_rows():
    rows = []
    for line in LIST.read_text().splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if name.startswith("indexing"):
            rule = registry.lookup(operator.getitem)
        else:
            function = resolve(name)
            rule = registry.lookup(function) if function is not None else None
        rows.append((name, status(rule)))
    return rows


def method_rows():
    rows = []
    for name in METHODS:
        stmt = ssa.Assign("y", ssa.method(name), [ssa.Var("x")])
        rows.append((f"x.{name}()", status(analysis.rule_of(stmt))))
    for name in ATTRIBUTES:
        rule = registry.lookup(registry.attribute(name))
        rows.append((f"x.{name}", status(rule)))
    return rows


def extras(covered_names):
    """Rules s2sad has for NumPy functions that autograd's list lacks."""
    names = set()
    for rule in registry.all_rules():
        module = getattr(rule.key, "__module__", "") or ""
        name = rule.name.replace("numpy.", "np.", 1)
        ufunc_method = isinstance(getattr(rule.key, "__self__", None),
                                  np.ufunc)  # np.add.reduce, np.add.outer
        if status(rule) == "both modes" and (
                module.startswith("numpy") or ufunc_method) \
                and name not in covered_names:
            names.add(name)
    return sorted(names)


# ---- math and SciPy ----

# why a public `math` function has neither a rule nor a zero derivative
MATH_CONSTANTS = ("e", "inf", "nan", "pi", "tau")
# why a `math` function has a zero derivative
MATH_ZERO = {**dict.fromkeys(["ceil", "floor", "trunc", "ulp"],
                             "piecewise constant"),
             **dict.fromkeys(["isclose", "isfinite", "isinf", "isnan"],
                             "a predicate"),
             **dict.fromkeys(["comb", "factorial", "gcd", "isqrt", "lcm",
                              "perm"], "integers in, an integer out")}
SCIPY = ["special.erf", "special.erfc", "special.erfinv", "special.ndtr",
         "special.log_ndtr", "special.ndtri", "special.expit",
         "special.logit", "special.gamma", "special.gammaln",
         "special.digamma", "special.psi", "special.polygamma",
         "special.xlogy", "special.xlog1py", "special.entr",
         "special.logsumexp", "special.softmax", "special.log_softmax",
         "stats.norm.logpdf", "stats.norm.pdf", "stats.norm.cdf",
         "stats.norm.logcdf"]


def math_rows():
    """(name, state) for every public function of `math`: "both modes"
    (math.hypot through its sequence form), "zero derivative", or
    "missing"."""
    import math
    rows = []
    for name in sorted(dir(math)):
        fn = getattr(math, name)
        if name.startswith("_") or not callable(fn):
            continue
        state = status(registry.lookup(registry.packed(fn) or fn))
        if state == "zero derivative" and name in MATH_ZERO:
            state += f" ({MATH_ZERO[name]})"
        rows.append((f"math.{name}", state))
    return rows


def scipy_rows():
    """(name, state) for the SciPy functions s2sad has rules for, or None
    without SciPy."""
    try:
        import scipy.special  # noqa: F401  (loads s2sad's SciPy rules)
        import scipy.stats  # noqa: F401
    except ImportError:
        return None
    import scipy
    rows = []
    for name in SCIPY:
        obj = scipy
        for part in name.split("."):
            obj = getattr(obj, part)
        rows.append((f"scipy.{name}", status(registry.lookup(obj))))
    return rows


def print_math_and_scipy():
    rows = math_rows()
    covered = sum(state == "both modes" for _, state in rows)
    zero = sum(state.startswith("zero") for _, state in rows)
    print(f"\n## The `math` module\n\nAll {len(rows)} public functions of "
          f"`math` (Python {sys.version_info.major}.{sys.version_info.minor})"
          f": {covered} differentiable in both modes, {zero} with a zero "
          "derivative (piecewise constant, predicates, integer functions), "
          f"{len(rows) - covered - zero} missing. Constants: "
          + ", ".join(f"`math.{c}`" for c in MATH_CONSTANTS) + ".\n")
    print("| function | s2sad |\n|---|---|")
    for name, state in rows:
        print(f"| `{name}` | {state} |")
    rows = scipy_rows()
    print("\n## SciPy (optional: rules load once the program imports "
          "SciPy)\n")
    if rows is None:
        print("SciPy is not installed.")
        return
    print("| function | s2sad |\n|---|---|")
    for name, state in rows:
        print(f"| `{name}` | {state} |")


def main():
    rows = autograd_rows()
    covered = [name for name, state in rows if state == "both modes"]
    share = len(covered) / len(rows)
    print("# NumPy coverage against autograd\n")
    print(f"**{len(covered)} of {len(rows)} ({share:.1%})** of the NumPy "
          "functions HIPS/autograd differentiates have s2sad rules in both "
          "modes.\n")
    missing = [(n, s) for n, s in rows if s != "both modes"]
    print("Not covered: " + (", ".join(f"`{n}` ({s})" for n, s in missing)
                             or "none") + ".\n")
    print("| autograd function | s2sad |\n|---|---|")
    for name, state in rows:
        print(f"| `{name}` | {state} |")
    print("\n## Array methods and attributes\n")
    print("| form | s2sad |\n|---|---|")
    for name, state in method_rows():
        print(f"| `{name}` | {state} |")
    print("\nIndexing forms, each checked by the registry test: "
          + ", ".join(f"`{i}`" for i in INDEXING) + ".\n")
    more = extras({n for n, _ in rows})
    print(f"## Beyond autograd's list ({len(more)})\n")
    print(", ".join(f"`{n}`" for n in more) + ".")
    print_math_and_scipy()
    return 0 if share >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
