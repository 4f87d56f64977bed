"""The rule registry: derivative templates keyed by the function they differentiate.

Three ways to declare a rule, cheapest first:

    @elementwise(np.tanh)               # partial derivatives; both modes follow
    def tanh(y, x):
        return 1.0 - y * y

    @adjoint(np.sum)                    # a reverse-mode template in d[x] syntax
    def sum_rev(y, x, axis=None, keepdims=False):
        d[x] = runtime.unreduce(d[y], x, axis, keepdims)

    @tangent(np.sum)                    # and its forward-mode twin
    def sum_fwd(y, x, axis=None, keepdims=False):
        d[y] = np.sum(d[x], axis=axis, keepdims=keepdims)

    non_differentiable(np.shape, np.argmax)

The first parameter of a template is the primal output; the rest mirror the
function's signature with its defaults, and are all a rule handles: a call
passing any other argument is refused where it is written. Every parameter of
an adjoint or tangent template must be read by its body, or annotated:

    def take(y, a, indices, axis=None, out: only(None) = None, mode="raise"):

`only(...)` lists the values the rule handles (`float_dtype`: None or a
float or complex dtype) (others are refused: when
s2sad transforms the call if the value is a constant, else when the
derivative runs); `via_output` marks an argument whose effect on the
derivative the template reads from the output y (its shape, dtype, values)
or that has none (np.reshape's shape, `copy=`). In an adjoint template `d[x] = expr`
states the contribution of this operation to x's adjoint: the engine, not the
rule, accumulates contributions, unbroadcasts them (for rules declared
`broadcasts=True`, which every multi-input elementwise rule is) and drops those
of inactive inputs. A partial given as `None` marks a non-differentiable input.

A tangent template assigns `d[y]` once, as a sum of terms each linear in one
input's tangent (`d[z] = d[x] @ y + x @ d[y]`); the engine drops the terms of
inactive inputs. Elementwise rules need none: their partials give it.
"""

import importlib
import inspect
import linecache
import sys
import textwrap
from typing import Any, Callable, Sequence

import gast
import numpy

from s2sad import runtime


class _D:
    """The `d[x]` of templates: "the adjoint (or tangent) of x"."""

    def __getitem__(self, name):
        raise TypeError("templates are not callable: `d[...]` only has a "
                        "meaning inside a rule template")

    __setitem__ = __getitem__


d = _D()


class only:
    """Annotates a template parameter handled at these values only:
    `out: only(None) = None`. s2sad refuses any other value."""

    check = "check_argument"  # the runtime helper checking a value

    def __init__(self, *values):
        self.values = values

    def allows(self, value):
        return any(value is v or (type(value) is type(v) and value == v)
                   for v in self.values)

    def check_args(self):
        """The arguments of `check` after the value (gast constants)."""
        return [gast.Tuple([gast.Constant(v, None) for v in self.values],
                           gast.Load())]

    def __repr__(self):
        return " or ".join(f"{v!r}" for v in self.values)


class _FloatDtype(only):
    """`dtype: float_dtype = None`: None or a float or complex dtype, whose
    cast has derivative 1 (an integer dtype's would be 0)."""

    check = "check_float_dtype"

    def allows(self, value):
        return value is None or runtime.is_float_dtype(value)

    def check_args(self):
        return []

    def __repr__(self):
        return "None or a float or complex dtype"


float_dtype = _FloatDtype()


class _ViaOutput:
    """Annotates a template parameter the template need not read: its
    effect on the derivative shows in the output (np.reshape's `shape`, the
    output's dtype) or there is none (`copy=`)."""

    def __repr__(self):
        return "via_output"


via_output = _ViaOutput()


class Template:
    """A template function: parameters, defaults, body, globals.

    Its source is parsed, and checked, when the body or signature is first
    read: s2sad's own hundreds of templates cost nothing until a program
    uses them (importing s2sad stays fast). A user's template is parsed
    and checked at once, so a mistake shows where it is declared.
    """

    _PARSED = frozenset(("body", "signature", "restricted", "via_output",
                         "reads_d"))

    def __init__(self, fn, source=None, checks=(), structural=False):
        self.fn = fn
        self.name = fn.__name__
        code = fn.__code__
        self.params = list(
            code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
        self.globals = fn.__globals__
        self.structural = structural  # see `tangent`
        self._source = source
        # the file's lines as they are now: parsed later, the template must
        # be read from the file its code came from, even if s2sad's files
        # are replaced meanwhile (an upgrade while a kernel runs)
        self._lines = linecache.getlines(code.co_filename) \
            if source is None else None
        self._checks = checks  # each called with the template once parsed
        if (fn.__globals__.get("__name__") or "").split(".")[0] != "s2sad":
            self._parse()

    def __getattr__(self, name):  # (only for attributes not yet set)
        if name in Template._PARSED:
            self._parse()
            return self.__dict__[name]
        raise AttributeError(name)

    def __copy__(self):
        # parsed first: a copy's body or signature set anew must not be
        # overwritten when it is parsed later
        if "body" not in self.__dict__:
            self._parse()
        copied = Template.__new__(Template)
        copied.__dict__.update(self.__dict__)
        return copied

    def _parse(self):
        source = self._source
        if source is None and self._lines:
            source = "".join(inspect.getblock(
                self._lines[self.fn.__code__.co_firstlineno - 1:]))
        source = textwrap.dedent(source or inspect.getsource(self.fn))
        tree = gast.parse(source).body[0]
        body = tree.body
        if body and isinstance(body[0], gast.Expr) and isinstance(
                body[0].value, gast.Constant):
            body = body[1:]  # drop the docstring
        self.body = body
        self.signature = inspect.signature(self.fn)
        # parameter -> `only(...)`: the values of it the template handles
        self.restricted = {
            name: p.annotation for name, p in self.signature.parameters.items()
            if isinstance(p.annotation, only)}
        self.via_output = {
            name for name, p in self.signature.parameters.items()
            if p.annotation is via_output}
        self.reads_d = {n.slice.id for n in gast.walk(gast.Module(
            body=self.body, type_ignores=[])) if _is_d(n)}
        for check in self._checks:
            check(self)

    @property
    def reads_output(self):
        """Does the body read the value of its first parameter, the
        output (`-z / y` of `truediv(z, x, y)`), not only its adjoint
        `d[z]`?"""
        output = self.params[0] if self.params else None
        inside_d = {id(n.slice) for n in gast.walk(gast.Module(
            body=self.body, type_ignores=[])) if _is_d(n)}
        return any(isinstance(n, gast.Name) and n.id == output and
                   id(n) not in inside_d
                   for n in gast.walk(gast.Module(body=self.body,
                                                  type_ignores=[])))

    @property
    def assigned(self):
        """The names its body assigns (its locals), found once per body (a
        copy of the template may be given another)."""
        cached = self.__dict__.get("_assigned")
        if cached is None or cached[0] is not self.body:
            cached = self._assigned = (self.body, {
                n.id for s in self.body for n in gast.walk(s)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)})
        return cached[1]


def _template(template_fn, *checks, structural=False):
    source = getattr(template_fn, "source", None)  # a _Generated one
    return Template(getattr(template_fn, "fn", template_fn), source, checks,
                    structural)


class Rule:
    """Everything s2sad knows about differentiating one function.

    Attributes:
        key: the function (or `(getattr, "T")` for an attribute read).
        adjoint: reverse `Template`, or None.
        tangent: forward `Template`, or None.
        partials: `Template` returning the partial derivatives, or None.
        broadcasts: whether inputs may broadcast against each other.
        domain: where random test inputs are valid ("real", "positive", ...).
        batched: the tangent template of vector mode, where each tangent
            has a leading axis of directions (see `batched`), or None.
        differentiable: False for functions with zero derivative.
        makes_complex: True for functions that give complex values (np.fft):
            their callers' reverse sweeps take real parts (runtime.unbroadcast).
    """

    def __init__(self, key):
        self.key = key
        self.adjoint = None
        self.tangent = None
        self.partials = None
        self.broadcasts = False
        self.domain = "real"
        self.differentiable = True
        self.makes_complex = False  # gives complex values from real ones
        self.constants = ()  # inputs without a derivative (shapes, dtypes)
        self.indices = ()  # inputs indexing the first (see `adjoint`)
        self.sequences = False  # takes lists or tuples of arrays
        self.by_arity = None  # (kind, n) -> template, see `any_arity`
        # vector mode's tangent (see `batched`), or None: a loop over the
        # directions of `tangent`
        self.batched = None

    def template(self, kind, nargs):
        """The "adjoint", "tangent" or "batched" template for a call passing
        `nargs` positional arguments (the same one for every call, but for
        the functions declared with `any_arity`)."""
        if self.by_arity is None or kind == "batched":
            return getattr(self, kind)
        return self.by_arity(kind, nargs)

    @property
    def name(self):
        key = self.key
        if isinstance(key, tuple):
            return f"attribute .{key[1]}"
        if isinstance(getattr(key, "name", None), str):  # ssa.method(...)
            return f"method .{key.name}()"
        if isinstance(getattr(key, "__self__", None), numpy.ufunc):
            return f"np.{key.__self__.__name__}.{key.__name__}"
        module = getattr(key, "__module__", None) or _ufunc_module(key) \
            or type(key).__module__
        name = getattr(key, "__name__", repr(key))
        if module in (None, "builtins", "numpy") and not isinstance(key, type):
            module = {"numpy": "np"}.get(module, module)
        return f"{module}.{name}" if module and module != "builtins" else name

    def inputs(self):
        """Names of the template's input parameters (all but the output)."""
        template = self.partials or self.adjoint
        return template.params[1:] if template else []

    def __repr__(self):
        return f"<rule {self.name}>"


def _ufunc_module(key):
    """The module a ufunc (which has no __module__) is public in, or None:
    numpy, or an optional library's (scipy.special)."""
    import sys
    name = getattr(key, "__name__", None)
    for module in ("numpy", *_OPTIONAL_LIBRARIES):
        if name and getattr(sys.modules.get(module), name, None) is key:
            return module
    return None


_OPTIONAL_LIBRARIES = ("scipy.special",)
_RULES = {}
version = 0  # counts changes to the rules: generated code checks it


def _changed():
    global version
    version += 1


def _rule(fn):
    try:
        rule = _RULES.get(fn)
    except TypeError:  # an unhashable callable never has a rule
        return None
    if rule is None:
        rule = _RULES[fn] = Rule(fn)
    return rule


def elementwise(*fns: Callable, domain: str = "real",
                makes_complex: bool = False
                ) -> Callable[[Callable], Callable]:
    """Declare partial derivatives of elementwise functions: a rule
    decorator (`@s2sad.elementwise(np.tanh)`), whose template returns one
    expression per input (`makes_complex`: the functions give complex
    values of real ones, as `cmath.exp`). Not autograd's
    `elementwise_grad`, which is `s2sad.elementwise_grad`."""
    def register(template_fn):
        template = _template(template_fn, _partials)
        for fn in fns:
            rule = _rule(fn)
            rule.partials = template
            rule.broadcasts = len(template.params) > 2
            rule.domain = domain
            rule.makes_complex = makes_complex
        _changed()
        return template_fn
    return register


def adjoint(*fns: Callable, broadcasts: bool = False, domain: str = "real",
            makes_complex: bool = False, constants: Sequence[str] = (),
            indices: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    """Declare a reverse-mode template in `d[x] = ...` syntax.

    Args:
        constants: inputs the rule gives no derivative for by design (read
            for their shape or dtype only). Any other input the template
            writes no `d[...]` for is refused when a differentiated value
            reaches it, rather than given a silent zero.
        indices: inputs that index the first: discrete, so without a
            derivative when the value indexed is differentiated (it is then
            data: an array, list or dict); otherwise an object's
            `__getitem__` may build values from them (`np.r_`), and the
            template's `d[index]` applies.
    """
    def register(template_fn):
        template = _template(template_fn, _validate)
        for fn in fns:
            rule = _rule(fn)
            rule.adjoint = template
            rule.broadcasts = broadcasts
            rule.domain = domain
            rule.makes_complex = makes_complex
            rule.indices = tuple(indices)
            rule.constants = tuple(constants)
        _changed()
        return template_fn
    return register


def tangent(*fns: Callable, structural: bool = False,
            directions: bool = False) -> Callable[[Callable], Callable]:
    """Declare a forward-mode template: `d[y] = <sum of linear terms>`.

    Args:
        structural: the template builds a container from its inputs'
            tangents (`runtime.appended(d[items], d[value])`) rather than
            adding terms: an input without a tangent gets zeros instead.
        directions: the template holds as written in vector mode too, where
            each tangent has a leading axis of directions (it builds
            containers of tangents, or multiplies them elementwise by values
            of their own shape): it is also the rule's `batched` form.
    """
    def register(template_fn):
        template = _tangent_template(template_fn, structural)
        for fn in fns:
            _rule(fn).tangent = template
            if directions:
                _rule(fn).batched = template
        _changed()
        return template_fn
    return register


def batched(*fns: Callable, structural: bool = False
            ) -> Callable[[Callable], Callable]:
    """Declare the tangent template of vector mode: as `tangent`'s, but each
    `d[x]` (and `d[y]`) carries a leading axis of k directions, one tangent
    per direction, so that an axis of x is axis + 1 of d[x]:

        @batched(np.sum)
        def sum_batched(y, x, axis=None, keepdims=False):
            d[y] = np.sum(d[x], axis=runtime.after_directions(axis, x),
                          keepdims=keepdims)

    A tangent's leading axis may have length 1 where it is the same in
    every direction (a zero): templates broadcast it. A rule without a
    batched form runs its tangent template once per direction.
    """
    def register(template_fn):
        template = _tangent_template(template_fn, structural)
        for fn in fns:
            _rule(fn).batched = template
        _changed()
        return template_fn
    return register


def _tangent_template(template_fn, structural=False):
    return _template(template_fn, _validate, _check_tangent,
                     structural=structural)


def _check_tangent(template):
    """A tangent template assigns d[y] once, one term per tangent."""
    assigns = [s for s in template.body if isinstance(s, gast.Assign)
               and _is_d(s.targets[0], template.params[0])]
    if len(assigns) != 1:
        raise TypeError(f"tangent template {template.name}: must assign "
                        f"d[{template.params[0]}] exactly once")
    for term in [] if template.structural else _summands(assigns[0].value):
        tangents = {n.slice.id for n in gast.walk(term) if _is_d(n)}
        if len(tangents) > 1:
            raise TypeError(
                f"tangent template {template.name}: a term reads the "
                f"tangents of {sorted(tangents)}; write one term per "
                "input's tangent, joined by + or -")


def any_arity(fn, adjoint_source, tangent_source, namespace, typical,
              constants=()):
    """Declare the rules of a function taking any number of positional
    arguments (np.einsum): `adjoint_source(n)` and `tangent_source(n)` give
    the source of the template for a call passing n of them (one `def`,
    reading the names in `namespace`, the declaring module's globals). Each
    is built, and checked as `adjoint` and `tangent` check theirs, when a
    call first needs it; those for `typical` arguments are the rule's
    `adjoint` and `tangent` (what tests and tools inspect)."""
    built = {}

    def by_arity(kind, n):
        if (kind, n) not in built:
            source = (adjoint_source if kind == "adjoint"
                      else tangent_source)(n)
            local = {}
            exec(compile(source, f"<s2sad.any_arity {fn.__name__}>", "exec"),
                 namespace, local)
            generated = _Generated(next(iter(local.values())), source)
            if kind == "adjoint":
                template = _template(generated, _validate)
            else:
                template = _tangent_template(generated)
            built[kind, n] = template
        return built[kind, n]

    rule = _rule(fn)
    rule.adjoint = by_arity("adjoint", typical)
    rule.tangent = by_arity("tangent", typical)
    rule.constants = tuple(constants)
    rule.by_arity = by_arity
    _changed()


def _is_d(node, name=None):
    """Is `node` `d[<a name>]` (`d[name]`, when name is given)?"""
    return (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == "d" and isinstance(node.slice, gast.Name)
            and name in (None, node.slice.id))


def _summands(expr):
    """The terms of `a + b - c`, as forward mode splits a tangent."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Add,
                                                             gast.Sub)):
        return _summands(expr.left) + _summands(expr.right)
    return [expr]


def linear(fn, transpose=None, back=None, directions=False):
    """Declare `fn` linear in its first argument, the others held fixed: its
    tangent is `fn` applied to that argument's tangent, and its adjoint is
    `transpose` (fn itself when omitted: np.flip, a self-adjoint map) applied
    to the output's adjoint with the same other arguments; and the same of
    `transpose`, whose transpose is `back` (fn when omitted; another where
    the adjoints of both live in one space, as runtime.tree_adjoint's).
    Writes the templates `@adjoint` and `@tangent` would take. `directions`:
    fn acts elementwise (or on containers), so its tangent holds in vector
    mode as written (see `tangent`)."""
    _linear(fn, transpose or fn, directions)
    if transpose is not None and transpose is not fn:
        _linear(transpose, back or fn, directions)


def _linear(fn, transpose, directions=False):
    params = list(inspect.signature(fn).parameters.values())
    first, rest = params[0].name, [p.name for p in params[1:]]
    signature = ", ".join(["y"] + [str(p) for p in params])
    args = ", ".join(rest)
    namespace = {"d": d}
    call = {f: _spelling(f, namespace) for f in (fn, transpose)}
    for kind, declare, body in (
            ("rev", adjoint(fn, constants=rest),
             f"d[{first}] = {call[transpose]}(d[y], {args})"),
            ("fwd", tangent(fn, directions=directions),
             f"d[y] = {call[fn]}(d[{first}], {args})")):
        source = f"def {fn.__name__}_{kind}({signature}):\n    {body}\n"
        exec(compile(source, f"<s2sad.linear {fn.__name__}>", "exec"),
             namespace)
        declare(_Generated(namespace[f"{fn.__name__}_{kind}"], source))


class _Generated:
    """A template function written by `linear`, with its source."""

    def __init__(self, fn, source):
        self.fn, self.source = fn, source


def _spelling(fn, namespace):
    """How a template names `fn`: `np.fft.fftshift`, `runtime.unstack`, or
    its bare name; binds what that needs in `namespace`."""
    module = getattr(fn, "__module__", "") or ""
    if module.split(".")[0] == "numpy":
        path = ["np"] + module.split(".")[1:] + [fn.__name__]
        value = numpy
        for part in path[1:]:
            value = getattr(value, part, None)
        if value is fn:
            namespace["np"] = numpy
            return ".".join(path)
    if module == "s2sad.runtime":
        from s2sad import runtime
        namespace["runtime"] = runtime
        return f"runtime.{fn.__name__}"
    namespace[fn.__name__] = fn
    return fn.__name__


def non_differentiable(*fns: Callable) -> Any:
    """Declare functions whose derivative is zero wherever it exists."""
    for fn in fns:
        _rule(fn).differentiable = False
    _changed()
    return fns[0] if len(fns) == 1 else fns


def takes_sequences(*fns):
    """Declare functions that take a list or tuple of values (np.stack): a
    differentiated argument given to them whole may be one, and its gradient
    is given back as one."""
    for fn in fns:
        _rule(fn).sequences = True
    _changed()


_PACKED = {}  # a function of many arguments -> the same of one sequence


def variadic(fn, packed):
    """Declare `fn(a, b, *cs)` differentiated as `packed([a, b, *cs])`, a
    function of one sequence with its own rules that gives the same value
    (math.hypot as runtime.hypot): the call's positional arguments are
    gathered into a list where it is written."""
    _PACKED[fn] = packed
    takes_sequences(packed)


def unpacked(packed_fn):
    """The function `variadic` declared `packed_fn` the sequence form of
    (math.hypot for runtime.hypot), or None."""
    return next((fn for fn, form in _PACKED.items() if form is packed_fn),
                None)


def packed(fn):
    """The sequence form `variadic` declared for `fn`, or None."""
    try:
        return _PACKED.get(fn)
    except TypeError:
        return None


def attribute(name):
    """The registry key of the attribute read `x.name`."""
    return (getattr, name)


def lookup(key):
    """The `Rule` for a function or attribute key, or None."""
    try:
        rule = _RULES.get(key)
        if rule is None and hasattr(key, "__func__"):  # a bound method:
            method = _RULES.get(key.__func__)  # one with no derivative
            rule = method if method and not method.differentiable else None
    except TypeError:
        return None
    if rule is None and _load_optional():
        return _RULES.get(key)
    return rule


def all_rules():
    _load_optional()
    return list(_RULES.values())


# Rules for optional libraries: a module imported once the user's program
# has imported the library (so s2sad never imports SciPy itself, and works
# without it).
_OPTIONAL = {"scipy.special": "s2sad.rules.scipy_special",
             "scipy.stats": "s2sad.rules.scipy_stats"}


def _load_optional():
    """Load the rules of every optional library imported since the last
    call; whether any were loaded."""
    found = [library for library in _OPTIONAL if library in sys.modules]
    for library in found:
        importlib.import_module(_OPTIONAL.pop(library))
    return bool(found)


def _partials(template):
    _validate(template, partials=True)


def _validate(template, partials=False):
    """Reject malformed templates before they are used."""
    params = set(template.params)
    where = f"rule template {template.name}"
    if len(template.params) < 2:
        raise TypeError(f"{where}: needs the output and at least one input")
    for node in gast.walk(gast.Module(body=template.body, type_ignores=[])):
        if isinstance(node, gast.Subscript) and isinstance(
                node.value, gast.Name) and node.value.id == "d":
            if not (isinstance(node.slice, gast.Name)
                    and node.slice.id in params):
                raise TypeError(f"{where}: d[...] must name a parameter")
            if partials:
                raise TypeError(f"{where}: partials templates do not use d[]")
    if partials and not isinstance(template.body[-1], gast.Return):
        raise TypeError(f"{where}: must end with `return <partials>`")
    if not partials:
        read = {n.id for n in gast.walk(gast.Module(
            body=template.body, type_ignores=[])) if isinstance(n, gast.Name)}
        unread = [p for p in template.params[1:] if p not in read
                  and p not in template.restricted
                  and p not in template.via_output]
        if unread:
            raise TypeError(
                f"{where}: never reads {', '.join(unread)}; a rule handles "
                "every argument it accepts: use it, annotate it "
                "`: only(<the values handled>)` or `: via_output` (its "
                "effect shows in the output), or leave it out of the "
                "signature so calls passing it are refused")
