"""What reverse and forward mode share: the generated function, naming of
free names, rule lookup with located errors, and emission.

A mode subclasses `Transform` and walks the SSA form; `rule_template` gives it
the filled-in template of each statement's rule or explains, at the user's
line, why there is none.
"""

import builtins
import collections
import functools
import inspect
import operator
import re
import textwrap

import gast
import numpy as np

from s2sad import (
    analysis, calls, codegen, derive, desugar, errors, frontend, runtime, ssa,
    template, trees)
from s2sad.rules import ieee, registry


# the runtime tests `Transform.settle` answers (a template that calls
# neither is left as it is)
_SETTLED = {"through_cast", "keep_last"}


class Generated:
    """A generated function: its gast tree and the free names it needs.

    Attributes:
        tree: a `gast.FunctionDef`.
        imports: name -> object for names the generated code uses that the
            user's function does not (numpy as `np`, s2sad's `runtime`).
        derivative_names: names the derivative code assigns (adjoints,
            tangents, template temporaries): values that are floats.
        runtime_checks: how many unbroadcasts and shape checks it makes.
        calls: the name of another generated function it calls, or a
            tuple of the names of those it calls (the next ones, in
            order), or None.
        taped: whether it keeps a tape for loops (and so cannot be
            differentiated again yet).
        floats: whether it is specialised to Python floats (its adjoints
            are numbers, never arrays to add into).
        adjoints: the names of its adjoints, which a kernel on arrays adds
            item by item where they are of tuples (see `kernel_forms`).
    """

    def __init__(self, tree, imports, derivative_names, runtime_checks=0,
                 calls=None, taped=False, tangent_names=None, callees=(),
                 floats=False, float_values=(), kernel=False, adjoints=()):
        self.tree = tree
        self.kernel = kernel  # compiled by Numba (see s2sad.kernels)
        self.adjoints = set(adjoints)
        self.float_values = float_values  # see optimize.float_valued
        self.floats = floats
        self.imports = imports
        self.derivative_names = derivative_names
        self.runtime_checks = runtime_checks
        self.calls = calls
        self.taped = taped
        self.tangent_names = tangent_names  # a jvp function's tangents
        self.callees = list(callees)  # generated code of the user calls
        self.runtime_name = next((n for n, v in imports.items()
                                  if v is runtime), "runtime")

    @property
    def name(self):
        return self.tree.name


class Later:
    """A generated function not generated yet, as `reverse.transform`
    gives one not wanted now: its name (see derive's `_Pending`)."""

    def __init__(self, name):
        self.name = name


class Transform:
    """The state of one transformation of an SSA function."""

    def __init__(self, func, argnums):
        self.func = func
        self.source = func.source
        self.namer = func.namer.copy()
        self.argnums = argnums
        positions = (argnums,) if isinstance(argnums, int) else argnums
        # past the positional parameters: *args (see calls.Binding)
        # a name: a keyword-only parameter (see calls.bind)
        self.wrt = [i if isinstance(i, str) else func.params[i]
                    if i < len(func.params) else func.vararg
                    for i in positions]
        self.imports = dict(func.imports)
        self.locals = set(func.all_params) | defined_in(func.body)
        self.line = None  # the source line of the block being emitted
        self.complex = analysis.uses_complex(func)
        self.complex_numbers = None  # see `may_be_complex`
        self.callees = []  # generated functions of user code it calls
        # what generated functions are named after (`vjp_<name>`)
        self.name = calls.name_of(self.source.func) if self.source.func \
            else func.name
        self.varied = None  # names depending on wrt, when needed
        self.numpy_values = None  # names holding NumPy values, when needed
        self.python_numbers = None  # names holding Python numbers, likewise
        self.assume_scalar = ()  # inputs taken to be Python floats
        self.assume_arrays = ()  # inputs taken to be real float arrays
        # a variant's: the function it calls for other inputs, and the
        # flag it sets when given NumPy float64s (see `guard`)
        self.fallback = self.numpy_floats = None
        # the name of the function a compiler (Numba) makes of a variant's
        # code after its guard, or None (see s2sad.kernels)
        self.kernel = None
        self.kernel_arrays = False  # a kernel on arrays too (see ARRAYS)
        self._branched = None  # see `branched`
        self.shapes = None  # see `shape_keys`
        self.no_ints = self.tuples = None  # see `float_names`, `settle`
        # names that never hold an array (`analysis.python_values`, set by
        # each kind of transformation), and id(if) -> the name of the
        # Python bool taken of its test (see `read_test`)
        self.python = set()
        self.taken = {}

    @functools.cached_property
    def definitions(self):
        """SSA name -> the statement assigning it (computed when first
        needed: forward mode's general code needs none)."""
        return analysis.definitions(self.func)

    def read_test(self, region, branch):
        """`branch`, the `if` that reads the test of `region` (an `if` or a
        `while`), as the statements written in its place. Where the test
        may read an array's value (a lazy array, as Dask's, computes
        there) it says so, and an `if` first takes a Python bool of it in
        a statement of its own: read once (a backward sweep reads the same
        bool), and read even where the branches come to nothing."""
        test = region.test
        if not analysis.may_be_array(test, self.python):
            return [branch]
        if isinstance(region, ssa.While):
            return [codegen.noted(branch, _READS_TEST)]
        branch.test = load(self.taken_name(region))
        return [codegen.noted(ssa.assign(branch.test.id, gast.Call(
            self.builtin("bool"), [ssa.render_operand(test)], [])),
            _READS_TEST), branch]

    def float_names(self):
        """`analysis.without_ints` of the function, given what the
        variant's guard checks (its floats and float arrays; not a
        `Number`, which may be an int), computed once."""
        if self.no_ints is None:
            self.no_ints = analysis.without_ints(self.func, [
                p for p in tuple(self.assume_scalar) + tuple(
                    self.assume_arrays)
                if not isinstance(p, (analysis.Number, analysis.Reals))])
        return self.no_ints

    def render_reading(self, stmt):
        """`ssa.render_assign(stmt)`, saying so where it reads an array's
        value as a Python value (`float(x)`, `bool(x)`, `x.item()`)."""
        rendered = ssa.render_assign(stmt)
        if stmt.fn in _READS_VALUES and stmt.args and analysis.may_be_array(
                stmt.args[0], self.python):
            codegen.noted(rendered, _READS_VALUE)
        return rendered

    def taken_name(self, region):
        """The name of the Python bool taken of the test of the `if`
        `region` (see `read_test`)."""
        name = self.taken.get(id(region))
        if name is None:  # (`_t2_taken`; of one taken before: `_t2_taken_1`)
            test = re.sub(r"_taken(_\d+)?$", "", getattr(region.test, "name",
                                                         ""))
            name = self.namer.fresh(f"{test}_taken")
            self.taken[id(region)] = name
            self.locals.add(name)
        return name

    def known_name(self, name, value):
        """The name generated code reaches `value` by without importing it:
        one it imported already, or `name` where the user's namespace binds
        it to value; else None."""
        for known, obj in self.imports.items():
            if obj is value:
                return known
        if self.source.lookup(name) is value and name not in self.locals:
            return name
        return None

    def import_name(self, name, value):
        """The name generated code uses to reach `value` (`np`, `runtime`)."""
        known = self.known_name(name, value)
        if known is not None:
            return known
        new = name if name not in self.namer.taken else self.namer.fresh(name)
        self.namer.reserve(new)
        self.imports[new] = value
        return new

    def builtin(self, name):
        """A gast expression reading the builtin `name`, bound so that a user
        global of the same name (`float = ...`) cannot change its meaning."""
        return load(self.import_name(name, getattr(builtins, name)))

    def may_be_complex(self):
        """May a value of the function be complex: a complex literal or
        function, or a Python float to a fractional power (`(-1.0) **
        0.5`)?"""
        if self.complex_numbers is None:
            self.complex_numbers = self.complex or \
                analysis.may_make_complex(self.func)
        return self.complex_numbers

    def shape(self, operand):
        """The shape key of an SSA operand (see analysis.shape_keys): equal
        keys, equal shapes; None for a constant array."""
        if analysis.is_scalar(operand, self.scalars):
            return analysis.SCALAR_SHAPE
        if isinstance(operand, ssa.Var):
            return self.shape_keys()[0].get(operand.name,
                                            ("name", operand.name))
        return None

    def shape_keys(self):
        """`analysis.shape_keys` of the function (its scalars known)."""
        if self.shapes is None:
            self.shapes = analysis.shape_keys(self.func, self.scalars,
                                              self.assume_arrays)
        return self.shapes

    def may_join(self, stmt, not_ints=()):
        """May `stmt` join lists or tuples (`xs + ys`) or repeat one (`xs *
        n`)? s2sad differentiates NumPy's arithmetic, not those: the
        derivative code refuses them where they happen (reverse mode in
        `runtime.unbroadcast`, forward mode in `runtime.not_joined`).
        `not_ints`: more names known to hold no int."""
        if stmt.fn not in analysis.JOINING:
            return False
        _, arrays, floats, _ = self.shape_keys()

        def may_be_sequence(o):
            if not isinstance(o, ssa.Var):  # a constant, a global
                return isinstance(getattr(o, "value", None), (list, tuple))
            return o.name not in arrays and not analysis.is_scalar(
                o, self.scalars)

        def may_be_int(o):
            return not analysis.holds(floats, o) and getattr(
                o, "name", None) not in not_ints
        if stmt.fn in (operator.add, operator.iadd, runtime.iadd):
            return all(map(may_be_sequence, stmt.args))
        # (xs * xs raises)
        return any(may_be_sequence(o) and any(
            other != o and may_be_int(other) for other in stmt.args)
            for o in stmt.args)

    def runtime_call(self, helper, args):
        runtime_name = self.import_name("runtime", runtime)
        return gast.Call(gast.Attribute(load(runtime_name), helper,
                                        gast.Load()), args, [])

    def rule_template(self, stmt, kind, d_names):
        """The rule of `stmt` and its `kind` template filled in for `stmt`.

        Args:
            kind: "adjoint" or "tangent"; elementwise rules give "partials".
            d_names: template parameter -> name, for `d[...]`, by a callable
                taking the template and the bound operands.

        Returns:
            (rule, template, operands, filled), or None when the function
            has a zero derivative.
        """
        rule = analysis.rule_of(stmt)
        if stmt.spreads() and (rule is None or rule.differentiable):
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"{describe(stmt)} is given differentiated values through "
                "`*` or `**`; pass its arguments one by one")
        # a mode's own template overrides the partials (np.abs's tangent)
        tmpl = None if rule is None else rule.template(
            kind, len(stmt.args)) or rule.partials
        if rule is not None and not rule.differentiable:
            return None
        if tmpl is None:
            mode = "reverse" if kind == "adjoint" else "forward"
            if isinstance(stmt.fn, ssa.Method):
                advice = ("method calls are not differentiated yet; call the "
                          f"function instead (e.g. np.{stmt.fn.name}(x, ...))")
            elif rule is not None:
                advice = f"it has no {mode}-mode rule; add one with @s2sad.{kind}"
            else:
                advice = (f"define one with @s2sad.{kind}, or mark it "
                          "s2sad.non_differentiable if its derivative is zero")
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"no derivative rule for {describe(stmt)}; {advice}")
        try:
            operands = template.bind(tmpl, stmt, output=_OUTPUT)
        except TypeError as exc:
            raise self.unhandled_argument(stmt, tmpl, exc) from None
        checks = [self.check_value(stmt, param, operands[param], allowed)
                  for param, allowed in tmpl.restricted.items()]
        if self.numpy_values is None:
            self.numpy_values = ieee.numpy_values(
                (s.target, s.fn, {o.name for o in s.operands()
                                  if isinstance(o, ssa.Var)})
                for s in ssa.walk(self.func.body) if isinstance(s, ssa.Assign))
        numbers = {p for p, o in operands.items()
                   if analysis.is_scalar(o, self.scalars)}
        arrays = {p for p, o in operands.items() if isinstance(o, ssa.Var)
                  and o.name in self.numpy_values}
        if self.python_numbers is None:
            known = [p for p in self.assume_scalar
                     if type(p) is str]  # (the float
            # path's inputs, which it checks are Python floats)
            self.python_numbers = ieee.python_numbers(
                ((s.target, s.fn, s.args) for s in ssa.walk(self.func.body)
                 if isinstance(s, ssa.Assign)), known)
        nonzero = ieee.nonzero_operand(stmt.fn, stmt.args,
                                       self.python_numbers)
        filled = template.fill(
            tmpl, operands, d_names(tmpl, operands), self.namer,
            self.import_name, numbers, arrays,
            nonzero.name if isinstance(nonzero, ssa.Var) else None,
            self.may_be_complex(), self.sequences(stmt, operands))
        filled.stmts[:0] = [c for c in checks if c is not None]
        if _SETTLED & set(tmpl.fn.__code__.co_names):
            self.settle(filled, operands)
        return rule, tmpl, operands, filled

    def sequences(self, stmt, operands):
        """The parameters of a NumPy or SciPy function's template whose
        operands may be Python lists or tuples, which it reads as arrays:
        not known to hold no sequence, nor numbers (see `template.fill`).
        (Python's arithmetic on a list that met an array, `xs - a`, is
        left as it is: a list there is rare, and the check would cost every
        scalar program.)"""
        module = getattr(stmt.fn, "__module__", None) or ""
        if not (isinstance(stmt.fn, np.ufunc) or module == "numpy"
                or module.startswith("scipy.")):
            return ()
        arrays = self.shape_keys()[1]
        return {p for p, o in operands.items() if isinstance(o, ssa.Var)
                and o.name != stmt.target and o.name not in arrays
                and not analysis.is_scalar(o, self.scalars)}

    def as_array(self, node):
        """`runtime.array_of(node)`: a list or tuple as an array."""
        return gast.Call(gast.Attribute(load(self.import_name(
            "runtime", runtime)), "array_of", gast.Load()), [node], [])

    def settle(self, filled, operands):
        """Leave out of a filled template the run-time tests the analysis
        answers: `runtime.through_cast(g, y)` is g where y holds no ints
        (`analysis.without_ints`), and `runtime.keep_last(part, x, index)`
        is part where the index writes each item once
        (`analysis.basic_index`). An element write in a loop, `K[i, j] =
        v`, then tapes nothing of K to run them."""
        helpers = self.known_name("runtime", runtime)
        if helpers is None:
            return
        if self.tuples is None:
            self.tuples = {s.target: s.args for s in ssa.walk(self.func.body)
                           if isinstance(s, ssa.Assign)
                           and s.fn is ssa.make_tuple and not s.spreads()}
        ints = self.shape_keys()[3]

        def writes_once(node):
            return any(trees.same(ssa.render_operand(o), node) and
                       analysis.basic_index(o, ints, self.tuples)
                       for o in operands.values())

        def settled(node):
            if not isinstance(node, gast.AST):
                return node
            for field, value in gast.iter_fields(node):
                if isinstance(value, list):
                    value[:] = [settled(v) for v in value]
                else:
                    setattr(node, field, settled(value))
            func = getattr(node, "func", None)
            if not (isinstance(node, gast.Call) and isinstance(
                    func, gast.Attribute) and isinstance(func.value, gast.Name)
                    and func.value.id == helpers):
                return node
            args = node.args
            if func.attr == "through_cast" and len(args) == 2 and isinstance(
                    args[1], gast.Name) and args[1].id in self.float_names():
                return args[0]
            if func.attr == "keep_last" and len(args) == 3 and writes_once(
                    args[2]):
                return args[0]
            return node

        filled.stmts[:] = [settled(s) for s in filled.stmts]
        filled.contributions[:] = [(p, settled(e))
                                   for p, e in filled.contributions]
        filled.returned = settled(filled.returned)

    def unhandled_argument(self, stmt, tmpl, exc):
        """The located error for a call passing an argument its rule's
        template does not declare (so could not have handled)."""
        params = tmpl.params[1:]
        positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in
                         tmpl.signature.parameters.values()) - 1
        extra = [k for k, _ in stmt.kwargs if k not in params]
        if extra:
            what = f"argument `{extra[0]}=`"
        elif len(stmt.args) > positional:
            what = f"positional argument {positional + 1}"
        else:
            what = f"these arguments ({exc})"
        return self.source.error(
            errors.UnsupportedCallError, stmt.node,
            f"the derivative rule for {describe(stmt)} does not handle its "
            f"{what} (it handles {', '.join(params)}); leave that argument "
            "out (compute its effect separately), or register a rule that "
            "handles it with @s2sad.adjoint and @s2sad.tangent")

    def check_value(self, stmt, param, operand, allowed):
        """Refuse a value of `param` the rule does not handle: now for a
        constant; for a value known only at run time, the statement that
        checks it when the derivative runs (else None)."""
        message = (f"the derivative rule for {describe(stmt)} handles only "
                   f"{param}={allowed!r}")
        if isinstance(operand, ssa.Const):
            if allowed.allows(operand.value):
                return None
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"{message}, not {operand.value!r}; leave that argument out "
                "or register a rule that handles it")
        return gast.Expr(self.runtime_call(allowed.check, [
            ssa.render_operand(operand), *allowed.check_args(),
            gast.Constant(self.source.located(stmt.node, message), None)]))

    def discrete(self, rule, tmpl, operands):
        """The rule's index inputs, when the value they index is
        differentiated: data (an array, list or dict), which an index
        reads without a derivative of its own (see registry.adjoint)."""
        if rule is None or not rule.indices:
            return ()
        indexed = operands.get(tmpl.params[1])
        if isinstance(indexed, ssa.Var) and indexed.name in self.active:
            return rule.indices
        return ()

    def check_covered(self, stmt, rule, tmpl, operands, covered):
        """A differentiated value passed where the rule gives no derivative
        would get a silent zero: refuse it, unless the rule declares that
        input constant (read for its shape or dtype). An elementwise rule
        declares an input constant by giving it the partial None."""
        if tmpl is rule.partials:
            return
        held = self.discrete(rule, tmpl, operands)
        for param in tmpl.params[1:]:
            operand = operands.get(param)
            if param in covered or param in rule.constants or not (
                    isinstance(operand, ssa.Var)
                    and operand.name in self.active) or param in held:
                continue
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"{describe(stmt)} has no derivative with respect to its "
                f"argument `{param}`, and a differentiated value reaches it "
                "here; compute that argument from values that are not "
                "differentiated")

    def call_site(self, stmt, mode):
        """The `CallSite` of a call into user code on a differentiated path
        (None for any other statement). `mode` is "vjp", "forward" or
        "vector"."""
        if stmt.target not in self.active:
            return None
        if stmt.fn is ssa.call:
            receiver, function, args = None, stmt.args[0], stmt.args[1:]
        elif isinstance(stmt.fn, ssa.Method) and analysis.rule_of(stmt) is None:
            receiver, function, args = stmt.args[0], None, stmt.args[1:]
            if isinstance(receiver, ssa.Var) and receiver.name in self.active:
                raise self.source.error(
                    errors.UnsupportedCallError, stmt.node,
                    f"no derivative rule for {describe(stmt)} of a "
                    "differentiated value: for an array, call the NumPy "
                    "function instead; for an object of your own class, pass "
                    "its parameters (a dict or tuple) as the differentiated "
                    "argument and call the method on the object")
        elif stmt.callee is not None and calls.is_user_function(stmt.fn):
            receiver, function, args = None, None, stmt.args
        else:
            return None
        site = CallSite(stmt, receiver, function, args, self.active)
        if any(k is None for k, v in stmt.kwargs
               if isinstance(v, ssa.Var) and v.name in self.active):
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"differentiated values are passed to {describe(stmt)} "
                "through `**`; pass them by name")
        if function is None and receiver is None and not stmt.spreads():
            self.bind_static(site, mode)
        return site

    def bind_static(self, site, mode):
        """Resolve a call to a function known now to its generated
        derivative; leave it to run-time dispatch when that is itself being
        generated (recursion) or is a user-written derivative."""
        stmt = site.stmt
        try:
            fn, leading, keywords = calls.callee(stmt.fn)
        except errors.S2SADError:  # refused where it is called
            return
        if not inspect.isfunction(fn) or keywords or len(leading) > 1:
            return
        if leading:  # the bound object, read where the call reads it
            if leading[0] is stmt.fn:  # model(x): its __call__
                leading = [stmt.callee]
            elif leading[0] is not getattr(stmt.fn, "__self__", None):
                return
            elif isinstance(stmt.callee, gast.Attribute):  # model.forward
                leading = [stmt.callee.value]
            else:  # a bound method kept in a variable: act = model.act
                leading = [gast.Attribute(trees.clone(stmt.callee),
                                          "__self__", gast.Load())]
        try:
            binding = calls.bind(fn, len(leading), len(site.args),
                                 [k for k, _ in stmt.kwargs], site.slots)
        except errors.UnsupportedCallError as exc:
            raise self.source.error(errors.UnsupportedCallError, stmt.node,
                                    f"{describe(stmt)}: {exc.message}") from None
        if any(isinstance(i, tuple) for i in binding.order):
            return  # into *args: dispatched at run time, per call
        # a function in a closure cell: each closure calls its own
        cell = stmt.callee.id if inspect.isfunction(stmt.fn) and isinstance(
            stmt.callee, gast.Name) and stmt.callee.id in self.source.cells \
            else None
        try:
            generated = derive.transformed(fn, binding.argnums, mode, cell)
        except errors.S2SADError as exc:  # refused in the callee's code
            if id(stmt) in self.branched():
                return  # dispatched at run time: refused if the call runs
            exc.reached_from(*errors.user_location(
                self.source.filename,
                self.source.lineno(stmt.node) or self.source.first_line),
                called=describe(stmt))
            raise
        if generated is None:
            return
        self.callees.append(generated)
        site.binding, site.leading = binding, list(leading)
        name = calls.name_of(fn)
        if mode == "vjp":
            site.forward = self.import_name(f"vjp_{name}", generated)
            site.backward = self.import_name(f"vjp_bwd_{name}",
                                             generated.backward)
        else:
            prefix = "jvps" if mode == "vector" else "jvp"
            site.forward = self.import_name(f"{prefix}_{name}", generated)
            site.tangent_names = generated.tangent_names
        if cell is not None:
            derive.name_cell_callee(site.forward, site.backward)

    def branched(self):
        """The statements in a branch of an `if`: they may never run."""
        if self._branched is None:
            self._branched = {id(s) for b in ssa.walk(self.func.body)
                              if isinstance(b, ssa.If)
                              for s in ssa.walk(b.body + b.orelse)}
        return self._branched

    def dispatch_call(self, site, helper):
        """`calls.<helper>(function, (args...), (keywords...), slots)`: the
        derivative functions of a call known only at run time; the
        positions of `*xs` arguments go as `spread=(...)`."""
        calls_name = self.import_name("calls", calls)
        stmt = site.stmt
        args = [ssa.render_operand(getattr(a, "operand", a)) for a in site.args]
        keys = gast.Tuple([gast.Constant(k, None)
                           for k, _ in stmt.kwargs if k is not None],
                          gast.Load())
        for k, v in stmt.kwargs:
            if k is None:  # **mapping: its keys, when the call runs
                keys = gast.BinOp(keys, gast.Add(), gast.Call(
                    self.builtin("tuple"), [ssa.render_operand(v)], []))
        spread = [gast.Constant(i, None) for i, a in enumerate(site.args)
                  if isinstance(a, ssa.Spread)]
        keywords = [gast.keyword("spread", gast.Tuple(spread, gast.Load()))] \
            if spread else []
        slots = gast.Tuple([gast.Constant(s, None) for s in site.slots],
                           gast.Load())
        return gast.Call(
            gast.Attribute(load(calls_name), helper, gast.Load()),
            [site.function_expr(), gast.Tuple(args, gast.Load()), keys,
             slots], keywords)

    def dispatched_call(self, site, function, extra=()):
        """`function(args..., extra..., keywords...)`: the call as written,
        to a derivative function found at run time."""
        stmt = site.stmt
        args = [gast.Starred(ssa.render_operand(a.operand), gast.Load())
                if isinstance(a, ssa.Spread) else ssa.render_operand(a)
                for a in site.args]
        if calls.FUNCTION in site.slots:  # a closure's values, first
            args.insert(0, gast.Starred(self.runtime_call(
                "bound", [site.function_expr()]), gast.Load()))
        keywords = [gast.keyword(k, ssa.render_operand(v))
                    for k, v in stmt.kwargs]
        return gast.Call(load(function), args + list(extra), keywords)

    def direct_call(self, site, extra_keywords=()):
        """`<generated>(leading..., args..., keywords...)` for a static site."""
        stmt = site.stmt
        args = [trees.clone(a) for a in site.leading] + [
            ssa.render_operand(a) for a in site.args]
        keywords = [gast.keyword(k, ssa.render_operand(v))
                    for k, v in stmt.kwargs] + list(extra_keywords)
        return gast.Call(load(site.forward), args, keywords)

    def closure(self, stmt):
        """A nested function reading differentiated values of this one: its
        definition takes the values it captures as leading parameters, and
        the function value binds them (`runtime.closure`), so that calls
        to it differentiate them as arguments and its cotangent holds
        theirs (see `calls.FUNCTION`)."""
        definition = trees.clone(stmt.definition)
        values = self.closure_values(stmt)
        captured = [v.name for v in values]
        name = ssa._user_name(stmt.target)
        if isinstance(definition, gast.FunctionDef) and any(
                isinstance(n, gast.Name) and n.id == name
                for n in gast.walk(gast.Module(definition.body, []))):
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"`{name}` calls itself and reads differentiated values of "
                "the function around it through its closure; pass them to "
                f"`{name}` as arguments instead")
        params = [gast.Name(c, gast.Param(), None, None) for c in captured]
        if definition.args.posonlyargs:
            definition.args.posonlyargs[:0] = params
        else:
            definition.args.args[:0] = params
        lifted = self.namer.fresh(f"{name}_closed" if not name.startswith(
            "_") else "closure")
        self.locals.add(lifted)
        if isinstance(definition, gast.Lambda):
            made = ssa.assign(lifted, definition)
        else:
            definition.name = lifted
            made = definition
        return [made, ssa.assign(stmt.target, self.runtime_call("closure", [
            load(lifted), gast.Tuple([load(c) for c in captured],
                                     gast.Load()),
            gast.Constant(getattr(stmt.definition, "name", "<lambda>"),
                          None)]))]

    def closure_values(self, stmt):
        """The values a nested function's closure binds: those its body
        reads (its defaults are evaluated where it is made, as constants)."""
        definition = stmt.definition
        defaults = [d for d in definition.args.defaults
                    + definition.args.kw_defaults if d is not None]
        in_defaults = {n.id for d in defaults for n in gast.walk(d)
                       if isinstance(n, gast.Name)}
        body = definition.body if isinstance(definition.body, list) \
            else [definition.body]
        # (not its own parameters and locals: `lambda t, k=k: t * x[k]`
        # reads its parameter k)
        own = set(ssa.parameters(definition.args, True)) | ssa._assigned(body)
        in_body = {n.id for part in body for n in gast.walk(part)
                   if isinstance(n, gast.Name)} - own
        for value in stmt.args:
            if value.name in in_defaults and value.name in self.active:
                raise self.closure_error(stmt, stmt.target)
        return [v for v in stmt.args if v.name in in_body]

    def closure_error(self, stmt, function):
        """A nested function that reads differentiated values of this one
        through its closure: s2sad differentiates its arguments only."""
        made = next((s for s in ssa.walk(self.func.body)
                     if isinstance(s, ssa.Assign) and s.target == function
                     and s.fn is ssa.make_function), None)
        reads = [f"`{ssa._user_name(o.name)}`" for o in made.args
                 if o.name in self.active] if made else []
        what = ", ".join(reads) or "differentiated values"
        name = f"`{ssa._user_name(function)}`"
        if name.startswith("`_"):  # a lambda or partial with no name of its
            name = "the function called here"  # own
        return self.source.error(
            errors.UnsupportedCallError, stmt.node,
            f"{name[0].upper()}{name[1:]} reads {what} of the function around "
            "it through its closure or a default value, which s2sad does not "
            "differentiate; pass "
            f"{'them' if len(reads) > 1 else 'it'} to {name} as an argument "
            "instead")

    def check_effect(self, stmt):
        """A call made for its effect, or whose value the derivative does
        not need, given differentiated values, may change them behind the
        derivative's back: a method (`x.sort()`, `items.insert(0, v)`) or
        a function known only at run time called for its effect is
        refused; a function of the user's is read, which refuses changes
        to its arguments where they are made."""
        if self.varied is None:
            self.varied = analysis.varied(self.func, self.wrt)
        if not any(isinstance(o, ssa.Var) and o.name in self.varied
                   for o in stmt.operands()):
            return
        if stmt.target is None and isinstance(stmt.fn, ssa.Method) and \
                stmt.fn.name in analysis.STORING and stmt.args and \
                analysis.outside_holder(self.func, stmt.args[0],
                                        self.definitions):
            return  # (a record kept in an object of the caller's or a
            # module's, `self.history.append(loss)`, as TRAJ.append(v):
            # run as Python runs it; read back, refused by `active`)
        if stmt.target is None and isinstance(stmt.fn, ssa.Method) and \
                stmt.fn.name in ("append", "extend", "pop", "insert"):
            node = getattr(stmt.node, "value", stmt.node)
            held = ssa._text(node.func.value) if isinstance(
                getattr(node, "func", None), gast.Attribute) else "items[k]"
            if stmt.fn.name == "insert":  # (of a name too)
                raise self.source.error(
                    errors.UnsupportedCallError, stmt.node,
                    f"`.insert()` of a differentiated value into `{held}` "
                    "is not supported; make the list anew (`xs = xs[:i] + "
                    "[v] + xs[i:]`), or append and take `xs[::-1]` at the "
                    "end")
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"`.{stmt.fn.name}()` of `{held}`: s2sad follows "
                f"`.{stmt.fn.name}()` of a local name only; copy the list "
                f"into one and go on with it (`xs = list({held})`, "
                f"`xs.{stmt.fn.name}(...)`, then read `xs`)")
        if stmt.target is None and (isinstance(stmt.fn, ssa.Method)
                                    or stmt.fn is ssa.call):
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"{describe(stmt)} is called for its effect on a "
                "differentiated value, which s2sad cannot follow; use a "
                "function that returns the new value (np.sort(x), a new "
                "list), or .append, .extend and .pop, which s2sad rewrites "
                "that way")
        if ssa.changes_its_argument(stmt.fn):
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"{describe(stmt)} changes its list in place, with a "
                "differentiated value in it, which s2sad cannot follow; keep "
                "the values in a list and take what is needed by index or "
                "with min/max/sorted (`i = min(range(len(d)), key=d.__getitem__)`)")
        if getattr(stmt.fn, "__s2sad_not_differentiated__", None):
            return  # (s2sad.check_grads: it changes no argument)
        if calls.is_user_function(stmt.fn) and stmt.target is not None:
            # its value is not needed, and it need not be differentiable:
            # only what its text changes in place is refused
            fn = self.effect_callee(stmt)
            changed = ssa.changed_parameters(fn) if inspect.isfunction(
                fn) else {}
            for name, (source, node) in list(changed.items())[:1]:
                raise source.error(
                    errors.UnsupportedCallError, node,
                    f"`{name}` is an argument, which this changes in place; "
                    f"{describe(stmt)} is called with a differentiated value "
                    "and s2sad does not follow changes made through a "
                    f"call: return the new value instead (`{name} = ...; "
                    f"return {name}`)")
        elif calls.is_user_function(stmt.fn):
            fn = self.effect_callee(stmt)
            if inspect.isfunction(fn):
                callee = ssa.lower(frontend.parse(fn))
                for name, node in callee.argument_updates[:1]:
                    raise callee.source.error(
                        errors.UnsupportedCallError, node,
                        f"`{name}` is an argument, which this changes in "
                        f"place if it is an array; {describe(stmt)} is "
                        "called for that effect on a differentiated value, "
                        "which s2sad does not follow: return the new value "
                        f"and assign it (`{name} = {name} ... ; return "
                        f"{name}`)")

    def check_receivers(self):
        """`model.round(a)`, `a` differentiated: s2sad takes `.round()` for
        the array method of that name (NumPy's rule, a zero derivative),
        which a class of the user's may define otherwise. Before each such
        call on a value not differentiated, `runtime.check_receiver`
        refuses, when the code runs, an object whose class has a method of
        its own of that name. (One called on `self` by a method of the
        class is the user's already: see `frontend.Source.own_method`.)"""
        if self.varied is None:
            self.varied = analysis.varied(self.func, self.wrt)
        varied = self.varied
        for block in list(ssa.blocks(self.func.body)):
            checked = []
            for stmt in block:
                receiver = stmt.args[0] if isinstance(stmt, ssa.Assign) \
                    and isinstance(stmt.fn, ssa.Method) and stmt.args \
                    else None
                if isinstance(receiver, ssa.Var) and receiver.name not in \
                        varied and any(isinstance(o, ssa.Var) and o.name in
                                       varied for o in stmt.operands()) and \
                        not getattr(stmt, "receiver_checked", False) and \
                        analysis.rule_of(stmt) is not None:
                    stmt.receiver_checked = True  # (once per lowering)
                    checked.append(ssa.Assign(None, runtime.check_receiver, [
                        receiver, ssa.Const(stmt.fn.name), ssa.Const(
                            self.source.located(stmt.node, describe(stmt)))],
                        callee=gast.Attribute(load(self.import_name(
                            "runtime", runtime)), "check_receiver",
                            gast.Load()), node=stmt.node))
                checked.append(stmt)
            block[:] = checked

    def check_globals_kept(self):
        """Refuse a call of a function of the user's that assigns a module
        global this function reads (`global SCALE; SCALE = v`, or
        `SCALES[0] = v`): the backward sweep reads the global again, after
        the call changed it."""
        read = {o.expr.id for stmt in ssa.walk(self.func.body)
                if isinstance(stmt, ssa.Assign) for o in stmt.operands()
                if isinstance(o, ssa.Free) and isinstance(o.expr, gast.Name)}
        if not read:
            return
        for stmt in ssa.walk(self.func.body):
            if not (isinstance(stmt, ssa.Assign) and callable(stmt.fn)
                    and calls.is_user_function(stmt.fn)):
                continue
            try:
                fn = calls.callee(stmt.fn)[0]
            except errors.S2SADError:
                continue
            changed = sorted(_globals_changed(fn, set()) & read)
            if changed:
                raise self.source.error(
                    errors.UnsupportedCallError, stmt.node,
                    f"{describe(stmt)} changes the module global "
                    f"`{changed[0]}`, which this function reads; the "
                    "derivative reads it again going backward, after the "
                    f"change: pass `{changed[0]}` as an argument (or "
                    "return the new value) instead")

    def effect_callee(self, stmt):
        """The function `stmt` calls for its effect (`calls.callee`), or
        its refusal at the user's line of the call."""
        try:
            return calls.callee(stmt.fn)[0]
        except errors.S2SADError as exc:
            if exc.filename is not None:
                raise
            raise self.source.error(type(exc), stmt.node,
                                    exc.message) from None

    def comment_for(self, stmt, verb):
        """`# <verb> line N: <source>` when a new source line begins."""
        line = self.source.lineno(stmt.node)
        if line is None or line == self.line:
            return []
        self.line = line
        text = self.source.line_text(stmt.node)
        return [codegen.located(codegen.comment(f"{verb} line {line}: {text}"),
                                stmt.node)]

    # -- variants on numbers, and compiled kernels (see s2sad.kernels) --

    def arrays_read(self, body):
        """The names of the module-level (or closure) arrays a kernel
        reads, which it takes as parameters: Numba would take a global's
        values as constants, and miss a change in place (`DATA[:] = ...`)."""
        module = gast.Module(body, [])
        loaded = sorted(set(trees.names(module, gast.Load)) - set(
            trees.names(module, gast.Store)) - set(self.func.all_params)
            - set(self.imports))
        return [name for name in loaded
                if isinstance(self.source.lookup(name), np.ndarray)]

    def not_compilable(self, stmt=None, what=None, arrays=False):
        """The refusal of a derivative Numba is asked to compile that has no
        variant on numbers, at the first statement that works on more (or
        at `stmt`, for `what` it does); `arrays`: of a gradient, which
        compiles on arrays too."""
        node, located = self.source.tree, stmt is not None
        if located:
            node = stmt.node or node
            what = what or f"this line's {describe(stmt)}"
        elif analysis.uses_complex(self.func, True):
            what = "its complex numbers"
        elif not self.func.plain:
            what = "its signature (default values, *args, keyword-only " \
                "parameters or **kwargs: a kernel is called with each " \
                "argument given)"
        else:
            stmt = analysis.not_elementwise(
                self.func, self.active, self.returned_tuples(),
                analysis.ON_NUMBERS)
            if stmt is not None:
                node = stmt.node or node
                what = self.packed_call(stmt) or _KERNEL_REFUSALS.get(
                    stmt.fn) or f"this line's {describe(stmt)}"
        if self.source.generated and what and \
                not located:
            # a derivative of s2sad's code: of its loops, their tape
            what += (" (of the code s2sad generated for the derivative this "
                     "one differentiates, as a gradient's tape: a second "
                     "derivative of code on numbers compiles as "
                     "s2sad.hessian(f, backend='numba') or s2sad.hvp(f, ..., "
                     "backend='numba'), forward over forward mode)")
        return self.source.error(
            errors.UnsupportedSyntaxError, node,
            "backend='numba' compiles " + (
                "gradients of code on numbers and float64 arrays (loops, "
                "branches, math functions, NumPy's functions Numba has, "
                "items and slices, and the small helpers s2sad inlines)"
                if arrays else "derivatives of code on numbers (floats and "
                "ints, loops, branches, math functions, NumPy's "
                "elementwise functions, and the small helpers s2sad "
                "inlines)") +
            f"; {what or 'this function'} is not of these; leave out "
            "backend='numba' for this function, or pass fallback='python' "
            "to run its Python derivative")

    def packed_call(self, stmt):
        """How a refusal names the list `stmt` makes of a call's arguments
        (`math.hypot(x, y)` is computed as `runtime.hypot([x, y])`), or
        None."""
        if stmt.fn is not ssa.make_list:
            return None
        for other in ssa.walk(self.func.body):
            fn = registry.unpacked(getattr(other, "fn", None))
            if fn is not None and any(
                    isinstance(o, ssa.Var) and o.name == stmt.target
                    for o in other.operands()):
                name = f"{getattr(fn, '__module__', None) or 'builtins'}." \
                    f"{fn.__name__}".replace("builtins.", "")
                return (f"`{name}` of several numbers (which s2sad computes "
                        "from the list of them)")
        return None

    def returned_tuples(self):
        """The tuples a variant on numbers may make: none (a jvp's: those
        it returns)."""
        return ()

    def on_reals(self):
        """Leave out of the active names, in a kernel (whose inputs are
        real), what has a zero derivative on real numbers only
        (`analysis.ZERO_ON_REALS`)."""
        self.active = self.active - {
            s.target for s in ssa.walk(self.func.body)
            if isinstance(s, ssa.Assign) and s.fn in analysis.ZERO_ON_REALS}

    def kernel_guard(self, arrays=False):
        """The guard of a kernel's variant (see `scalar_guard`), where an
        argument not differentiated may be any number (an int `n` of `acc
        / n` runs compiled too), and one that arithmetic reads must be one
        (Numba would compile the kernel for an array, as a tangent the
        second derivative's code reads). A function with none is refused;
        with `arrays`, it is `ARRAYS` instead where it may run compiled on
        numbers and float64 arrays of any shapes (`runtime.
        kernel_arguments` checks that). (Not one a loop iterates, `len` or
        `range` reads, nor an index: a tuple of numbers compiles.)"""
        identities = analysis.ON_NUMBERS
        guard = self.scalar_guard(None, identities)
        if not guard:
            if not arrays or analysis.uses_complex(self.func, True) or \
                    not self.func.plain or \
                    self.source.generated:
                raise self.not_compilable(arrays=arrays)
            for stmt in ssa.walk(self.func.body):
                if isinstance(stmt, ssa.Assign) and (
                        stmt.fn in _NOT_IN_ARRAY_KERNELS):
                    raise self.not_compilable(stmt, self.packed_call(
                        stmt) or _KERNEL_REFUSALS[stmt.fn], arrays)
            self.refuse_introspection()
            return ARRAYS
        self.refuse_introspection()
        guarded = {getattr(p, "name", p) for p in guard}
        read = {o.name for s in ssa.walk(self.func.body)
                if isinstance(s, ssa.Assign) and s.fn not in _AS_SEQUENCE
                for o in s.operands() if isinstance(o, ssa.Var)}
        # (and the module-level arrays it reads as a parameter vector,
        # `DATA[t]`: the kernel takes them as arguments, see `arrays_read`)
        guard = tuple(analysis.Number(p) if type(p) is str and p not in
                      self.wrt else p for p in guard) + tuple(
            analysis.Number(p) for p in self.func.params
            if p not in guarded and p in read) + analysis.global_vectors(
                self.func)
        scalars = analysis.known_scalars(self.func, guard, partial_phis=True)
        for stmt in ssa.walk(self.func.body):
            if not isinstance(stmt, ssa.Assign):
                continue
            if stmt.fn in identities and stmt.target in self.active and \
                    not all(analysis.is_scalar(o, scalars)
                            for o in stmt.operands()):
                raise self.not_compilable(stmt, (
                    "a value s2sad cannot show to be a number where the "
                    "code is generated (read from a module-level array, an "
                    "object's attribute or a closure's cell: pass it as an "
                    f"argument), which this line's {describe(stmt)} reads"))
        return guard

    def refuse_introspection(self):
        """Refuse Python's introspection in a kernel (`type(x) is float`,
        `isinstance`, `hasattr`), at its line."""
        for stmt in ssa.walk(self.func.body):
            if isinstance(stmt, ssa.Assign) and stmt.fn in _INTROSPECTION:
                raise self.not_compilable(stmt, (
                    f"Python's introspection ({describe(stmt)}), which "
                    "compiled code answers otherwise (a float is not of "
                    "type float there)"))

    def derivative_operands(self):
        """The names the derivative's statements read (the operands of the
        statements of differentiated values), and what those copy: a
        loop-carried value's first value."""
        used = {o.name for s in ssa.walk(self.func.body)
                if isinstance(s, ssa.Assign) and s.target in self.active
                for o in s.operands() if isinstance(o, ssa.Var)}
        copies = collections.defaultdict(list)
        for stmt in ssa.walk(self.func.body):
            if isinstance(stmt, ssa.Assign) and stmt.fn is ssa.identity:
                copies[stmt.target] += stmt.args
            for phi in getattr(stmt, "phis", ()):
                copies[phi.target] += [phi.left, phi.right]
        todo = list(used)
        while todo:
            for o in copies.get(todo.pop(), ()):
                if isinstance(o, ssa.Var) and o.name not in used:
                    used.add(o.name)
                    todo.append(o.name)
        return used

    def scalar_guard(self, generated, identities=()):
        """Parameters to test for `float` in a scalar variant, or None
        (`generated`: the general version, None when it makes at least a
        run-time check; `identities`: helpers of generated code it may
        call on numbers, see `analysis.ON_NUMBERS`)."""
        complex_values = analysis.uses_complex(self.func, True) if \
            identities else self.complex  # (a kernel's inputs are real)
        # (a compiled kernel's signature has no defaults)
        simple = self.func.plain if identities else self.func.positional
        if complex_values or not simple or generated is not None \
                and (not generated.runtime_checks or self.callees) or \
                not analysis.is_elementwise_program(
                self.func, self.active, self.returned_tuples(), identities):
            return None
        used = self.derivative_operands()
        wrt = tuple(p for p in self.func.params if p in self.wrt)
        # (a compiled kernel takes what a `for` iterates as it is: a list
        # or tuple of numbers compiles)
        # (in Python, data of ints too, counts: `Reals`)
        vectors = tuple((analysis.Vector if identities else analysis.Reals)(
            p) for p in self.func.params if p not in wrt and p not in used and
            analysis.indexed_only(self.func, p, not identities))
        # (the parameters not differentiated that the derivative reads, or
        # what it reads is computed from, `h = T / n`: ints or floats; else
        # floats, those it reads)
        reals = analysis.real_numbers(self.func, [
            p for p in self.func.params if p not in wrt and
            p not in vectors], used, wrt + vectors)
        floats = wrt + tuple(p for p in self.func.params if p in used and
                             p not in wrt and p not in reals)
        # (a threshold `if t > t_stop:` is then a test on Python values,
        # computed again in the backward sweep, not taped as a bool)
        # (and, in Python, the module-level lists or arrays of numbers read
        # at int indices, `L[i]`: a kernel takes arrays as arguments)
        return floats + reals + vectors + tuple(
            analysis.Number(p) for p in self.func.params
            if p not in floats and p not in vectors and p not in reals and
            analysis.deciding_only(self.func, p)) + (
            () if identities else analysis.global_vectors(self.func, True))

    def guard(self, tangents=()):
        """`if x.__class__ is not float ...: return grad_f_arrays(x, ...)`
        (for a variant on arrays: `x.__class__ is not np.ndarray or
        x.dtype.kind != 'f'`); a jvp's `tangents`, passed on after the
        parameters, are floats too."""
        def is_not(p, cls):
            return gast.Compare(gast.Attribute(load(p), "__class__",
                                               gast.Load()), [gast.IsNot()],
                                [cls])

        def test(p, arrays, numpy_kinds=False):
            if isinstance(p, analysis.Real) and not numpy_kinds:
                return gast.BoolOp(gast.And(), [
                    is_not(p, self.builtin(c)) for c in ("float", "int")])
            if isinstance(p, (analysis.Vector, analysis.Number)):
                kind = "is_real_vector" if isinstance(p, analysis.Reals) \
                    else "is_vector" if isinstance(p, analysis.Vector) else \
                    "is_real" if isinstance(p, analysis.Real) else "is_number"
                return gast.UnaryOp(gast.Not(), self.runtime_call(
                    kind, [load(p.name)]))
            if not arrays:
                return is_not(p, self.builtin("float"))
            numpy = load(self.import_name("np", np))
            return gast.BoolOp(gast.Or(), [
                is_not(p, gast.Attribute(numpy, "ndarray", gast.Load())),
                gast.Compare(gast.Attribute(gast.Attribute(
                    load(p), "dtype", gast.Load()), "kind", gast.Load()),
                    [gast.NotEq()], [gast.Constant("f", None)])])
        def any_of(tests):
            return tests[0] if len(tests) == 1 else gast.BoolOp(gast.Or(),
                                                                tests)
        checked = tuple(self.assume_scalar) + tuple(tangents)
        if self.kernel_arrays:  # (see `kernel_guard`)
            params = self.func.params + list(tangents)
            wrt = set(self.wrt) | set(tangents)
            not_kinds = gast.UnaryOp(gast.Not(), self.runtime_call(
                "kernel_arguments", [gast.Tuple([
                    load(p) for p in params if p in wrt], gast.Load()),
                    gast.Tuple([load(p) for p in params if p not in wrt],
                               gast.Load())]))
        else:
            not_kinds = any_of([test(p, False) for p in checked] + [
                test(p, True) for p in self.assume_arrays])
        self.namer.reserve(self.fallback)
        call = gast.Call(load(self.fallback),
                         [load(p) for p in self.func.params + list(tangents)],
                         [])
        if not self.numpy_floats:
            return [gast.If(not_kinds, [gast.Return(call)], [])]
        # NumPy float64s are floats whose arithmetic is the same but for
        # errors (inf, nan where Python raises; the code below computes
        # what the function does, on what it is given) and the type of
        # results: the derivatives are made float64s again at the end
        floats = [p for p in checked if type(p) is str]
        not_numpy_kinds = any_of([gast.UnaryOp(gast.Not(), self.runtime_call(
            "numpy_floats", [gast.Tuple([load(p) for p in floats],
                                        gast.Load())]))] + [
            test(p, False, True) for p in checked if type(p) is not str] + [
            test(p, True) for p in self.assume_arrays])
        return [
            ssa.assign(self.numpy_floats, gast.Constant(False, None)),
            gast.If(not_kinds, [
                gast.If(not_numpy_kinds, [gast.Return(call)], []),
                ssa.assign(self.numpy_floats, gast.Constant(True, None))],
                [])]

    def kernel_call(self, returned, arrays, tangents=()):
        """The body of the Python function around a compiled kernel: the
        variant's guard, then `returned = f_numba(params..., tangents...,
        arrays...)` (`returned`, of the names `entry_names` gives)."""
        call = gast.Call(load(self.kernel), [
            load(p) for p in self.func.params + list(tangents) + list(
                arrays)], [])
        return self.guard(tangents) + [
            gast.Assign([stored(returned)], call, None)]

    def entry_names(self, bases, tangents=()):
        """Names for what the function around a kernel receives from it
        (`value`, `x_bar`): the bases, or fresh names where its parameters
        (and `tangents`), imports or the functions it calls have them."""
        taken = set(self.func.all_params) | set(self.imports) | set(
            tangents) | {self.kernel, self.fallback, self.numpy_floats}
        return [load(base if base not in taken else self.namer.fresh(base))
                for base in bases]

    def kernel_form(self, stmt):
        """The value of a primal statement as a kernel computes it where
        Numba's own would differ from Python's, or None:
        `runtime.range_item(r, k)` and `runtime.backwards(r)` (Numba's
        ranges have no items or slices: a `for` with a `break`,
        `reversed(range(n))`), `range(runtime.as_index(n))` (Numba's range
        takes a float), `runtime.python_mul(a, b)` (an int product may need
        more than 64 bits), `a if c else b` for `np.where(c, a, b)` of
        numbers (Numba's is an array)."""
        if stmt.spreads() or stmt.kwargs:
            return None
        args = [ssa.render_operand(a) for a in stmt.args]
        if stmt.fn is operator.getitem and self.is_range(stmt.args[0]):
            index = stmt.args[1]
            if isinstance(index, ssa.Const) and \
                    index.value == slice(None, None, -1):
                return self.runtime_call("backwards", args[:1])
            return self.runtime_call("range_item", args)
        if stmt.fn is range:
            return gast.Call(self.builtin("range"), [
                node if isinstance(a, ssa.Const) and type(a.value) is int
                else self.runtime_call("as_index", [node])
                for a, node in zip(stmt.args, args)], [])
        if stmt.fn in _WIDENING and stmt.target not in self.float_names():
            return self.runtime_call(_WIDENING[stmt.fn], args)
        if stmt.fn is np.where and len(args) == 3 and all(
                analysis.is_scalar(a, self.scalars) for a in stmt.args):
            return gast.IfExp(*args)  # (as Python's numbers would)
        return None

    def is_range(self, operand):
        """Is `operand` a range: `range(...)`, or a range's slice
        (`reversed(range(n))` is `range(n)[::-1]`)?"""
        made = self.definitions.get(getattr(operand, "name", None))
        if made is None or made.spreads():
            return False
        if made.fn is range:
            return True
        if made.fn is runtime.iterable:  # (a `for` with a `break`'s)
            return self.is_range(made.args[0])
        return made.fn is operator.getitem and self.is_range(made.args[0]) \
            and isinstance(made.args[1], ssa.Const) and isinstance(
                made.args[1].value, slice)

    def function_def(self, fn_name, params, body, summary, note=""):
        """A generated `def`; `params` is a list of names or, for functions
        taking the user's arguments, a `gast.arguments` (`ssa.signature`)."""
        where = f"{self.source.filename}, line {self.source.first_line}"
        origin = errors.user_location(self.source.filename,
                                      self.source.first_line)
        if origin[0] != self.source.filename:  # (of generated code)
            where = (f"{self.func.name}, which s2sad generated from "
                     f"{origin[0]}, line {origin[1]}")
        doc = (f"{summary}\n\n    {note}Generated by s2sad from {where}; "
               "do not edit.\n    ")
        for node in trees.walk(body):
            if type(node) is gast.Name and hasattr(node, "s2sad_builtin"):
                node.id = self.import_name(node.id, node.s2sad_builtin)
                del node.s2sad_builtin
        if isinstance(params, list):
            params = gast.arguments(
                [gast.Name(p, gast.Param(), None, None) for p in params], [],
                None, [], [], None, [])
        return gast.FunctionDef(
            name=fn_name, args=params,
            body=[gast.Expr(gast.Constant(doc, None))] + body,
            decorator_list=[], returns=None, type_comment=None, type_params=[])


_OUTPUT = object()


class CallSite:
    """A call into user code whose value is differentiated.

    Attributes:
        stmt: the SSA statement.
        args: the call's positional operands (receiver and callee apart).
        slots: the differentiated arguments: positions and keywords.
        operands: the operand in each slot.
        binding: a `calls.Binding` when the callee is resolved now (static),
            else None: the generated code dispatches at run time.
        forward / backward: the names generated code calls, when static.
    """

    def __init__(self, stmt, receiver, function, args, active):
        self.stmt, self.receiver, self.function = stmt, receiver, function
        self.args = list(args)
        slots = [(i, getattr(a, "operand", a)) for i, a in enumerate(self.args)]
        slots += [(k, v) for k, v in stmt.kwargs if k is not None]
        slots = [(slot, a) for slot, a in slots
                 if isinstance(a, ssa.Var) and a.name in active]
        if isinstance(function, ssa.Var) and function.name in active:
            slots.insert(0, (calls.FUNCTION, function))  # a closure
        self.slots = [slot for slot, _ in slots]
        self.operands = [a for _, a in slots]
        self.binding = None
        self.leading = []
        self.forward = self.backward = self.tangent_names = None

    def function_expr(self):
        """The callee, as generated code reads it at run time."""
        if self.receiver is not None:
            return gast.Attribute(ssa.render_operand(self.receiver),
                                  self.stmt.fn.name, gast.Load())
        if self.function is not None:
            return ssa.render_operand(self.function)
        return trees.clone(self.stmt.callee)


# the notes on a read of an array's value (see `read_test`)
_READS_TEST = "the test's truth (a lazy array, as Dask's, computes here)"
_READS_VALUE = "reads a value (a lazy array, as Dask's, computes here)"
_READS_VALUES = {bool, float, int, complex, operator.not_,
                 ssa.method("item"), ssa.method("tolist")}


# the reductions an array has as methods too (`a.max(axis=1)`), whose
# axis Numba's do not take
_METHODS = {"sum", "mean", "max", "min", "prod", "var", "std"}
# NumPy functions that generated code calls in forms Numba lacks (a tuple
# of axes, reductions along an axis): a kernel calls runtime.numpy_<name>
# instead
_NUMBA_LACKS = _METHODS | {"expand_dims"}

# what `Transform.kernel_guard` gives for a kernel on numbers and float64
# arrays of any shapes
ARRAYS = "arrays"

# Python's introspection, which compiled code answers otherwise
_INTROSPECTION = {type, isinstance, issubclass, hasattr, callable, id, dir,
                  vars}
# what reads an argument as a sequence (or an index into one), or as the
# count of a range
_AS_SEQUENCE = {runtime.iterable, len, range, getattr, operator.getitem}
# what a kernel's refusal calls the operations on more than numbers
_KERNEL_REFUSALS = {
    ssa.make_list: "a list", ssa.make_tuple: "a tuple", ssa.make_dict:
    "a dict", operator.getitem: "an item of an array or sequence",
    runtime.iterable: "a loop over an array or sequence",
    runtime.setitem: "an assignment into an array or list",
    runtime.setitem_in_place: "an assignment into an array or list",
    runtime.appended: "`.append()`", runtime.appended_owned: "`.append()`",
    runtime.appended_in_place: "`.append()`"}
# what a kernel on arrays has no derivative of (lists and dicts, whose
# adjoints Python holds in objects)
_NOT_IN_ARRAY_KERNELS = {ssa.make_list, ssa.make_dict, runtime.appended,
                         runtime.appended_owned, runtime.appended_in_place}
# the products of ints a kernel checks for Python's ints past 64 bits
_WIDENING = {operator.mul: "python_mul", operator.imul: "python_mul",
             runtime.imul: "python_mul", operator.lshift: "python_lshift",
             operator.ilshift: "python_lshift",
             runtime.ilshift: "python_lshift"}


def stored(node):
    """An assignment target of a tuple of names (or a name) read as it."""
    if isinstance(node, gast.Tuple):
        return gast.Tuple([stored(e) for e in node.elts], gast.Store())
    return gast.Name(node.id, gast.Store(), None, None)


def kernel_forms(generated, resolve):
    """Write a kernel (`generated`, optimised) as Numba computes what Python
    does: each `a ** b` as `runtime.python_pow(a, b)`, which raises where
    Python would raise or make a complex number or a float of ints (see
    s2sad.kernel_runtime); each call of a NumPy function Numba has in
    another form (`_NUMBA_LACKS`) as s2sad's (`resolve`: a free name of
    the code -> its value), and so each reduction of an array written as
    its method (`a.max(axis=1)`); in a kernel on arrays, each `x[i]` of a
    name `i` (which may hold a mask or an array of ints) as
    `runtime.subscript(x, i)`, and each sum of adjoints (which may be of
    tuples) as `runtime.add_adjoints` (Numba's `+` joins tuples); and
    `runtime.getitem_adjoints(..., owned=o, replaced=r)` as
    `runtime.adjoints_into(..., o, r, ...)` (Numba passes no keywords
    after star arguments)."""
    name = generated.runtime_name
    generated.imports.setdefault(name, runtime)
    arrays = not generated.floats
    adjoints = generated.adjoints if arrays else set()

    class Forms(gast.NodeTransformer):
        def visit_Subscript(self, node):
            self.generic_visit(node)
            if not arrays or not isinstance(node.ctx, gast.Load) or \
                    not isinstance(node.slice, gast.Name):
                return node
            return gast.Call(gast.Attribute(load(name), "subscript",
                                            gast.Load()),
                             [node.value, node.slice], [])

        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, gast.Add) and any(
                    isinstance(side, gast.Name) and side.id in adjoints
                    for side in (node.left, node.right)):
                # a sum of adjoints, which may be of tuples: item by item
                # (Numba's `+` joins tuples)
                return gast.Call(gast.Attribute(load(name), "add_adjoints",
                                                gast.Load()),
                                 [node.left, node.right], [])
            if not isinstance(node.op, gast.Pow):
                return node
            return gast.Call(gast.Attribute(load(name), "python_pow",
                                            gast.Load()),
                             [node.left, node.right], [])

        def visit_Call(self, node):
            self.generic_visit(node)
            function = node.func
            if isinstance(function, gast.Attribute) and isinstance(
                    function.value, gast.Name) and function.value.id == \
                    name and function.attr == "getitem_adjoints":
                given = {k.arg: k.value for k in node.keywords}
                node.func.attr = "adjoints_into"
                node.args[2:2] = [given.get(k, gast.Constant(False, None))
                                  for k in ("owned", "replaced")]
                node.keywords = []
            if isinstance(function, gast.Attribute) and \
                    function.attr in _NUMBA_LACKS:
                module = isinstance(function.value, gast.Name) and \
                    resolve(function.value.id) is np
                if module or arrays and function.attr in _METHODS:
                    # np.max(a, axis=1), and the method a.max(axis=1)
                    node.func = gast.Attribute(load(name),
                                               f"numpy_{function.attr}",
                                               gast.Load())
                    if not module:
                        node.args.insert(0, function.value)
            return node
    Forms().visit(generated.tree)


def partials(tmpl, filled):
    """(input parameter, partial derivative) pairs of a filled elementwise
    rule, without the inputs it declares non-differentiable (None)."""
    returned = filled.returned
    exprs = returned.elts if isinstance(returned, gast.Tuple) else [returned]
    return [(param, expr) for param, expr in zip(tmpl.params[1:], exprs)
            if not (isinstance(expr, gast.Constant) and expr.value is None)]


def times(g, partial):
    """`g * partial`, a derivative times a rule's partial; `g / y` for a
    partial `1 / y` (see `ieee.over`)."""
    divided = ieee.over(g, partial)
    return gast.BinOp(g, gast.Mult(), partial) if divided is None else divided


def load(identifier):
    """A gast expression reading `identifier`, or the dotted name
    `identifier` names (a global's attribute, `ARM.lengths`)."""
    first, *attributes = identifier.split(".")
    node = gast.Name(first, gast.Load(), None, None)
    for attribute in attributes:
        node = gast.Attribute(node, attribute, gast.Load())
    return node


def describe(stmt):
    """How an error message names the operation of `stmt`."""
    if stmt.callee is not None:
        return f"`{ssa._text(stmt.callee)}`"
    if stmt.fn is getattr:
        return f"attribute `.{stmt.args[1].value}`"
    if isinstance(stmt.fn, ssa.Method):
        return f"`.{stmt.fn.name}()`"
    if stmt.fn is ssa.call:
        node = getattr(stmt.node, "value", stmt.node)  # (of an Expr)
        func = getattr(node, "func", None)  # (as the user wrote it)
        if func is not None and isinstance(stmt.args[0], ssa.Var) and \
                stmt.args[0].name.startswith("_"):
            return f"`{ssa._text(func)}(...)`"
        return f"`{ssa._text(ssa.render_operand(stmt.args[0]))}(...)`"
    return f"{getattr(stmt.fn, '__name__', repr(stmt.fn))}"


def defined_in(stmts):
    """Every SSA name defined in `stmts`: assignments, phis, loop targets."""
    names = set()
    for s in ssa.walk(stmts):
        if isinstance(s, ssa.Assign) and s.target is not None:
            names.add(s.target)
        elif isinstance(s, ssa.For):
            names.add(s.target)
        names |= {p.target for p in getattr(s, "phis", ())}
    return names


def _globals_changed(fn, seen):
    """The module globals `fn`, a function of the user's, or a function of
    its module it calls, assigns (`global SCALE`) or changes in place
    (`SCALES[0] = v`, `.append`: `desugar.changes`), as its source shows."""
    fn = getattr(fn, "__func__", fn)
    if not inspect.isfunction(fn) or fn in seen or len(seen) > 20:
        return set()
    seen.add(fn)
    try:
        tree = gast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return set()
    if not isinstance(tree, gast.FunctionDef):
        return set()  # (a lambda: no statements, its line's other code)
    declared = {name for node in gast.walk(tree)
                if isinstance(node, gast.Global) for name in node.names}
    local = set(desugar.assignments(tree)) - declared
    changed = declared | {name for name, _ in desugar.changes(tree)
                          if name not in local}
    for node in gast.walk(tree):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            callee = fn.__globals__.get(node.func.id)
            if inspect.isfunction(callee) and callee.__globals__ is \
                    fn.__globals__:
                changed |= _globals_changed(callee, seen)
    return {name for name in changed if name in fn.__globals__}
