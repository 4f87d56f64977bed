"""Reverse mode: from the SSA form to a Python function computing the gradient.

The generated function runs the primal statements forward (the forward sweep),
seeds the output's adjoint with 1, then walks the SSA statements backwards and
instantiates each one's adjoint template (the reverse sweep). Adjoints exist
only for active names (`analysis.active`); contributions to one name are
accumulated in program order; branches are replayed with the same test, so
every primal value an adjoint reads is still defined.
"""

import builtins
import collections
import functools
import operator

import gast
import numpy as np

from s2sad import (
    analysis, checkpoints, codegen, errors, runtime, ssa, trees)
from s2sad.rules import registry
from s2sad.transform import (ARRAYS, Generated, Later, Transform, defined_in,
                             load, partials, times)

# the comment before a gradient hook's code in a backward sweep (code of
# the user's, which need not be linear in the adjoint it reads: see
# `calls.batched_backward`)
HOOK_COMMENT = "gradient hook, line"


def transform_vjp(func, argnums):
    """Generate a vector-Jacobian product in two functions.

    Returns:
        `[vjp_<name>(params) -> (value, residuals),
          vjp_bwd_<name>(*residuals, value_bar) -> cotangents of argnums]`:
        the forward sweep runs once; the backward one can run for many
        cotangents (it works on its own copy of the tape).
    """
    return _Reverse(func, argnums, False, False, split=True).generate_split()


def transform(func, argnums, has_aux=False, with_value=False, wanted=None,
              backend="python"):
    """Generate the gradient of an SSA function.

    Args:
        func: an `ssa.Function`.
        argnums: parameter position (int: return one gradient) or tuple of
            positions (return a tuple of gradients).
        has_aux: the function returns `(output, aux)`; aux is passed through.
        with_value: return `(value, gradient)` instead of the gradient.
        wanted: the indices of the functions needed now (default: all);
            another may be given as `Later`, its name, where that is
            known without generating it.
        backend: "numba": the float variant's code after its guard is a
            kernel of its own, `<name>_numba`, for Numba to compile (see
            `s2sad.kernels`): [entry, kernel, general version]; a program
            that has no float variant is refused.

    Returns:
        A list of `Generated` functions, the entry point first. For a program
        that is elementwise on its differentiated path, the entry point is
        specialised to Python floats (no unbroadcasting, no shape check) and
        calls the general version, `<name>_arrays`, for any other input.
    """
    general = _Reverse(func, argnums, has_aux, with_value)
    if backend == "numba":
        names = [general.function_name(), general.function_name(True)]
        guard = general.kernel_guard(arrays=True)
        if guard is ARRAYS:  # (of numbers and float64 arrays, any shapes)
            compiled = _Reverse(func, argnums, has_aux, with_value,
                                fallback=names[1], kernel=f"{names[0]}_numba",
                                kernel_arrays=True).generate()
        else:
            compiled = _Reverse(func, argnums, has_aux, with_value,
                                assume_scalar=guard, fallback=names[1],
                                kernel=f"{names[0]}_numba").generate()
        generated = general.generate()
        general.rename_as_arrays(generated.tree)
        return compiled + [generated]
    guard = general.scalar_guard_ahead()  # (without the general version)
    generated = None
    if not guard:
        generated = general.generate()
        guard = general.scalar_guard(generated)
    if guard:
        names = [general.function_name(), general.function_name(True)]
        scalar = _Reverse(func, argnums, has_aux, with_value,
                          assume_scalar=guard, fallback=names[1]).generate() \
            if wanted is None or 0 in wanted else Later(names[0])
        if generated is None:
            if wanted is not None and 1 not in wanted:
                return [scalar, Later(names[1])]
            generated = general.generate()
        general.rename_as_arrays(generated.tree)
        return [scalar, generated]
    arrays = general.array_guard(generated)
    helpers = generated.runtime_name  # (what the generated code calls it)
    if not arrays or general.checks_guard_may_answer(
            generated, arrays) < _WORTH_A_VARIANT:
        return [generated]  # (not generated: it could save too little)
    special = _Reverse(func, argnums, has_aux, with_value,
                       assume_arrays=arrays,
                       fallback=general.function_name(arrays=True)).generate()
    # (what its guard calls, once a call, is not counted: the checks it
    # saves are what it is for)
    if _runtime_calls(generated.tree.body, helpers) - _runtime_calls(
            _unguarded(special.tree.body, general.function_name(arrays=True)),
            special.runtime_name) < _WORTH_A_VARIANT:
        return [generated]  # (a second function for little or nothing)
    general.rename_as_arrays(generated.tree)
    return [special, generated]


# what a variant on arrays must save to be kept, in runtime calls (one in a
# loop counts as 4, in a loop in a loop as 16, ...): a call per iteration,
# or 4 per call
_WORTH_A_VARIANT = 4


def _unguarded(body, fallback):
    """A variant's statements but its guard (`if not ...: return
    <fallback>(...)`)."""
    def is_guard(stmt):
        returned = stmt.body[0].value if isinstance(stmt, gast.If) and \
            len(stmt.body) == 1 and isinstance(stmt.body[0], gast.Return) \
            else None
        return isinstance(returned, gast.Call) and isinstance(
            returned.func, gast.Name) and returned.func.id == fallback
    return [stmt for stmt in body if not is_guard(stmt)]


def _copy_of_restored(stmt, defs, need, own):
    """Is `stmt` a copy `z = t` (through copies `t = s`) of a value the
    reverse sweep restores anyway (in `need`) or that is not one of the
    iteration's `own` values? Bound again after the tape's pop, it costs
    no tape entry: the object is taped once, not once per name. (A copy of
    what is read only for its shape is taped as that shape.)"""
    if stmt.fn is not ssa.identity or stmt.spreads():
        return False
    source = stmt.args[0]
    while isinstance(source, ssa.Var) and source.name not in need and \
            getattr(defs.get(source.name), "fn", None) is ssa.identity:
        source = defs[source.name].args[0]
    return not isinstance(source, ssa.Var) or source.name in need or \
        source.name not in own


def _plan_cost(plan):
    """The time one iteration of a plan of `restore` costs, in arithmetic
    operations: a tape entry (pushed, popped, and a number kept alive) as
    three, a call (`math.sin`) as two."""
    need, recompute, _ = plan
    return 3 * len(need) + sum(
        1 if s.fn in _ARITHMETIC or s.fn is ssa.identity else 2
        for s in recompute)


def _runtime_calls(stmts, runtime_name, helpers=None, weight=1,
                   counts=lambda call: True):
    """How many calls of s2sad's runtime helpers (the module generated code
    calls `runtime_name`; of those named in `helpers`, if given; those for
    which `counts(call)`) the generated statements make, those in loops
    weighted (see _WORTH_A_VARIANT): the checks and dispatches a variant
    may save."""
    found = 0
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While)):
            found += _runtime_calls(stmt.body, runtime_name, helpers,
                                    4 * weight, counts)
            parts = [stmt.iter if isinstance(stmt, gast.For) else stmt.test]
        elif isinstance(stmt, gast.If):
            found += _runtime_calls(stmt.body + stmt.orelse, runtime_name,
                                    helpers, weight, counts)
            parts = [stmt.test]
        else:
            parts = [stmt]
        found += weight * sum(
            1 for node in trees.walk(parts)
            if isinstance(node, gast.Call)
            and isinstance(node.func, gast.Attribute)
            and isinstance(node.func.value, gast.Name)
            and node.func.value.id == runtime_name
            and (helpers is None or node.func.attr in helpers)
            and counts(node))
    return found


# the runtime's checks of a value's kind, which knowing the arguments are
# float arrays may answer (a variant is made only where they are enough)
_SHAPE_CHECKS = {"unbroadcast", "unbroadcast_to", "shape", "like",
                 "through_cast", "keep_last"}


# what `read_again` takes a loop to do that changes nothing: operations
# with rules (but the writes in place), and these
_WRITES_IN_PLACE = {runtime.setitem_in_place, runtime.setitem_owned,
                    runtime.restore, runtime.appended_owned,
                    runtime.appended_in_place}
_READS = {ssa.identity, operator.getitem, range, len, ssa.make_tuple}

_CONTAINERS = {ssa.make_tuple: "tuple", ssa.make_list: "list",
               ssa.make_dict: "dict"}



def _signed_times(g, partial, target):
    """`g * partial`, or `-(g * p)` for a partial `-p` whose sign is on the
    rule's output z (`-z / y`, `-(z * z)`): z has the whole shape of the
    operation, and the sum that unbroadcasts the product, or the adjoint
    it is added to, may take the sign instead (see `optimize`); the same
    bits either way."""
    unsigned = _unsigned(partial, target)
    if unsigned is None:
        return times(g, partial)
    return gast.UnaryOp(gast.USub(), times(g, unsigned))


def _unsigned(partial, target):
    """`p` for a `partial` `-p` whose sign is on the output `target`:
    `-(z ...)`, `-z / y`, `-z * y`, `runtime.divide(-z, y)` and the
    conditional `-z / y if y else np.divide(-z, y)`; else None."""
    def output(node):
        return isinstance(node, gast.Name) and node.id == target

    def negated_output(node):
        return isinstance(node, gast.UnaryOp) and isinstance(
            node.op, gast.USub) and output(node.operand)
    if isinstance(partial, gast.UnaryOp) and isinstance(
            partial.op, gast.USub) and any(
                output(n) for n in gast.walk(partial.operand)):
        return partial.operand
    if isinstance(partial, gast.BinOp) and isinstance(
            partial.op, (gast.Div, gast.Mult)) and negated_output(
                partial.left):
        return gast.BinOp(partial.left.operand, partial.op, partial.right)
    if isinstance(partial, gast.Call) and isinstance(
            partial.func, gast.Attribute) and partial.func.attr == "divide" \
            and len(partial.args) == 2 and not partial.keywords and \
            negated_output(partial.args[0]):
        return gast.Call(partial.func, [partial.args[0].operand,
                                        partial.args[1]], [])
    if isinstance(partial, gast.IfExp):
        body, orelse = (_unsigned(partial.body, target),
                        _unsigned(partial.orelse, target))
        if body is not None and orelse is not None:
            return gast.IfExp(partial.test, body, orelse)
    return None


def _reciprocal(rule, operands, param, target):
    """`-(z * z)`, the derivative of z = 1 / y in y, written with z alone
    where the division's rule has it as `-z / y`: the backward sweep then
    keeps z, not y too (a logistic function `1 / (1 + exp(-x))` keeps its
    value and the exponential). The same as `-z / y` to rounding, at
    y = 0, inf and nan too; None for any other partial."""
    x = operands.get("x")
    if rule is not registry.lookup(operator.truediv) or param != "y" or \
            not isinstance(x, ssa.Const) or type(x.value) not in (
                int, float) or x.value != 1:
        return None
    z = load(target)
    return gast.UnaryOp(gast.USub(), gast.BinOp(z, gast.Mult(), load(target)))

class _Reverse(Transform):
    def __init__(self, func, argnums, has_aux, with_value, assume_scalar=(),
                 fallback=None, split=False, assume_arrays=(), kernel=None,
                 kernel_arrays=False):
        super().__init__(func, argnums)
        self.kernel = kernel
        self.kernel_arrays = kernel_arrays
        if kernel:  # (its inputs are real: see `scalar_guard`)
            self.complex = analysis.uses_complex(func, real_inputs=True)
        self.assume_arrays = assume_arrays
        self.split = split
        self.arrays = False
        self.fallback = fallback
        self.runtime_checks = 0
        self.has_aux = has_aux
        self.with_value = with_value
        self.output, self.aux = self.split_output()
        if not split:
            self.refuse_container_output()
        self.active = analysis.active(func, self.wrt, [self.output])
        if kernel:
            self.on_reals()
        for stmt in ssa.walk(func.body):  # (the sweep skips these)
            if isinstance(stmt, ssa.Assign) and stmt.target not in \
                    self.active:
                self.check_effect(stmt)
        self.check_globals_kept()
        if not kernel:
            self.check_receivers()
        self.scalars = analysis.known_scalars(func, tuple(assume_scalar) + tuple(
            p for p in assume_arrays if isinstance(
                p, (analysis.Vector, analysis.Number))))
        self.assume_scalar = assume_scalar
        # in a Python-float variant, the flag it sets when given NumPy
        # float64s (see `guard`), for the differentiated ones that are
        # floats; else None
        self.numpy_floats = self.namer.fresh("_numpy_floats") if any(
            not isinstance(p, analysis.Vector) and p in self.wrt
            for p in assume_scalar) else None
        self._totals = None  # (see `totals`)
        self._unchanging = {}  # id(loop) -> does it change no array or list?
        self.bars = {}  # SSA name -> its adjoint's name
        # SSA names whose adjoint is assigned by now
        self.defined = _Journal()
        self.tape = None  # the name of the tape list, once a loop needs one
        self.tapes = {}  # (id(region), place) -> the tape its pushes go to
        self.pushes = {}  # (id(region), place) -> names pushed there
        self.trips = {}  # id(while loop) -> its trip counter's name
        self.call_forms = {}  # id(call) -> (CallSite, residuals' name)
        self.containers = analysis.maybe_containers(func)
        self.hooks = collections.defaultdict(list)  # name -> its GradOfs
        for stmt in ssa.walk(func.body):
            if isinstance(stmt, ssa.GradOf):
                self.hooks[stmt.var].append(stmt)
        self.loop_depth = 0
        # loop invariants the reverse sweep reads as their loops left them
        self.invariants = set()
        self.loops = []  # the loops being reversed, outermost first
        self.read_only = None  # see `read_only_values`
        # id(checkpointed loop) -> its names (see `reverse_checkpointed`)
        self.checkpoints = {}
        self.check_checkpointed()
        self.python = analysis.python_values(func, assume_scalar)

    # -- names --

    def bar(self, name):
        if name not in self.bars:
            self.bars[name] = self.namer.fresh(f"{name}_bar")
        return self.bars[name]

    # -- structure --

    def split_output(self):
        ret = analysis.returned(self.func.body)[-1]
        if not self.has_aux:
            return ret, None
        pair = next((s for s in ssa.walk(self.func.body)
                     if isinstance(s, ssa.Assign) and isinstance(ret, ssa.Var)
                     and s.target == ret.name and s.fn is ssa.make_tuple
                     and len(s.args) == 2), None)
        if pair is None:
            raise self.source.error(
                errors.UnsupportedSyntaxError, self.func.source.tree,
                "has_aux=True needs the function to end with "
                "`return output, aux`")
        return pair.args

    def refuse_container_output(self):
        """`grad` seeds its output with 1: refuse, as it is generated, an
        output the function builds as a tuple, list or dict (`return h,
        c`), at its return. (Any other output is checked when the
        gradient runs: `runtime.seed`, `runtime.check_scalar`.)"""
        out = self.output
        made = next((s for s in ssa.walk(self.func.body)
                     if isinstance(s, ssa.Assign) and isinstance(out, ssa.Var)
                     and s.target == out.name and s.fn in _CONTAINERS), None)
        if made is None:
            return
        kind = _CONTAINERS[made.fn]
        returns = [s.node for s in ssa.walk(self.func.body)
                   if isinstance(s, ssa.Return)]
        node = made.node or (returns[-1] if returns else self.source.tree)
        raise self.source.error(
            errors.GradientShapeError, node,
            f"grad of {self.func.name} requires a scalar output, got a "
            f"{kind}; use s2sad.vjp or s2sad.jacobian for non-scalar "
            "outputs, has_aux=True for `return output, aux`, or return "
            "one number")

    def sweeps(self):
        """(forward sweep, reverse sweep) as statement lists."""
        out = self.output
        sweep = []
        if isinstance(out, ssa.Var) and out.name in self.active:
            if self.split:
                self.bar(out.name)  # a parameter of the backward function
            else:
                # (a NumPy number may be of any dtype, complex or an int,
                # which the seed checks)
                scalar = analysis.is_scalar(out, self.scalars) and \
                    out.name not in self.totals()
                seed = gast.Constant(1.0, None)
                if not scalar and not self.assume_scalar:
                    # an output of one element is seeded with ones, as
                    # autograd does, here where it can be differentiated again
                    self.runtime_checks += 1
                    seed = self.runtime_call("seed", [
                        ssa.render_operand(out),
                        gast.Constant(self.output_where(), None)])
                elif not scalar or (self.assume_scalar and
                                    analysis.may_make_complex(self.func)):
                    # (-1.0) ** 0.5 is complex (in a kernel, checked when
                    # it runs again as Python: see s2sad.kernels)
                    sweep.append(self.check_scalar(ssa.render_operand(out)))
                sweep.append(ssa.assign(self.bar(out.name), seed))
            self.defined.add(out.name)
            sweep += self.reverse_block(self.func.body)
            sweep += self.run_hooks(self.func.all_params)
        elif not self.split:
            # an output that does not depend on the inputs: its gradient is
            # zeros if it is a number (as autograd gives), else refused
            self.runtime_checks += 1
            sweep.append(gast.Expr(self.runtime_call("check_scalar", [
                ssa.render_operand(out),
                gast.Constant(self.output_where(), None)])))
        body = [s for s in ssa.to_python(self.func.body, self.forward_extra,
                                         self.render_primal,
                                         self.checkpointed_forward,
                                         self.read_test)
                if not isinstance(s, gast.Return)]
        for tape in dict.fromkeys(self.tapes.values()):
            body.insert(0, ssa.assign(tape, gast.List([], gast.Load())))
        return body, sweep

    def sized_by_kept(self, forward, sweep):
        """A read of a value's shape alone at the sweep's top level
        (`runtime.reduced_size(v)`, `runtime.expand_reduced(g, v)`) reads
        instead a value of the same shape (an equal shape key) that the
        sweep reads whole at that point or later: v is then not kept for
        it. The derivative of `np.mean(np.logaddexp(0.0, t))` reads t,
        and so needs no logaddexp (which `optimize.defer_value` then
        computes only when the loss's dtype is in doubt)."""
        stored = set(trees.names(gast.Module(sweep, []), gast.Store))
        at_hand = [p for p in self.func.all_params if p not in stored] + [
            n for s in forward if isinstance(s, gast.Assign)
            for n in trees.names(s, gast.Store) if n not in stored]
        keys = collections.defaultdict(list)  # shape key -> names
        for name in at_hand:
            key = self.shape(ssa.Var(name))
            if key is not None and key != analysis.SCALAR_SHAPE:
                keys[key].append(name)
        last_read = {}  # name -> the last statement reading it whole
        shape_reads = []  # (statement's index, [(call, position)])
        for i, stmt in enumerate(sweep):
            shaped = [] if isinstance(stmt, (gast.For, gast.While, gast.If)) \
                else [(node, _READ_AS_SHAPE[node.func.attr])
                      for node in trees.walk(stmt)
                      if isinstance(node, gast.Call)
                      and isinstance(node.func, gast.Attribute)
                      and node.func.attr in _READ_AS_SHAPE
                      and len(node.args) > _READ_AS_SHAPE[node.func.attr]
                      and isinstance(node.args[_READ_AS_SHAPE[
                          node.func.attr]], gast.Name)]
            read = {id(node.args[position]) for node, position in shaped}
            for n in trees.walk(stmt):
                if isinstance(n, gast.Name) and isinstance(
                        n.ctx, gast.Load) and id(n) not in read:
                    last_read[n.id] = i
            if shaped:
                shape_reads.append((i, shaped))
        for i, shaped in shape_reads:
            for node, position in shaped:
                name = node.args[position].id
                if last_read.get(name, -1) >= i:
                    continue  # (kept anyway)
                other = next((n for n in keys.get(
                    self.shape(ssa.Var(name)), ())
                    if n != name and last_read.get(n, -1) >= i), None)
                if other is not None:
                    node.args[position] = load(other)

    def numpy_valued(self, stmts):
        """A test of an expression of the derivative statements `stmts`:
        may it be a NumPy float? Where a call of NumPy (or of the runtime's
        power and divide, which call it where Python raises: `0.0 ** -0.5`
        is np.float64(inf)) makes it, or a name `stmts` assign so."""
        numpy = self.known_name("np", np)
        helpers = self.known_name("runtime", runtime)
        found = set()

        def numpy_made(expr):
            for node in trees.walk(expr):
                func = getattr(node, "func", None)
                if isinstance(node, gast.Name) and node.id in found or \
                        isinstance(node, gast.Call) and isinstance(
                            func, gast.Attribute) and isinstance(
                            func.value, gast.Name) and (
                            func.value.id == numpy or func.value.id ==
                            helpers and func.attr in ("power", "divide")):
                    return True
            return False
        assignments = [node for stmt in stmts for node in trees.walk(stmt)
                       if isinstance(node, gast.Assign)]
        grown = True
        while grown:  # (a loop's statements may read what later ones make)
            grown = False
            for stmt in assignments:
                targets = set(trees.names(stmt, gast.Store)) - found
                if targets and numpy_made(stmt.value):
                    found |= targets
                    grown = True
        return numpy_made

    def derivative_names(self, sweep):
        """Names the sweep assigns that are not primal values it restores."""
        return {n for s in sweep for n in trees.names(s, gast.Store)} \
            - self.locals - set(self.trips.values())

    def generate_split(self):
        forward, sweep = self.sweeps()
        # A loop body's values are restored by the sweep itself (and may not
        # exist when the loop ran no iteration): everything else is passed.
        in_loops = set()
        for stmt in ssa.walk(self.func.body):
            if isinstance(stmt, (ssa.For, ssa.While)):
                inner = stmt.body + getattr(stmt, "test_body", [])
                in_loops |= defined_in(inner) | self.residuals_in(inner) | {
                    self.taken[id(s)] for s in ssa.walk(inner)
                    if id(s) in self.taken}
                if isinstance(stmt, ssa.For):
                    in_loops.add(stmt.target)  # the sweep's loop binds it
        in_loops -= self.invariants  # (as the loop left them: passed)
        primal = set(self.func.all_params) | self.locals | set(
            self.trips.values()) | ({self.tape} if self.tape else set())
        returned = gast.Return(gast.Tuple(
            [self.gradient_of(p) for p in self.wrt], gast.Load()))
        used = {n for s in sweep + [returned]
                for n in trees.names(s, gast.Load)}
        residuals = sorted((used & primal) - in_loops)
        # A value made in a branch exists only when its branch ran; the
        # backward sweep reads it only then, but it is passed either way.
        always = set(self.func.all_params) | {
            getattr(s, "target", None) for s in self.func.body} | {
            p.target for s in self.func.body for p in getattr(s, "phis", ())}
        always |= self.residuals_in(self.func.body, nested=False) | {
            self.tape} | {self.taken[id(s)] for s in self.func.body
                          if id(s) in self.taken}
        forward[:0] = [ssa.assign(r, gast.Constant(None, None))
                       for r in residuals if r not in always]
        value = ssa.render_operand(self.output)
        forward.append(gast.Return(gast.Tuple(
            [value, gast.Tuple([load(r) for r in residuals], gast.Load())],
            gast.Load())))
        name = self.name
        fwd = self.function_def(
            f"vjp_{name}", ssa.signature(self.func), forward,
            f"Forward sweep of {name} for a vector-Jacobian product: its "
            "value and what the backward sweep reads.")
        cotangent = self.bars.get(getattr(self.output, "name", None)) or \
            self.namer.fresh("value_bar")
        backward = []
        stacks = [self.tape] if self.tape else []
        stacks += [c.snapshots for c in self.checkpoints.values()]
        for stack in stacks:  # each call pops its own copy
            backward.append(ssa.assign(stack, gast.Call(
                self.builtin("list"), [load(stack)], [])))
        backward += sweep
        backward.append(returned)
        bwd = self.function_def(
            f"vjp_bwd_{name}", residuals + [cotangent], backward,
            f"Backward sweep of {name}: the cotangents of "
            f"{', '.join(self.wrt)} given the cotangent {cotangent} of its "
            "value.")
        taped = self.tape is not None
        return [Generated(fwd, self.imports, set(), taped=taped,
                          callees=self.callees),
                Generated(bwd, self.imports, self.derivative_names(sweep),
                          taped=taped)]

    def generate(self):
        out = self.output
        body, sweep = self.sweeps()
        # the backward sweep restores loop values from the tape: a value
        # returned with the gradient (the output's, the aux) is kept
        # before it runs
        restored = set(trees.names(gast.Module(sweep, []), gast.Store))
        kept = {}
        for operand in [out] * self.with_value + [self.aux] * self.has_aux:
            if isinstance(operand, ssa.Var) and operand.name in restored:
                kept[operand.name] = self.namer.fresh(f"{operand.name}_value")
                body.append(ssa.assign(kept[operand.name], load(operand.name)))
        seed_at = len(body)
        body += sweep
        grads = [self.gradient_of(p) for p in self.wrt]
        derivative_names = self.derivative_names(body[seed_at:])
        if self.assume_scalar:
            complex_values = self.may_be_complex()
            if complex_values:
                # a real input's derivative through complex values: the
                # real part (as the array code's `runtime.gradient`)
                grads = [gast.Attribute(g, "real", gast.Load())
                         for g in grads]
            # (a NumPy value, or a lazy Dask one, may come through an
            # argument the guard does not check to be a float)
            unchecked = self.unchecked_values_reach() and not self.kernel
            every = complex_values or analysis.may_make_ints(self.func) \
                or unchecked or analysis.may_make_numpy_floats(self.func) \
                or self.kernel
            numpy_made = self.numpy_valued(body[seed_at:])
            # floats in, a float out (not an int, nor an np.float64; but a
            # lazy Dask value stays one: `runtime.as_float`): each gradient
            # that may be another, only those
            converted = [
                self.runtime_call("as_float", [g]) if unchecked
                else gast.Call(self.builtin("float"), [g], [])
                if every or numpy_made(g)
                else g for g in grads]
        else:
            converted = None

        def value_of(operand):
            if isinstance(operand, ssa.Var) and operand.name in kept:
                return load(kept[operand.name])
            return ssa.render_operand(operand)
        aux = value_of(self.aux) if self.has_aux else None
        if self.kernel:
            # the kernel returns floats; the Python function around it
            # checks the arguments and gives NumPy float64s their own kind
            body.append(gast.Return(self.result(
                grads, converted, value_of(out), aux, numpy=False,
                raw=self.kernel_arrays)))
            arrays = self.arrays_read(body)
            kernel = self.gradient_function(body, self.kernel, arrays)
            return [self.kernel_entry(arrays), Generated(
                kernel, self.imports, derivative_names, self.runtime_checks,
                taped=self.tape is not None, callees=self.callees,
                floats=not self.kernel_arrays,
                float_values=self.float_names(), kernel=True,
                adjoints=self.bars.values())]
        body.append(gast.Return(self.result(grads, converted, value_of(out),
                                            aux)))
        if not self.assume_scalar:
            self.spread_late(body)
        self.sized_by_kept(body[:seed_at], body[seed_at:])
        if self.fallback:
            body[:0] = self.guard()
        return Generated(self.gradient_function(body), self.imports,
                         derivative_names, self.runtime_checks, self.fallback,
                         taped=self.tape is not None, callees=self.callees,
                         floats=bool(self.assume_scalar),
                         float_values=self.float_names())

    def result(self, grads, converted, value, aux, numpy=True, raw=False):
        """What the gradient returns: the gradients (`converted`, as the
        float variant makes them floats; with `numpy`, given NumPy float64s,
        of their kind; `raw`: `grads` as they are, as an array kernel
        returns them), and the value or aux, as JAX lays them out:
        `(grad, aux)`, `((value, aux), grad)`."""
        def packed(gs):
            return gs[0] if isinstance(self.argnums, int) else \
                gast.Tuple(gs, gast.Load())
        if raw:
            result = packed(grads)
        elif self.assume_scalar:
            result = packed(converted) if not numpy else \
                self.gradients_of_numpy_floats(packed(grads),
                                               packed(converted))
        elif isinstance(self.argnums, int):
            result = self.runtime_call("gradient", grads + [load(self.wrt[0])])
        else:
            result = self.runtime_call("gradients", [
                gast.Tuple(grads, gast.Load()),
                gast.Tuple([load(p) for p in self.wrt], gast.Load())])
        if self.has_aux:  # JAX's layouts: (grad, aux), ((value, aux), grad)
            if self.with_value:
                value = gast.Tuple([value, aux], gast.Load())
            else:
                result = gast.Tuple([result, aux], gast.Load())
        if self.with_value:
            result = gast.Tuple([value, result], gast.Load())
        return result

    def kernel_entry(self, arrays=()):
        """The Python function around a compiled kernel: the variant's
        guard, the kernel's call, and its gradients made NumPy float64s
        where it was given those:

            x_bar = grad_f_numba(x, n)
            return runtime.as_classes_of(x_bar, x) if _numpy_floats else x_bar
        """
        grads = self.entry_names([f"{p}_bar" for p in self.wrt])
        value, aux = (self.entry_names([base])[0] if wanted else None
                      for base, wanted in (("value", self.with_value),
                                           ("aux", self.has_aux)))
        body = self.kernel_call(
            self.result(grads, grads, value, aux, numpy=False,
                        raw=self.kernel_arrays), arrays)
        body.append(gast.Return(self.result(grads, grads, value, aux)))
        tree = self.gradient_function(body)
        return Generated(tree, self.imports, set(),
                         calls=(self.kernel, self.fallback), floats=True)

    def unchecked_values_reach(self):
        """In a variant on Python floats, may a value of an argument its
        guard does not check to be a float reach the derivative: a NumPy
        number (`x * (x > t)` of an np.float64 t), or an array of another
        library (`np.sum(X) * a` of a lazy Dask X)? Through any operation
        but `range` and `len`, whose results are Python ints."""
        checked = {p for p in self.assume_scalar if type(p) is str}
        reached = analysis.flows_from(self.func, [
            p for p in self.func.params if p not in checked], skip=(range, len))
        return any(isinstance(s, ssa.Assign) and s.target in self.active and
                   analysis.reads(s, reached) for s in ssa.walk(self.func.body))

    def scalar_guard_ahead(self):
        """`scalar_guard`, where it is known before the general version is
        generated: its output is active and not known to be a number, so
        that its seed checks it at run time (an elementwise program calls
        no user function)."""
        out = self.output
        if not isinstance(out, ssa.Var) or out.name not in self.active or \
                analysis.is_scalar(out, self.scalars):
            return None
        return self.scalar_guard(None)

    def array_guard(self, generated):
        """Parameters to test for real float arrays in a variant, or None:
        the differentiated ones that may be lists (whose `+` joins and `*`
        repeats), where the general code checks shapes at run time. The
        variant's shape analysis knows they are arrays; it is kept where
        that saves runtime calls."""
        if self.complex or not self.func.plain or not generated.runtime_checks \
                or self.callees:
            return None
        # (one read only at int indices, a parameter vector: 1-D, its items
        # numbers, as the guard checks; so too data read so whose items
        # only meet arithmetic, `y[t] - a * y[t - 1]`: a time series. Not
        # data whose items go on to a reduction, `np.sum(X[i] - X[j])`,
        # rows of a matrix, which would take the general version)
        vectors = tuple(analysis.Vector(p) if analysis.indexed_only(
            self.func, p) else p for p in self.func.params if p in self.wrt) + \
            tuple(analysis.Reals(p) for p in self.func.params
                  if p not in self.wrt and analysis.indexed_only(self.func, p)
                  and analysis.items_meet_arithmetic_only(self.func, p))
        # (and the differentiated ones read as numbers, a model's constants
        # and initial values, numbers: `traj[i] = x` of `x = x0 + ...`)
        numbers = analysis.numbers_in_arrays(self.func, [
            p for p in vectors if type(p) is str], [
            p for p in vectors if isinstance(p, analysis.Vector)])
        vectors = tuple(analysis.Number(p) if p in numbers else p
                        for p in vectors)
        # (and the parameters not differentiated that the derivative reads
        # as numbers, ints or floats: a model's initial value `y = y0`
        # stepped with the items of a parameter vector, `a, b = params`)
        if any(isinstance(p, analysis.Vector) for p in vectors):
            vectors += analysis.real_numbers(self.func, [
                p for p in self.func.params if p not in self.wrt and
                p not in vectors], self.derivative_operands(), vectors)
        return vectors + analysis.global_vectors(self.func, True)

    def checks_guard_may_answer(self, generated, arrays):
        """How many of the general code's checks of kinds (weighted as
        `_runtime_calls` does) read a value (or the adjoint of one) of
        which the analyses know more when the parameters `arrays` are
        float arrays: its shape key, or that it holds no list or no int.
        Only those may a variant on arrays leave out; counted before it
        is generated, as that would double the transformation's cost."""
        general = self.shape_keys()[:3] + (self.scalars,)
        scalars = analysis.known_scalars(self.func, tuple(
            p for p in arrays if isinstance(p, (analysis.Vector,
                                                analysis.Number))))
        special = analysis.shape_keys(self.func, scalars, arrays)[:3] + (
            scalars,)

        def facts(name, known):  # (a key; no list; no int; a number)
            keys, no_lists, no_ints, numbers = known
            return (keys.get(name), name in no_lists, name in no_ints,
                    name in numbers)
        changed = {n for known in (general, special) for kind in known
                   for n in kind if facts(n, general) != facts(n, special)}
        primals = {bar: name for name, bar in self.bars.items()}
        return _runtime_calls(
            generated.tree.body, generated.runtime_name, _SHAPE_CHECKS,
            counts=lambda call: any(
                primals.get(n, n) in changed
                for n in trees.names(call, gast.Load)))

    def function_name(self, arrays=False):
        """`grad_f` (`value_and_grad_f`), or with `arrays` the name
        `rename_as_arrays` gives the general function, `grad_f_arrays`."""
        prefix = "value_and_grad" if self.with_value else "grad"
        return f"{prefix}_{self.name}{'_arrays' if arrays else ''}"

    def rename_as_arrays(self, tree):
        """Make a generated tree the `_arrays` fallback of a scalar variant."""
        self.arrays = True
        renamed = self.gradient_function([])
        tree.name, tree.body[0] = renamed.name, renamed.body[0]

    def gradients_of_numpy_floats(self, grads, floats):
        """`floats` (the gradients as Python floats), or where the
        Python-float variant was given NumPy float64s,
        `runtime.as_classes_of(grads, params)`: each gradient of a float64
        a float64, of a float a float."""
        if not self.numpy_floats:
            return floats
        params = gast.Tuple([load(p) for p in self.wrt], gast.Load()) \
            if not isinstance(self.argnums, int) else load(self.wrt[0])
        return gast.IfExp(load(self.numpy_floats), self.runtime_call(
            "as_classes_of", [grads, params]), floats)

    def gradient_function(self, body, name=None, arrays=()):
        """The gradient's `def` (or, named `name`, its compiled kernel's,
        taking the module-level `arrays` it reads after the function's
        parameters)."""
        if name is not None:
            note = (f"Compiled by Numba (nopython mode) for "
                    f"{self.function_name()}, which checks its arguments"
                    + (f" and passes {', '.join(arrays)}, read as they are"
                       if arrays else "") + ".\n    ")
        elif self.kernel:
            note = (f"Specialised to Python floats and NumPy float64s, "
                    f"computed by {self.kernel}, which Numba compiles; "
                    f"other inputs go to {self.fallback}.\n    ")
        elif self.fallback and self.assume_arrays:
            kinds = [f"{p} (1-D)" if isinstance(p, analysis.Vector) else p
                     for p in self.assume_arrays
                     if not isinstance(p, analysis.Number)]
            numbers = [p for p in self.assume_arrays
                       if isinstance(p, analysis.Number)]
            note = "Specialised to " + " and ".join(
                ([f"real float NumPy arrays {', '.join(kinds)}"]
                 if kinds else []) + (
                    [f"numbers {', '.join(numbers)}"] if numbers else [])) \
                + f"; other inputs go to {self.fallback}.\n    "
        elif self.fallback:
            kinds = "Python floats and NumPy float64s" if \
                self.numpy_floats else "Python floats"
            note = (f"Specialised to {kinds}; other inputs go to "
                    f"{self.fallback}.\n    ")
        elif self.arrays:
            note = "For any NumPy shapes, with broadcasting.\n    "
        else:
            note = ""
        summary = (f"Gradient of {self.func.name} with respect to "
                   f"{', '.join(self.wrt)}.")
        return self.function_def(name or self.function_name(self.arrays),
                                 ssa.signature(self.func, extra=arrays), body,
                                 summary, note)

    def output_where(self):
        """"file:line: grad of f", at the function's last return."""
        returns = [s.node for s in ssa.walk(self.func.body)
                   if isinstance(s, ssa.Return)]
        node = returns[-1] if returns else self.source.tree
        return self.source.located(node, f"grad of {self.func.name}")

    def check_scalar(self, value):
        """`if not isinstance(y, float): runtime.check_scalar(y, 'f')`."""
        self.runtime_checks += 1
        call = self.runtime_call(
            "check_scalar", [value, gast.Constant(self.output_where(), None)])
        if self.kernel:  # (a kernel's output is a number)
            return gast.Expr(call)
        test = gast.UnaryOp(gast.Not(), gast.Call(
            self.builtin("isinstance"), [value, self.builtin("float")], []))
        return gast.If(test, [gast.Expr(call)], [])

    def gradient_of(self, param):
        if param in self.defined:
            gradient = load(self.bars[param])
            if param in self.containers and not self.split:
                # in the argument's structure (vjp's cotangents stay
                # adjoints, to be added up by their callers)
                gradient = self.runtime_call("tree_like",
                                             [gradient, load(param)])
            return gradient
        return self.runtime_call("zeros_like", [load(param)])

    # -- spreading late --

    def spread_late(self, body):
        """An adjoint seeded with a number stays a number until a shape
        forces it to spread.

        The adjoint of a total (`np.sum(x)`) is `runtime.unreduce(g, x)`,
        g spread over x's shape. Where every read of it, and of what
        arithmetic with numbers makes of it (`-g`, `g * 0.5`), is
        elementwise arithmetic with a value the shape analysis knows has
        x's shape, that arithmetic broadcasts g as the spread did: `g * (2.0
        * x)`. The spread is left out, and with it an array of x's size and
        a pass over it. The other value's dtype must also be at least x's
        (its elementwise leaves include x's, `analysis.elementwise_leaves`),
        so that the arithmetic is done in the dtype it was done in.
        """
        # adjoint name -> the SSA name it is the adjoint of
        self.primals = {bar: name for name, bar in self.bars.items()}
        roots = {}  # adjoint name -> (its statement's index, (key, x))
        for i, stmt in enumerate(body):
            found = self.spread_of_number(stmt)
            if found is not None:
                roots[stmt.targets[0].id] = (i, found)
        if not roots:
            return
        leaves = analysis.elementwise_leaves(self.func,
                                             self.shape_keys()[1])
        while roots:
            needed = self.spreads_needed(body, roots, leaves)
            if not needed:
                break
            for name in needed:
                del roots[name]
        for i, _ in roots.values():
            body[i].value = body[i].value.args[0]

    def spread_of_number(self, stmt):
        """The shape key of x when `stmt` is `g_bar = runtime.unreduce(g,
        x)` (no axis) of a number g over an array x, else None."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            return None
        call = stmt.value
        if not _is_helper_call(call, "unreduce") or not _over_all(call) or \
                not isinstance(call.args[1], gast.Name):
            return None
        key = self.shape(ssa.Var(call.args[1].id))
        if key in (None, analysis.SCALAR_SHAPE) or \
                self.late_key(call.args[0], {}, None)[:2] not in (
                    ("full", analysis.SCALAR_SHAPE),
                    ("full", _PYTHON_NUMBER)):
            return None
        return key, call.args[1].id

    def spreads_needed(self, body, roots, leaves):
        """The roots (see `spread_late`) some read needs spread."""
        lazy = {}  # name -> (shape key, x's leaves, its roots)
        needed = set()
        for i, stmt in enumerate(body):
            target = stmt.targets[0].id if isinstance(stmt, gast.Assign) and \
                len(stmt.targets) == 1 and isinstance(
                    stmt.targets[0], gast.Name) else None
            if target in roots and roots[target][0] == i:
                key, x = roots[target][1]
                lazy[target] = (key, leaves(x), {target})
                continue
            if not lazy:
                continue  # (nothing to follow: no walk)
            read = lazy.keys() & trees.names(stmt, gast.Load)
            if read:
                sources = set().union(*(lazy[n][2] for n in read))
                found = self.late_key(stmt.value, lazy, leaves) \
                    if target is not None else None
                if found is None:
                    needed |= sources
                elif found[0] == "lazy":
                    lazy[target] = (found[1], found[2], sources)
                    continue
            for name in trees.names(stmt, gast.Store):
                lazy.pop(name, None)
        return needed

    def late_key(self, node, lazy, leaves):
        """What `node` gives, where the names in `lazy` hold numbers that
        stand for arrays: ("full", shape key, dtype leaves) for an array
        of a key; ("lazy", shape key, x's leaves) for a number that still
        stands for one; ("full", None, ...) for a value of unknown shape
        with no lazy number in it; None when a lazy number would be read
        where its shape matters."""
        if isinstance(node, gast.Name):
            if node.id in lazy:
                return ("lazy",) + lazy[node.id][:2]
            primal = self.primals.get(node.id)
            if primal is not None:  # an adjoint: its primal's shape
                key = self.shape(ssa.Var(primal))
                return ("full", key if key == analysis.SCALAR_SHAPE else
                        ("adjoint", node.id), set())
            return ("full", self.shape(ssa.Var(node.id)),
                    leaves(node.id) if leaves else set())
        if isinstance(node, gast.Constant) and type(node.value) in (
                int, float):
            return ("full", _PYTHON_NUMBER, set())
        if isinstance(node, gast.BinOp) and isinstance(node.op, (
                gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)):
            parts = [node.left, node.right]
        elif isinstance(node, gast.UnaryOp) and isinstance(
                node.op, (gast.USub, gast.UAdd)):
            parts = [node.operand]
        elif self.is_elementwise_call(node):
            parts = node.args
        elif _is_helper_call(node, "reduced_size") and _over_all(
                node, 1):  # (an int)
            return ("full", _PYTHON_NUMBER, set())
        else:
            reads_lazy = any(isinstance(n, gast.Name) and n.id in lazy
                             for n in gast.walk(node))
            return None if reads_lazy else ("full", None, set())
        found = [self.late_key(part, lazy, leaves) for part in parts]
        if None in found:
            return None
        lazies = {f[1] for f in found if f[0] == "lazy"}
        keys = {f[1] for f in found if f[0] == "full"} - {_PYTHON_NUMBER}
        dtype = set().union(*(f[2] for f in found if f[0] == "full"))
        if not lazies:
            shapes = keys - {analysis.SCALAR_SHAPE}
            if shapes:
                return ("full", shapes.pop() if len(shapes) == 1 else None,
                        dtype)
            return ("full", analysis.SCALAR_SHAPE if keys else
                    _PYTHON_NUMBER, dtype)
        if len(lazies) > 1 or None in keys:
            return None
        key = lazies.pop()
        x_leaves = set().union(*(f[2] for f in found if f[0] == "lazy"))
        if not keys:  # (numbers only: Python's, which take g's dtype)
            return ("lazy", key, x_leaves)
        if keys != {key}:
            return None  # (another shape, or a NumPy number: `g * s` of
            # a float32 s would round in float32 what the spread did not)
        if not x_leaves <= dtype:
            return None  # (done in a smaller dtype than x's)
        return ("full", key, dtype)

    def is_elementwise_call(self, node):
        """Is `node` a call, without keywords, of a NumPy ufunc on as many
        arguments as it takes, or of runtime's divide and logistic
        functions (which compute as ufuncs)?"""
        if not isinstance(node, gast.Call) or node.keywords or not isinstance(
                node.func, gast.Attribute) or not isinstance(
                node.func.value, gast.Name):
            return False
        name = node.func.value.id
        owner = self.imports[name] if name in self.imports else None if \
            name in self.locals else self.source.lookup(name)
        fn = getattr(owner, node.func.attr, None)
        if owner is runtime:
            return fn in (runtime.divide, runtime.logistic, runtime.logistic2)
        return isinstance(fn, np.ufunc) and fn.nin == len(node.args) and \
            owner is np

    # -- the reverse sweep --

    def reverse_block(self, stmts):
        out = []
        for stmt in reversed(stmts):
            # a value's adjoint is complete just before its definition's
            made = [stmt.target] if isinstance(stmt, ssa.Assign) else [
                p.target for p in getattr(stmt, "phis", ())] + [
                getattr(stmt, "target", None)]
            out += self.run_hooks(made)
            if isinstance(stmt, ssa.Assign):
                out += self.reverse_assign(stmt)
            elif isinstance(stmt, ssa.If):
                out += self.reverse_if(stmt)
            elif isinstance(stmt, (ssa.For, ssa.While)):
                out += self.reverse_loop(stmt)
        return out

    def reverse_if(self, stmt):
        defined = self.defined
        start = defined.mark()
        saved_line = self.line
        branches = []
        for body, side in ((stmt.body, "left"), (stmt.orelse, "right")):
            # each branch starts from what is defined after the `if`
            self.line = None
            out = []
            for phi in stmt.phis:
                source = getattr(phi, side)
                if phi.target in self.defined and isinstance(source, ssa.Var) \
                        and source.name in self.active:
                    self.accumulate(out, source.name, load(self.bars[phi.target]))
            out += self.reverse_block(body)
            if self.loop_depth:
                out = self.restore(stmt, side, body, out) + out
            branches.append((out, *defined.changes(start)))
            defined.undo(start)
        (then, then_added, then_removed), (orelse, else_added,
                                           else_removed) = branches
        # A name assigned inside a branch is not visible before the `if`, so
        # only names defined earlier need an adjoint on both paths.
        local = {s.target for s in ssa.walk(stmt.body + stmt.orelse)
                 if isinstance(s, ssa.Assign)}
        local |= {p.target for s in ssa.walk(stmt.body + stmt.orelse)
                  if isinstance(s, (ssa.If, ssa.For, ssa.While)) for p in s.phis}
        # (defined on one path only: added on it, or removed on the other)
        for name in sorted((then_added - else_added | else_removed
                            - then_removed) - local):
            orelse.append(self.zero(name))
        for name in sorted((else_added - then_added | then_removed
                            - else_removed) - local):
            then.append(self.zero(name))
        for name in then_added | else_added:
            defined.add(name)
        for name in (then_removed & else_removed) | local:
            defined.discard(name)
        self.line = saved_line
        if not then and not orelse:
            return []
        test = stmt.test  # (the bool the forward sweep took, see `read_test`)
        if analysis.may_be_array(test, self.python):
            test = ssa.Var(self.taken_name(stmt))
        return [gast.If(ssa.render_operand(test), then or [gast.Pass()],
                        orelse)]

    def zero(self, name, like=None):
        """`name_bar = runtime.zeros_like(like or name)`; `0.0` where a
        variant's guard makes `like` a number (an item of a parameter
        vector, a float): its adjoints, added up in a loop, are numbers."""
        like = ssa.Var(name) if like is None else like
        if isinstance(like, ssa.Var) and not (
                self.fallback and analysis.is_scalar(like, self.scalars)):
            value = self.runtime_call("zeros_like", [load(like.name)])
        else:
            value = gast.Constant(0.0, None)
        return ssa.assign(self.bar(name), value)

    def reverse_loop(self, stmt):
        """Replay a loop backwards: `for i in reversed(r)` or the trip count.

        Header phi `h = phi(entry, latch)`: on each reverse iteration the
        latch's adjoint is h's adjoint from the iteration after it; h's own
        adjoint restarts; after the loop, entry's adjoint gets the rest.
        Names from outside the loop that collect adjoints inside it start
        at zero before it, so the loop body only ever accumulates.
        """
        checkpointed = self.checkpointed_loop(stmt)
        if checkpointed is not None and self.loops:
            raise self.source.error(
                errors.UnsupportedSyntaxError, self.definitions[
                    checkpointed.name].node,
                "s2sad.checkpointed marks a loop that is not inside another "
                "loop; checkpoint the outer loop, or move the inner one "
                "into a function of its own")
        inner = list(ssa.walk([stmt]))
        local = defined_in([stmt])
        phis = [p for p in stmt.phis if p.target in self.active]
        if not phis and not any(isinstance(s, ssa.Assign)
                                and s.target in self.active for s in inner):
            return []
        incoming = set()
        for s in inner:
            if isinstance(s, ssa.Assign) and s.target in self.active:
                incoming |= {o.name for o in s.operands()
                             if isinstance(o, ssa.Var)}
            for phi in getattr(s, "phis", ()):
                # the loop's own entries get their adjoint after it
                sides = (phi.right,) if s is stmt else (phi.left, phi.right)
                if phi.target in self.active:
                    incoming |= {o.name for o in sides if isinstance(o, ssa.Var)}
        incoming = (incoming & self.active) - local
        out = []
        for name in sorted(incoming) + [p.target for p in phis]:
            if name not in self.defined:
                out.append(self.zero(name))
                self.defined.add(name)
        start = self.defined.mark()
        saved_line, self.line = self.line, None
        body = []
        for phi in phis:
            latch = phi.right
            if isinstance(latch, ssa.Var) and latch.name in self.active:
                self.accumulate(body, latch.name, load(self.bars[phi.target]))
            self.defined.discard(phi.target)
        self.loop_depth += 1
        self.loops.append(stmt)
        body += self.reverse_block(stmt.body)
        self.loop_depth -= 1
        for phi in phis:
            if phi.target not in self.defined:
                # zeros shaped as the value the iteration started with: the
                # loop's entry value, unless the loop may change its shape
                # (then kept per iteration, as its kind: runtime.like)
                same = self.shape(phi.right) == self.shape(
                    ssa.Var(phi.target))
                body.append(self.zero(phi.target, like=phi.left if same
                                      else ssa.Var(phi.target)))
        body = self.restore(stmt, "end", stmt.body, body) + body
        self.loops.pop()
        # defined after the loop: what was before its body but its own
        # names, and the adjoints of its header's values
        self.defined.undo(start)
        for name in local:
            self.defined.discard(name)
        for phi in phis:
            self.defined.add(phi.target)
        self.line = saved_line
        if isinstance(stmt, ssa.For):
            iterations = self.backwards(stmt.iter)
            target = gast.Name(stmt.target, gast.Store(), None, None)
        else:
            self.trips[id(stmt)] = self.namer.fresh("_trips")
            iterations = gast.Call(self.builtin("range"),
                                   [load(self.trips[id(stmt)])], [])
            target = gast.Name("_", gast.Store(), None, None)
        loop = gast.For(target, iterations, body, [], None)
        loop.restores = self.restored | {target.id}
        if checkpointed is not None:
            out += self.reverse_checkpointed(stmt, checkpointed, loop)
        else:
            out.append(loop)
        for phi in phis:
            if isinstance(phi.left, ssa.Var) and phi.left.name in self.active:
                self.accumulate(out, phi.left.name, load(self.bars[phi.target]))
        return out

    # -- checkpointed loops --

    def check_checkpointed(self):
        """Refuse `s2sad.checkpointed(...)` anywhere but as what a `for`
        loop iterates, and `s2sad.checkpointed_while(...)` anywhere but as
        a `while` loop's whole test, the loop running to its end (its
        schedule is made for the steps it runs). (In code s2sad generated,
        differentiated again, the loops are its own: not checked.)"""
        if self.source.generated:
            return
        marks = {getattr(self.checkpointed_loop(s), "name", None): s
                 for s in ssa.walk(self.func.body)
                 if isinstance(s, (ssa.For, ssa.While))}
        for stmt in ssa.walk(self.func.body):
            if not isinstance(stmt, ssa.Assign):
                continue
            if stmt.fn is checkpoints.checkpointed and \
                    (stmt.target is None or stmt.target not in marks):
                raise self.source.error(
                    errors.UnsupportedSyntaxError, stmt.node,
                    "s2sad.checkpointed(...) is what a `for` statement "
                    "iterates, written in it (`for t in "
                    "s2sad.checkpointed(range(n), snapshots=s):`), and the "
                    "loop runs to its end (no `break` or `return` inside): "
                    "its schedule is made for the loop's length. For an "
                    "early exit, write `while s2sad.checkpointed_while("
                    "test, snapshots=s):`")
            if stmt.fn is checkpoints.checkpointed_while:
                loop = marks.get(stmt.target) if stmt.target else None
                if loop is None:
                    raise self.source.error(
                        errors.UnsupportedSyntaxError, stmt.node,
                        "s2sad.checkpointed_while(...) is the whole test "
                        "of a `while` loop that leaves only by its test "
                        "(no `break` or `return` inside): `while "
                        "s2sad.checkpointed_while(t < T, snapshots=s):`")

    def checkpointed_loop(self, stmt):
        """The `s2sad.checkpointed(...)` a `for` loop iterates, or the
        `s2sad.checkpointed_while(...)` that is a `while` loop's test; or
        None. (In SSA: `_t1 = runtime.iterable(c)`, `for _k in
        range(len(_t1))`, `t = _t1[_k]`; `while c:`.)"""
        if isinstance(stmt, ssa.While):
            test = self.definitions.get(getattr(stmt.test, "name", None))
            return stmt.test if test is not None and \
                test.fn is checkpoints.checkpointed_while else None
        operand = getattr(stmt, "iter", None) if isinstance(
            stmt, ssa.For) else None
        for fn in (builtins.range, builtins.len, runtime.iterable):
            made = self.definitions.get(getattr(operand, "name", None))
            if made is None or made.fn is not fn or not made.args:
                return None
            operand = made.args[0]
        made = self.definitions.get(getattr(operand, "name", None))
        return operand if made is not None and \
            made.fn is checkpoints.checkpointed else None

    def loop_run(self, stmt, names, start, stop, extra=None):
        """Steps `start` to `stop` of the loop `stmt` (with the tape's
        pushes, given `extra`), from its state as it is (no entry copies;
        a `while` loop's test is known to hold for them)."""
        target, iterations = names.steps(start, stop)
        return gast.For(target, iterations, ssa.iteration(
            stmt, extra, self.render_primal, tested=False,
            branch=self.read_test), [], None)

    def reverse_checkpointed(self, stmt, checkpointed, loop):
        """The reverse sweep of a checkpointed loop, given `loop`, its
        reverse loop over every iteration: the actions of its schedule
        (`checkpoints.Revolve`), each restoring a snapshot of the loop's
        state and running steps forward from it, then either taking a new
        snapshot or reversing a bundle of steps with the tape."""
        names = _Checkpoint(self.namer, self.builtin, checkpointed, stmt,
                            self.trips.get(id(stmt)))
        self.locals |= names.locals()
        steps = self.loop_run(stmt, names, names.start, names.stop)
        read = set(trees.names(steps, gast.Load))
        names.state = [p.target for p in stmt.phis if p.target in read]
        self.checkpoints[id(stmt)] = names
        taped = self.loop_run(stmt, names, names.stop, names.end,
                              functools.partial(self.forward_extra,
                                                uncounted=stmt))
        taped.runs = True  # (one or more steps: see optimize._free)
        loop.iter = names.steps(names.stop, names.end, backwards=True)[1]
        # (a snapshot's last use may change it, unless the backward sweep
        # can run again: a vjp's pullback, called for each cotangent)
        last = gast.Call(gast.Attribute(load(names.snapshots), "pop",
                                        gast.Load()), [], [])
        if self.split:
            last = self.runtime_call("snapshot", [last])
        restore = gast.If(load(names.last), [ssa.unpack(names.state, last)], [
            ssa.unpack(names.state, self.runtime_call("snapshot", [
                gast.Subscript(load(names.snapshots), gast.Constant(
                    -1, None), gast.Load())]))])
        pushing = gast.Compare(load(names.end), [gast.Is()],
                               [gast.Constant(None, None)])
        schedule = gast.Call(gast.Attribute(
            load(names.schedule), "backward", gast.Load()), [], [])
        marked = self.definitions[checkpointed.name].node
        replayed = gast.Expr(self.runtime_call("replayed", [
            load(names.schedule), load(names.end), self.state_of(names),
            gast.Constant(self.source.where(marked), None)]))
        actions = gast.For(
            gast.Tuple([gast.Name(n, gast.Store(), None, None)
                        for n in names.action()], gast.Store()),
            schedule, [restore, steps, gast.If(pushing, [
                self.take_snapshot(names, names.stop)],
                [taped, replayed, loop])], [], None)
        actions.restores = set(trees.names(actions, gast.Store))
        line = self.source.lineno(marked)
        chained = []
        if names.trips:  # a while loop's length is known now
            chained.append(ssa.assign(names.snapshots, self.runtime_call(
                "kept", [load(names.snapshots), gast.Call(gast.Attribute(
                    load(names.schedule), "chain", gast.Load()),
                    [load(names.trips)], [])])))
        return [codegen.comment(
            f"line {line}: a checkpointed loop, reversed on its binomial "
            f"schedule ({names.schedule}.backward())")] + chained + [actions]

    def state_of(self, names):
        """`(state...)`: the values a checkpointed loop carries."""
        return gast.Tuple([load(n) for n in names.state], gast.Load())

    def take_snapshot(self, names, step):
        """`_snapshots.append(runtime.snapshot((state...), _schedule,
        step))`: a snapshot before the loop's step `step` (a name)."""
        return gast.Expr(gast.Call(gast.Attribute(
            load(names.snapshots), "append", gast.Load()),
            [self.runtime_call("snapshot", [
                self.state_of(names), load(names.schedule), load(step)])],
            []))

    def checkpointed_forward(self, stmt):
        """A checkpointed loop in the forward sweep: run as the function
        runs it, taking the schedule's first snapshots on the way (a
        `while` loop: taking them as it goes, `checkpoints.Online`); None
        for any other loop."""
        names = self.checkpoints.get(id(stmt))
        if names is None:
            return None
        state = self.state_of(names)
        made = self.definitions[names.checkpointed.name]
        if names.trips is None:  # a `for` loop: the sweep's stretches
            schedule = self.runtime_call("revolve", [
                ssa.render_operand(names.checkpointed),
                ssa.render_operand(names.sequence), state])
            target, iterations = names.steps(names.start, names.stop)
            run = [gast.For(target, iterations, ssa.iteration(
                stmt, None, self.render_primal, branch=self.read_test), [],
                None)]
            loop = gast.For(
                gast.Tuple([gast.Name(n, gast.Store(), None, None)
                            for n in (names.start, names.stop)],
                           gast.Store()),
                gast.Attribute(load(names.schedule), "sweep", gast.Load()),
                [self.take_snapshot(names, names.start)] + run, [], None)
            before, length = [], []
        else:  # a `while` loop: a snapshot when its count says so
            budget = [_argument(made, 1, "snapshots"),
                      _argument(made, 2, "bundle")]
            schedule = self.runtime_call("online_revolve", [])
            held = gast.Call(self.builtin("len"), [load(names.snapshots)],
                             [])
            keep = gast.Call(gast.Attribute(
                load(names.schedule), "keep", gast.Load()), [held] + [
                ssa.render_operand(o) for o in budget] + [
                self.runtime_call("state_size", [state])], [])
            take = gast.If(gast.Compare(
                load(names.trips), [gast.Eq()], [gast.Attribute(
                    load(names.schedule), "next", gast.Load())]), [
                ssa.assign(names.snapshots, self.runtime_call(
                    "kept", [load(names.snapshots), keep])),
                self.take_snapshot(names, names.trips)], [])

            def count(region, place):
                return [ssa.assign(names.trips, gast.BinOp(
                    load(names.trips), gast.Add(), gast.Constant(1, None)))] \
                    if region is stmt and place == "end" else []
            loop = gast.While(gast.Constant(True, None), ssa.iteration(
                stmt, count, self.render_primal, after_test=[take],
                branch=self.read_test), [])
            before = [ssa.assign(names.trips, gast.Constant(0, None))]
            length = [load(names.trips)]
        return ssa.entry(stmt) + before + [
            ssa.assign(names.schedule, schedule),
            ssa.assign(names.snapshots, gast.List([], gast.Load())), loop,
            gast.Expr(self.runtime_call("finished", [
                load(names.schedule), self.state_of(names)] + length))]

    def restore(self, region, place, block, reverse_code):
        """Bring back the values of one loop iteration (or branch) that
        `reverse_code` reads: recompute rank-0 elementwise ones from the
        others, pop the rest from the tape (pushed at `place` going forward).

        Returns the statements that go before `reverse_code`.
        """
        defs = {s.target: s for s in block
                if isinstance(s, ssa.Assign) and s.target is not None}
        own = set(defs) | {p.target for s in block
                           for p in getattr(s, "phis", ())}
        own |= {s.target for s in block if isinstance(s, ssa.For)}
        own |= self.residuals_in(block, nested=False)
        own |= {self.trips[id(s)] for s in block if id(s) in self.trips}
        own |= {self.taken[id(s)] for s in block if id(s) in self.taken}
        if place == "end":  # a loop body: its header values are its own too
            own |= {p.target for p in region.phis}
            if isinstance(region, ssa.While):
                own |= defined_in(region.test_body)
        invariant = self.loop_invariants(self.loops[0], block) \
            if place == "end" else set()
        read = _reads(reverse_code)
        # two plans: recompute every number that can be (the least tape),
        # or only those made of what is restored anyway (the least work);
        # the cheaper by `_plan_cost` is taken, the first on a tie
        plans = [self.plan(block, defs, own, invariant, region,
                           (read & own) - invariant, thrifty)
                 for thrifty in (False, True)]
        need, recompute, used = min(plans, key=_plan_cost)
        self.invariants |= used | (read & invariant)
        taped = sorted(need)
        self.restored = set(taped) | {s.target for s in recompute}
        recomputed = [ssa.render_assign(s) for s in recompute]
        prologue = []
        if taped:
            # (what a recomputation reads, it reads whole: `k = t`)
            pushed, popped = self.shapes_only(taped, recomputed + reverse_code)
            self.pushes[(id(region), place)] = pushed
            pop = gast.Call(gast.Attribute(load(self.tape_of(region, place)),
                                           "pop", gast.Load()), [], [])
            prologue.append(gast.Assign([_pack(popped, gast.Store())], pop, None))
        return prologue + recomputed

    def plan(self, block, defs, own, invariant, region, need, thrifty):
        """(need, recompute, invariants): what the backward sweep pops from
        the tape for one iteration of `block` (or branch), the statements
        it runs again to make the rest of what it reads (`need` at first),
        and the loop invariants those read. Recomputed: copies, data read
        again (`read_again`), and numbers made by cheap operations
        (`recomputable`); with `thrifty`, only those of the numbers whose
        operands are restored anyway or made again without the tape, the
        others taped themselves."""
        need, recompute, used = set(need), [], set()

        def free(name, depth=4):  # (made again without a tape entry)
            if name not in own or name in need or name in invariant:
                return True
            stmt = defs.get(name)
            return depth > 0 and stmt is not None and (
                self.read_again(stmt, own, region) or
                self.recomputable(stmt)) and all(
                    free(o.name, depth - 1) for o in stmt.operands()
                    if isinstance(o, ssa.Var))

        for stmt in reversed(block):
            if isinstance(stmt, ssa.Assign) and stmt.target in need \
                    and (_copy_of_restored(stmt, defs, need, own)
                         or self.recomputable(stmt) and (not thrifty or all(
                             free(o.name) for o in stmt.operands()
                             if isinstance(o, ssa.Var)))
                         or self.read_again(stmt, own, region)):
                recompute.insert(0, stmt)
                need.discard(stmt.target)
                operands = {o.name for o in stmt.operands()
                            if isinstance(o, ssa.Var) and o.name in own}
                used |= operands & invariant
                need |= operands - invariant
        return need, recompute, used

    def tape_of(self, region, place):
        """The tape that the values pushed at `place` of `region` go to:
        Python code's one `_tape`; a compiled kernel's own tape for each
        place, as a Numba list holds one kind of entry."""
        key = (id(region), place)
        if key not in self.tapes:
            if self.tape is None or self.kernel:
                self.tape = self.namer.fresh("_tape")
            self.tapes[key] = self.tape
        return self.tapes[key]

    def backwards(self, sequence):
        """What a `for` loop over `sequence` iterates, last first:
        `reversed(r)`; in a compiled kernel (Numba has no `reversed`), a
        range counting down (`range(len(r) - 1, -1, -1)` of a `range(n)`,
        else `runtime.backwards(r)`), or a sequence's reversed slice."""
        iterations = ssa.render_operand(sequence)
        if not self.kernel:
            return gast.Call(self.builtin("reversed"), [iterations], [])
        if not self.is_range(sequence):
            return gast.Subscript(iterations, gast.Slice(
                None, None, gast.Constant(-1, None)), gast.Load())
        made = self.definitions[sequence.name]
        if made.fn is range and len(made.args) == 1:  # range(n)
            last = gast.BinOp(gast.Call(self.builtin("len"), [iterations],
                                        []), gast.Sub(), gast.Constant(1, None))
            return gast.Call(self.builtin("range"), [
                last, gast.Constant(-1, None), gast.Constant(-1, None)], [])
        return self.runtime_call("backwards", [iterations])

    def loop_invariants(self, loop, block):
        """The values of `block`, the body of a loop in the outermost
        `loop` (or of that loop), that are the same on every iteration of
        every loop around them, which the reverse sweep reads as the
        forward loop left them (from its last iteration: the reverse
        iteration runs only if one ran) rather than taping or recomputing
        them: `DT * 0.5` of a module-level DT, `sigma * math.sqrt(dt)`.

        An invariant is made at the body's top level by an elementwise
        operation (a rule with partials) of constants, of values from
        outside the loop and of invariants; and nothing but such
        operations reads it anywhere (no alias, no update in place, no
        phi), so the object the loop left is as each iteration made it.
        """
        assigned = defined_in([loop])
        pure = self.read_only_values()
        invariant = set()
        for stmt in block:
            if isinstance(stmt, ssa.Assign) and stmt.target in pure and \
                    _reads_only(stmt) and not stmt.spreads() and all(
                        not isinstance(o, ssa.Var) or o.name in invariant
                        or o.name not in assigned for o in stmt.operands()):
                invariant.add(stmt.target)
        return invariant

    def read_only_values(self):
        """The names of the function whose objects nothing but elementwise
        operations reads, through any alias (a copy `b = a`, a phi) too
        (see `loop_invariants`)."""
        if self.read_only is None:
            escapes, aliases = set(), []  # aliases: (alias, name)
            for stmt in ssa.walk(self.func.body):
                if isinstance(stmt, ssa.Assign):
                    if stmt.fn is ssa.identity and stmt.target is not None \
                            and isinstance(stmt.args[0], ssa.Var):
                        aliases.append((stmt.target, stmt.args[0].name))
                    elif not _reads_only(stmt):
                        escapes |= {o.name for o in stmt.operands()
                                    if isinstance(o, ssa.Var)}
                    continue
                for phi in getattr(stmt, "phis", ()):
                    aliases += [(phi.target, o.name) for o in (
                        phi.left, phi.right) if isinstance(o, ssa.Var)]
                for field in ("test", "iter", "value"):
                    operand = getattr(stmt, field, None)
                    if isinstance(operand, ssa.Var):
                        escapes.add(operand.name)
                if isinstance(stmt, ssa.GradOf):
                    escapes.add(getattr(stmt.var, "name", None))
            changed = True
            while changed:
                changed = False
                for alias, name in aliases:
                    if alias in escapes and name not in escapes:
                        escapes.add(name)
                        changed = True
            self.read_only = defined_in(self.func.body) - escapes
        return self.read_only

    def shapes_only(self, taped, reverse_code):
        """Tape only the shape of values the reverse reads only to
        unbroadcast against, so the arrays themselves can be freed.

        Returns the expressions to push and the names to pop into; rewrites
        those reads in `reverse_code` to `runtime.unbroadcast_to`.
        """
        if self.complex:  # unbroadcast needs the dtype too, for the real part
            return [load(name) for name in taped], list(taped)
        targets = collections.defaultdict(list)  # name -> unbroadcast calls
        described = collections.Counter()  # name -> reads of its kind only
        for node in _walk(reverse_code):
            if _is_helper_call(node, "unbroadcast") and isinstance(
                    node.args[1], gast.Name):
                targets[node.args[1].id].append(node)
            for helper, position in _READ_AS_KIND.items():
                if _is_helper_call(node, helper) and len(node.args) > \
                        position and isinstance(node.args[position],
                                                gast.Name):
                    described[node.args[position].id] += 1
        reads = collections.Counter(
            n.id for n in _walk(reverse_code)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))
        pushed, popped = [], []
        for name in taped:
            calls = targets.get(name, [])
            if not calls or len(calls) != reads[name]:
                if reads[name] and described[name] == reads[name]:
                    # its shape and dtype are all that is read
                    pushed.append(self.runtime_call("like", [load(name)]))
                else:
                    pushed.append(load(name))
                popped.append(name)
                continue
            shape = self.namer.fresh(f"{name}_shape")
            pushed.append(self.runtime_call("shape", [load(name)]))
            popped.append(shape)
            for call in calls:
                call.func.attr = "unbroadcast_to"
                call.args[1] = load(shape)
        return pushed, popped

    def recomputable(self, stmt):
        """Cheaper to recompute than to tape: rank-0 and elementwise (or a
        tuple of numbers: an index `(i, j)`)."""
        rule = analysis.rule_of(stmt)
        cheap = stmt.fn is ssa.identity or stmt.fn in _COMPARISONS or (
            stmt.fn is ssa.make_tuple and not stmt.spreads()) or (
            rule is not None and rule.partials is not None and (
                not self.kernel or stmt.fn in _ARITHMETIC))
        # (compiled, a tape entry costs less than a `math.sin` again)
        return cheap and all(analysis.is_scalar(o, self.scalars)
                             for o in stmt.operands())

    def read_again(self, stmt, own, region):
        """Is `stmt` a number read at an index from an array or list made
        before the loop `region`, which nothing in the loop changes (`y[t]`
        of a data array), or from a module-level one (`L[i]`), which nothing
        in the function changes? It is then read again in the backward
        sweep rather than taped: the same number, and no memory per
        iteration. (Numba indexes no range.)"""
        held = stmt.args[0] if stmt.fn is operator.getitem else None
        made = self.definitions.get(getattr(held, "name", None))
        if getattr(made, "fn", None) is ssa.identity and isinstance(
                made.args[0], ssa.Free):  # (`L = ARM.lengths`, read again)
            held = made.args[0]
        if not (isinstance(held, ssa.Var) and held.name not in own or
                isinstance(held, ssa.Free)) or self.kernel and \
                self.is_range(held) or \
                not analysis.is_scalar(ssa.Var(stmt.target), self.scalars) \
                or not all(analysis.is_scalar(o, self.scalars)
                           for o in stmt.args[1:]):
            return False
        return self.unchanging(region if isinstance(held, ssa.Var)
                               else self.func)

    def unchanging(self, region):
        """Does `region` (a loop, or the function) change no array or list
        and call nothing but what has a rule or reads?"""
        if id(region) not in self._unchanging:
            self._unchanging[id(region)] = all(
                isinstance(s, (ssa.If, ssa.For, ssa.While, ssa.Return)) or
                isinstance(s, ssa.Assign) and s.fn is runtime.check_receiver
                or isinstance(s, ssa.Assign) and s.target is not None and
                s.fn not in _WRITES_IN_PLACE and (
                    s.fn in _READS or analysis.rule_of(s) is not None)
                for s in ssa.walk(region.body))
        return self._unchanging[id(region)]

    def forward_extra(self, region, place, uncounted=None):
        """Tape pushes and trip counts inserted into the forward sweep (not
        the count of the loop `uncounted`, whose steps a checkpointed
        loop's schedule runs)."""
        out = []
        trips = self.trips.get(id(region)) if region is not uncounted \
            else None
        if trips and place == "before":
            out.append(ssa.assign(trips, gast.Constant(0, None)))
        pushed = self.pushes.get((id(region), place))
        if pushed:
            value = pushed[0] if len(pushed) == 1 else gast.Tuple(
                trees.clone(pushed), gast.Load())
            push = gast.Call(gast.Attribute(load(self.tape_of(region, place)),
                                            "append", gast.Load()), [value],
                             [])
            out.append(gast.Expr(push))
        if trips and place == "end":
            out.append(ssa.assign(trips, gast.BinOp(
                load(trips), gast.Add(), gast.Constant(1, None))))
        return out

    def reverse_assign(self, stmt):
        if stmt.target not in self.defined:
            if stmt.fn is runtime.setitem_in_place:
                # an array with no adjoint, updated in place: the sweep
                # still puts back what the update overwrote, for the
                # adjoints before it that read the array (`a = u * w;
                # w[0] = 3.0`; see s2sad.inplace)
                _, index, _, old = stmt.args
                return self.comment_for(stmt, "grad of") + [gast.Expr(
                    self.runtime_call("restore", [
                        load(stmt.target), ssa.render_operand(index),
                        ssa.render_operand(old)]))]
            return []
        site = self.call_site(stmt, "vjp")
        if site is not None:
            return self.reverse_call(site)
        out = self.comment_for(stmt, "grad of")
        target_bar = load(self.bars[stmt.target])
        if stmt.fn is ssa.identity:
            (source,) = stmt.args
            if isinstance(source, ssa.Var) and source.name in self.active:
                self.accumulate(out, source.name, target_bar)
            return out
        if stmt.fn in (ssa.make_tuple, ssa.make_list, ssa.make_dict,
                       ssa.make_function):
            # the adjoint of a container holds one adjoint per item (of a
            # closure, per value it binds)
            items = enumerate(stmt.args)
            if stmt.fn is ssa.make_dict:
                items = ((ssa.render_operand(k), v)
                         for k, v in zip(stmt.args[::2], stmt.args[1::2]))
            elif stmt.fn is ssa.make_function:
                items = enumerate(self.closure_values(stmt))
            for key, item in items:
                if isinstance(item, ssa.Var) and item.name in self.active:
                    key = key if isinstance(key, gast.AST) \
                        else gast.Constant(key, None)
                    self.accumulate(out, item.name, gast.Subscript(
                        trees.clone(target_bar), key, gast.Load()))
            return out
        if stmt.fn is getattr and analysis.rule_of(stmt) is None:
            # a field of a namedtuple argument (anything else is refused)
            source = stmt.args[0]
            if isinstance(source, ssa.Var) and source.name in self.active:
                self.accumulate(out, source.name, self.runtime_call(
                    "attribute_adjoint", [target_bar, load(source.name),
                                          ssa.render_operand(stmt.args[1])]))
            return out
        found = self.rule_template(stmt, "adjoint", lambda tmpl, _: {
            tmpl.params[0]: self.bars[stmt.target]})
        if found is None:
            return out
        rule, tmpl, operands, filled = found
        out += filled.stmts
        if tmpl is rule.partials:
            contributions = [(p, _signed_times(target_bar, _reciprocal(
                rule, operands, p, stmt.target) or partial, stmt.target))
                for p, partial in partials(tmpl, filled)]
        else:
            contributions = filled.contributions
        inputs = tmpl.params[1:]
        self.check_covered(stmt, rule, tmpl, operands,
                           {p for p, _ in contributions})
        held = self.discrete(rule, tmpl, operands)
        for param, expr in contributions:
            operand = operands[param]
            if not (isinstance(operand, ssa.Var) and operand.name in
                    self.active) or param in held:
                continue
            others = [operands[p] for p in inputs if p != param]
            if self.complex or self.may_join(stmt) or \
                    rule.broadcasts and not all(
                        o == operand or analysis.is_scalar(o, self.scalars)
                        for o in others) and self.shape(ssa.Var(
                            stmt.target)) != self.shape(operand):
                if operand.name in self.totals() and not self.complex:
                    # (a number: summed to one, without reading it)
                    expr = self.runtime_call("unbroadcast_to", [
                        expr, gast.Tuple([], gast.Load())])
                else:
                    expr = self.runtime_call("unbroadcast",
                                             [expr, load(operand.name)])
                self.runtime_checks += 1
            elif _is_helper_call(expr, "unbroadcast") and \
                    self.adjoint_shape(expr.args[0], stmt) == \
                    self.shape(operand):
                expr = expr.args[0]  # (a template's: it has that shape)
            self.accumulate(out, operand.name, expr)
        return out

    def totals(self):
        """The names assigned a total reduction (`np.sum(x)`), or
        elementwise arithmetic of those and numbers (`np.sum(x) / n`):
        NumPy numbers or 0-d arrays, whose adjoints are summed to one."""
        if self._totals is None:
            self._totals = totals = set()
            for s in ssa.walk(self.func.body):  # (in order: operands first)
                if not isinstance(s, ssa.Assign) or s.target is None:
                    continue
                if analysis.is_total(s):
                    totals.add(s.target)
                elif analysis.is_elementwise(s) and any(
                        isinstance(o, ssa.Var) and o.name in totals
                        for o in s.operands()) and all(
                        isinstance(o, ssa.Var) and o.name in totals or
                        analysis.is_scalar(o, self.scalars)
                        for o in s.operands()):
                    totals.add(s.target)
        return self._totals

    def adjoint_shape(self, expr, stmt):
        """The shape key of `expr`, an expression of `stmt`'s template
        in the adjoint of its result (read through the helpers that keep
        its shape, and `runtime.item_adjoint` at stmt's own index), or
        None."""
        while _is_helper_call(expr, "keep_last") or _is_helper_call(
                expr, "through_cast"):
            expr = expr.args[0]
        if isinstance(expr, gast.Name) and \
                expr.id == self.bars.get(stmt.target):
            return self.shape(ssa.Var(stmt.target))
        if _is_helper_call(expr, "item_adjoint") and len(stmt.args) > 1 \
                and trees.same(expr.args[1], ssa.render_operand(stmt.args[1])):
            _, arrays, _, ints = self.shape_keys()
            return analysis.item_key(
                self.adjoint_shape(expr.args[0], stmt), stmt.args[1], ints,
                analysis.holds(arrays, stmt.args[0]))
        return None

    def run_hooks(self, names):
        """The bodies of `with s2sad.grad_of(name) as dx:` for these names,
        `dx` bound to the complete adjoint and then replacing it."""
        out = []
        for name in names:
            for hook in self.hooks.get(name, ()):
                if name not in self.defined:
                    continue  # no gradient flows through it
                line = self.source.lineno(hook.node)
                out.append(codegen.comment(
                    f"{HOOK_COMMENT} {line}: "
                    f"{self.source.line_text(hook.node)}"))
                out.append(ssa.assign(hook.name, load(self.bars[name])))
                out += ssa.to_python(hook.body)
                out.append(ssa.assign(self.bars[name],
                                      ssa.render_operand(hook.result)))
        return out

    def reverse_call(self, site):
        """A call into user code: going forward it runs the callee's vjp
        function, keeping its residuals; going back, the callee's backward
        function gives the cotangents of the differentiated arguments.
        Dispatched at run time, both are found when the call runs
        (`calls.vjp_functions`), and the backward one is kept too."""
        stmt = site.stmt
        out = self.comment_for(stmt, "grad of")
        kept = [self.namer.fresh(f"{stmt.target}_residuals")]
        forward = None
        if not site.binding:
            kept.insert(0, self.namer.fresh(f"{stmt.target}_pull"))
            forward = self.namer.fresh(f"{stmt.target}_vjp")
            self.locals.add(forward)
        self.locals.update(kept)
        self.call_forms[id(stmt)] = (site, kept, forward)
        target_bar = load(self.bars[stmt.target])
        if site.binding:
            pull = gast.Call(load(site.backward), [
                gast.Starred(load(kept[0]), gast.Load()), target_bar], [])
        else:
            pull = gast.Call(load(kept[0]), [load(kept[1]), target_bar], [])
        # a static backward gives the callee's parameters' cotangents, in
        # their order; a pull function gives them per slot
        order = site.binding.order if site.binding else range(len(site.slots))
        parts = [self.namer.temp() for _ in range(max(order, default=-1) + 1)]
        out.append(ssa.unpack(parts, pull))
        for operand, i in zip(site.operands, order):
            self.accumulate(out, operand.name, load(parts[i]))
        return out

    def render_primal(self, stmt):
        """A primal statement of the forward sweep: a call into user code
        whose adjoint is needed runs the callee's vjp function."""
        form = self.call_forms.get(id(stmt))
        if stmt.fn is runtime.check_unshared and analysis.is_scalar(
                stmt.args[0], self.scalars):
            return None  # a number is rebound, never updated in place
        if form is None:
            if stmt.fn is ssa.make_function and stmt.target in self.active:
                return self.closure(stmt)
            value = self.kernel_form(stmt) if self.kernel else None
            if value is not None:
                return codegen.located(ssa.assign(stmt.target, value),
                                       stmt.node)
            plain = _PLAIN_UPDATES.get(stmt.fn)
            if plain and self.assume_scalar and analysis.is_scalar(
                    stmt.args[0], self.scalars):
                # `nll += v` of a float: nothing else can see it change
                return codegen.located(ssa.assign(stmt.target, gast.BinOp(
                    ssa.render_operand(stmt.args[0]), plain(),
                    ssa.render_operand(stmt.args[1]))), stmt.node)
            return self.render_reading(stmt)
        site, kept, forward = form
        if site.binding:
            return ssa.unpack([stmt.target, kept[0]], self.direct_call(site))
        return [ssa.unpack([forward, kept[0]],
                           self.dispatch_call(site, "vjp_functions")),
                ssa.unpack([stmt.target, kept[1]],
                           self.dispatched_call(site, forward))]

    def residuals_in(self, stmts, nested=True):
        """The names keeping calls' residuals (and pull functions) in
        `stmts`."""
        found = ssa.walk(stmts) if nested else stmts
        return {name for s in found if id(s) in self.call_forms
                for name in self.call_forms[id(s)][1]}

    def accumulate(self, out, name, expr):
        bar = self.bar(name)
        if name in self.defined:
            expr = gast.BinOp(load(bar), gast.Add(), expr)
        self.defined.add(name)
        out.append(ssa.assign(bar, expr))


class _Checkpoint:
    """The names generated code gives a checkpointed loop's schedule, and
    how it runs some of the loop's steps."""

    def __init__(self, namer, builtin, checkpointed, loop, trips):
        self.builtin = builtin  # (Transform.builtin)
        self.checkpointed = checkpointed  # s2sad.checkpointed(...) or _while
        self.trips = trips  # a `while` loop's trip count (else None)
        # what a `for` loop indexes (range(len(...))), and by what
        self.sequence, self.index = getattr(loop, "iter", None), getattr(
            loop, "target", "_")
        self.schedule = namer.fresh("_schedule")
        self.snapshots = namer.fresh("_snapshots")
        self.start, self.stop, self.end, self.last = (
            namer.fresh(n) for n in ("_start", "_stop", "_end", "_last"))
        self.state = []  # the loop's header values its steps read

    def action(self):
        return [self.start, self.stop, self.end, self.last]

    def locals(self):
        return {self.schedule, self.snapshots, *self.action()}

    def steps(self, start, stop, backwards=False):
        """(target, iterations) of a loop over steps `start` to `stop`:
        `sequence[start:stop]` of a `for` loop's, `range(stop - start)`
        of a `while` loop's; last first if `backwards`."""
        if self.trips is None:
            iterations = gast.Subscript(
                ssa.render_operand(self.sequence), gast.Slice(
                    load(start), load(stop), None), gast.Load())
        else:
            iterations = gast.Call(self.builtin("range"), [gast.BinOp(
                load(stop), gast.Sub(), load(start))], [])
        if backwards and self.trips is None:
            iterations = gast.Call(self.builtin("reversed"), [iterations],
                                   [])
        return gast.Name(self.index, gast.Store(), None, None), iterations


def _argument(call, position, name):
    """The operand a call passes at `position` or as `name`, or the
    constant None."""
    if len(call.args) > position:
        return call.args[position]
    return next((v for k, v in call.kwargs if k == name), ssa.Const(None))


class _Journal:
    """A set of names with a log of its changes, so that a branch's
    changes can be read and undone in time proportional to them (not to
    the whole set, as a copy per branch would take)."""

    def __init__(self):
        self.items = set()
        self.log = []  # (added?, name), in order

    def __contains__(self, name):
        return name in self.items

    def add(self, name):
        if name not in self.items:
            self.items.add(name)
            self.log.append((True, name))

    def discard(self, name):
        if name in self.items:
            self.items.remove(name)
            self.log.append((False, name))

    def mark(self):
        return len(self.log)

    def changes(self, mark):
        """(names added, names removed) since `mark`."""
        first = {}
        for added, name in self.log[mark:]:
            first.setdefault(name, added)
        return ({n for n, added in first.items() if added and n in self.items},
                {n for n, added in first.items()
                 if not added and n not in self.items})

    def undo(self, mark):
        """Back to the set as it was at `mark`."""
        log, items = self.log, self.items
        while len(log) > mark:
            added, name = log.pop()
            if added:
                items.remove(name)
            else:
                items.add(name)


def _walk(stmts):
    for stmt in stmts:
        yield from trees.walk(stmt)


# `a op= b` (runtime.iadd, ...) of a number is `a = a op b`
_PLAIN_UPDATES = {runtime.iadd: gast.Add, runtime.isub: gast.Sub,
                  runtime.imul: gast.Mult, runtime.itruediv: gast.Div}
# what a kernel computes again in the backward sweep rather than tape
_ARITHMETIC = {operator.add, operator.sub, operator.mul, operator.truediv,
               operator.neg, operator.pos, abs}


def _reads_only(stmt):
    """Does `stmt` compute a new value from its operands, elementwise,
    without changing or keeping any of them (an update in place such as
    `a += b` does)?"""
    if stmt.fn is ssa.identity or stmt.fn in _IN_PLACE_ARITHMETIC:
        return False
    rule = analysis.rule_of(stmt)
    return rule is not None and rule.partials is not None


_IN_PLACE_ARITHMETIC = {operator.iadd, operator.isub, operator.imul,
                        operator.itruediv, operator.ipow, runtime.iadd,
                        runtime.isub, runtime.imul, runtime.itruediv,
                        runtime.ipow}

# the runtime helpers that read an argument's shape alone, by position
_READ_AS_SHAPE = {"reduced_size": 0, "expand_reduced": 1}
# runtime helpers that read only the shape and dtype of one argument (its
# position here), for which a `runtime.Like` stands in on the tape
_READ_AS_KIND = {"unbroadcast": 1, "getitem_adjoint": 1, "through_cast": 1,
                 "keep_last": 1, "zeros_like": 0}


# the key `late_key` gives a Python number (a constant, a count): rank 0,
# and of no dtype of its own (NEP 50)
_PYTHON_NUMBER = ("Python number",)


def _over_all(call, start=2):
    """Does a call of runtime.unreduce (or, from start=1, reduced_size)
    pass the defaults after its first `start` arguments: no axis, no
    keepdims, no mask?"""
    return not call.keywords and [getattr(a, "value", a) for a in call.args[
        start:]] == [None, False, True][:len(call.args) - start]


def _is_helper_call(node, helper):
    """Is `node` a call `<runtime>.helper(...)`?"""
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and node.func.attr == helper)


def _pack(names, ctx):
    """`a` for one name, `(a, b)` for several."""
    if len(names) == 1:
        return gast.Name(names[0], ctx, None, None)
    return gast.Tuple([gast.Name(n, ctx, None, None) for n in names], ctx)


def _reads(stmts):
    """Names the reverse code reads from the iteration it runs in: inside a
    nested reverse loop, what that loop restores for itself does not count."""
    found = set()
    stack = list(stmts)
    while stack:
        node = stack.pop()
        nested = getattr(node, "restores", None)
        if nested is not None:
            stack.append(node.iter)
            found |= _reads(node.body) - nested
        elif isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load):
                found.add(node.id)
        else:
            stack.extend(gast.iter_child_nodes(node))
    return found


_COMPARISONS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt,
                operator.ge, operator.not_)
