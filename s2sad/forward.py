"""Forward mode: from the SSA form to a Python function computing a JVP.

`jvp_f(x, y, x_dot, y_dot)` runs f's statements in order and, after each one
on a differentiated path, its tangent: `d[y] = sum of d[x_i] * partial_i`
for elementwise rules, the rule's tangent template otherwise (terms of
inputs with no tangent dropped). Branches and loops carry tangents through
their phis like the values themselves, so forward mode needs no tape.
"""

import gast

from s2sad import analysis, codegen, ssa, template, trees
from s2sad.transform import Generated, Transform, load, partials, times


def transform(func, argnums, backend="python", vector=False, linear=False):
    """Generate the forward-mode derivative of an SSA function.

    Args:
        func: an `ssa.Function`.
        argnums: the positions of the parameters that have tangents.
        vector: vector mode: `jvps_f(x, y, x_dot, y_dot)`, where each
            tangent carries a leading axis of directions (k tangents at
            once: `x_dot[i]` is the i-th; a length of 1 stands for the same
            tangent in every direction), and so does the output's.
        backend: "numba": the jvp of code on numbers is three functions
            (see `s2sad.kernels`): `jvp_f`, which checks that the arguments
            are numbers and calls `jvp_f_numba`, the kernel Numba compiles,
            or else `jvp_f_arrays`, the general jvp; a program that works
            on more than numbers is refused.
        linear: with `vector`, f is linear in the parameters at argnums
            (a backward sweep in its cotangent): `batched_f(x, y, x_dot,
            y_dot)` returns only the tangent, f of each direction (f's
            values are then computed only where tangents read their
            shapes).

    Returns:
        A list of `Generated` functions, the entry point first: a function
        `jvp_<name>(params..., tangents...)` that returns `(value, tangent
        of the value)`, and those it calls.
    """
    general = _Forward(func, argnums, vector=vector, linear=linear)
    if backend != "numba" or vector:
        return [general.generate()]
    name = f"jvp_{general.name}"
    compiled = _Forward(func, argnums, assume_scalar=general.kernel_guard(),
                        fallback=f"{name}_arrays",
                        kernel=f"{name}_numba").generate()
    generated = general.generate()
    generated.tree.name = f"{name}_arrays"
    return compiled + [generated]


class _Forward(Transform):
    def __init__(self, func, argnums, assume_scalar=(), fallback=None,
                 kernel=None, vector=False, linear=False):
        super().__init__(func, argnums)
        self.vector, self.linear = vector, linear
        self.zero_tangents = set()  # temporaries holding zero tangents
        self.output = analysis.returned(func.body)[-1]
        self.active = analysis.active(func, self.wrt, [self.output])
        # a kernel's variant: the parameters its guard checks are numbers
        self.assume_scalar = assume_scalar
        self.fallback, self.kernel = fallback, kernel
        if not kernel:
            self.check_receivers()
        self.scalars = analysis.known_scalars(func, assume_scalar)
        self.python = analysis.python_values(func, assume_scalar)
        self.within = analysis.within_shapes(func)
        self.dots = {p: self.namer.fresh(f"{p}_dot") for p in self.wrt}
        self._tuples = None  # see `returned_tuples`
        if kernel:  # (its inputs are real: see `scalar_guard`)
            self.complex = analysis.uses_complex(func, real_inputs=True)
            self.numpy_floats = self.namer.fresh("_numpy_floats")
            self.on_reals()

    def dot(self, name):
        if name not in self.dots:
            self.dots[name] = self.namer.fresh(f"{name}_dot")
        return self.dots[name]

    def generate(self):
        body = self.block(self.func.body)
        out = self.output
        result = self.output_tangent(out) if self.linear else gast.Tuple(
            [ssa.render_operand(out), self.output_tangent(out)], gast.Load())
        body.append(gast.Return(result))
        # (a linear function's values on a differentiated path are
        # cotangents, which the optimiser may remove where no tangent reads
        # them)
        derivative = {n for n in self.dots.values()} | {
            n.id for n in trees.walk(body)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)
        } - (self.locals - self.active if self.linear else self.locals)
        tangents = [self.dots[p] for p in self.wrt]
        summary = (f"Value and tangent of {self.func.name} along tangents of "
                   f"{', '.join(self.wrt)}.")
        if self.vector:
            summary = (f"Value of {self.func.name} and its tangents along k "
                       f"directions at once: each tangent of "
                       f"{', '.join(self.wrt)}, and the result's, has a "
                       "leading axis of directions.")
        if self.linear:
            summary = (f"{self.func.name} along k directions at once (it is "
                       f"linear in {', '.join(self.wrt)}): each of "
                       f"{', '.join(tangents)}, and the result, has a "
                       "leading axis of directions, the direction i giving "
                       f"{self.func.name} of the i-th.")
        if self.kernel:
            arrays = self.arrays_read(body)
            note = (f"Compiled by Numba (nopython mode) for jvp_{self.name}, "
                    "which checks its arguments" + (
                        f" and passes {', '.join(arrays)}, read as they are"
                        if arrays else "") + ".\n    ")
            kernel = self.function_def(self.kernel, self.func.params +
                                       tangents + arrays, body, summary, note)
            return [self.kernel_entry(tangents, arrays, summary), Generated(
                kernel, self.imports, derivative, floats=True,
                float_values=self.float_names(), kernel=True)]
        # after defaults or *args, tangents can only be keyword parameters
        params = ssa.signature(self.func, extra=tangents) if self.func.plain \
            else ssa.signature(self.func, keyword_only=tangents)
        prefix = "batched" if self.linear else "jvps" if self.vector \
            else "jvp"
        tree = self.function_def(f"{prefix}_{self.name}", params, body,
                                 summary)
        return Generated(tree, self.imports, derivative,
                         tangent_names=tangents, callees=self.callees)

    def kernel_entry(self, tangents, arrays, summary):
        """The Python function around a compiled kernel: its guard, the
        kernel's call, and the value and tangent made NumPy float64s where
        it was given those:

            value, value_dot = jvp_f_numba(x, n, x_dot)
            return runtime.float64s(value, value_dot) if _numpy_floats \\
                else (value, value_dot)
        """
        value, tangent = self.entry_names(["value", "value_dot"], tangents)
        pair = gast.Tuple([value, tangent], gast.Load())
        body = self.kernel_call(pair, arrays, tangents) + [
            gast.Return(gast.IfExp(load(self.numpy_floats), self.runtime_call(
                "float64s", [value, tangent]), pair))]
        note = (f"Specialised to Python floats and NumPy float64s, computed "
                f"by {self.kernel}, which Numba compiles; other inputs go to "
                f"{self.fallback}.\n    ")
        tree = self.function_def(f"jvp_{self.name}", self.func.params +
                                 tangents, body, summary, note)
        return Generated(tree, self.imports, set(), tangent_names=tangents,
                         calls=(self.kernel, self.fallback), floats=True)

    def output_tangent(self, operand):
        """The tangent of the output: in a kernel, a tuple's is a tuple of
        its items' tangents even where none has one (a compiled zero of a
        number is a number)."""
        made = self.definitions.get(getattr(operand, "name", None))
        if not self.kernel or made is None or operand.name in self.active \
                or operand.name not in self.returned_tuples():
            return self.tangent_of(operand)
        return gast.Tuple([self.output_tangent(a) for a in made.args],
                          gast.Load())

    def returned_tuples(self):
        """The tuples of numbers a jvp on numbers may return, `return y,
        aux`, and those in them: their tangents are tuples too."""
        if self._tuples is None:
            self._tuples, todo = set(), [self.output]
            while todo:
                made = self.definitions.get(getattr(todo.pop(), "name", None))
                if made is not None and made.fn is ssa.make_tuple and \
                        not made.spreads() and made.target not in self._tuples:
                    self._tuples.add(made.target)
                    todo += made.args
        return self._tuples

    def tangent_of(self, operand):
        """The tangent of an operand: its dot name, or a zero like it."""
        if isinstance(operand, ssa.Var) and operand.name in self.active:
            return load(self.dots[operand.name])
        if isinstance(operand, ssa.Undefined):
            return gast.Constant(None, None)
        if isinstance(operand, ssa.Const) and isinstance(
                operand.value, (int, float, complex)) and not self.vector:
            return gast.Constant(0.0, None)
        # a variable, a module-level array (`C`), a constant tuple
        return self.zero(ssa.render_operand(operand))

    def zero(self, value):
        """A zero tangent like `value` (in vector mode, of one direction,
        which broadcasts over all of them)."""
        return self.runtime_call(
            "zero_directions" if self.vector else "zero_tangent", [value])

    def copies(self, phis, side):
        """Values and tangents along one edge into the phis."""
        out = []
        for phi in phis:
            source = getattr(phi, side)
            if isinstance(source, ssa.Var) and source.name == phi.target:
                continue
            out.append(ssa.assign(phi.target, ssa.render_operand(source)))
            if phi.target in self.active:
                out.append(ssa.assign(self.dot(phi.target),
                                      self.tangent_of(source)))
        return out

    def block(self, stmts):
        out = []
        for stmt in stmts:
            if isinstance(stmt, ssa.Assign):
                out += self.comment_for(stmt, "from")
                site = self.call_site(
                    stmt, "vector" if self.vector else "forward")
                if site is not None:
                    out += self.forward_call(site)
                    continue
                if stmt.fn is ssa.make_function and stmt.target in \
                        self.active:  # its tangent: its captured values
                    out += self.closure(stmt)
                    out.append(ssa.assign(self.dot(stmt.target), gast.Tuple(
                        [self.tangent_of(a) for a in self.closure_values(
                            stmt)], gast.Load())))
                    continue
                out.append(self.primal(stmt))
                if stmt.target in self.active:
                    out += self.tangent(stmt)
                else:
                    self.check_effect(stmt)
            elif isinstance(stmt, ssa.If):
                then = self.block(stmt.body) + self.copies(stmt.phis, "left")
                orelse = self.block(stmt.orelse) + self.copies(stmt.phis,
                                                               "right")
                out += self.read_test(stmt, gast.If(
                    ssa.render_operand(stmt.test), then or [gast.Pass()],
                    orelse))
            elif isinstance(stmt, ssa.For):
                out += self.copies(stmt.phis, "left")
                body = self.block(stmt.body) + self.copies(stmt.phis, "right")
                target = gast.Name(stmt.target, gast.Store(), None, None)
                out.append(gast.For(target, ssa.render_operand(stmt.iter),
                                    body or [gast.Pass()], [], None))
            elif isinstance(stmt, ssa.While):
                out += self.copies(stmt.phis, "left")
                body = self.block(stmt.test_body)
                body += self.read_test(stmt, gast.If(gast.UnaryOp(
                    gast.Not(), ssa.render_operand(stmt.test)),
                    [gast.Break()], []))
                body += self.block(stmt.body) + self.copies(stmt.phis, "right")
                out.append(gast.While(gast.Constant(True, None), body, []))
        return out

    def primal(self, stmt):
        """A primal statement, as a kernel computes it where Numba's own
        would differ from Python's (see `Transform.kernel_form`)."""
        value = self.kernel_form(stmt) if self.kernel else None
        if value is None:
            return self.render_reading(stmt)
        return codegen.located(ssa.assign(stmt.target, value), stmt.node)

    def forward_call(self, site):
        """`y, y_dot = jvp_g(args..., x_dot=a_dot)`: a call into user code
        runs the callee's jvp function (found by `calls.jvp_function` when
        the call runs, for a callee known only then)."""
        stmt = site.stmt
        dots = [load(self.dots[o.name]) for o in site.operands]
        if site.binding:
            keywords = [gast.keyword(site.tangent_names[i], dot)
                        for i, dot in zip(site.binding.order, dots)]
            return [ssa.unpack([stmt.target, self.dot(stmt.target)],
                               self.direct_call(site, keywords))]
        # dispatched: its jvp function is found when the call runs
        jvp = self.namer.fresh(f"{stmt.target}_jvp")
        self.locals.add(jvp)
        return [ssa.assign(jvp, self.dispatch_call(
                    site, "vector_jvp_function" if self.vector
                    else "jvp_function")),
                ssa.unpack([stmt.target, self.dot(stmt.target)],
                           self.dispatched_call(site, jvp, dots))]

    def tangent(self, stmt):
        """The statements computing the tangent of `stmt.target`."""
        out = []
        target_dot = self.dot(stmt.target)
        if stmt.fn is ssa.identity:
            out.append(ssa.assign(target_dot, self.tangent_of(stmt.args[0])))
            return out
        if stmt.fn in (ssa.make_tuple, ssa.make_list):
            items = [self.tangent_of(a) for a in stmt.args]
            kind = gast.Tuple if stmt.fn is ssa.make_tuple else gast.List
            out.append(ssa.assign(target_dot, kind(items, gast.Load())))
            return out
        if stmt.fn is ssa.make_dict:
            keys = [ssa.render_operand(k) for k in stmt.args[::2]]
            items = [self.tangent_of(v) for v in stmt.args[1::2]]
            out.append(ssa.assign(target_dot, gast.Dict(keys, items)))
            return out

        if stmt.fn is getattr and analysis.rule_of(stmt) is None:
            out.append(ssa.assign(target_dot, gast.Attribute(
                self.tangent_of(stmt.args[0]), stmt.args[1].value,
                gast.Load())))
            return out

        def d_names(tmpl, operands):
            names = {tmpl.params[0]: target_dot}
            held = self.discrete(analysis.rule_of(stmt), tmpl, operands)
            for param in tmpl.params[1:]:
                operand = operands[param]
                if isinstance(operand, ssa.Var) and operand.name in \
                        self.active and param not in held:
                    names[param] = self.dots[operand.name]
                elif tmpl.structural and param in tmpl.reads_d:
                    names[param] = self.namer.temp()  # zeros, set below
                    self.zero_tangents.add(names[param])
                    out.append(ssa.assign(names[param],
                                          self.tangent_of(operand)))
                else:
                    names[param] = _NO_TANGENT
            return names
        rule = analysis.rule_of(stmt)
        kind = "batched" if self.vector and rule is not None and \
            rule.batched is not None else "tangent"
        found = self.rule_template(stmt, kind, d_names)
        if found is None:  # a zero derivative: the target is not active
            return []
        rule, tmpl, operands, filled = found
        self.check_covered(stmt, rule, tmpl, operands, tmpl.reads_d)
        # vector mode, a rule without a batched form: its tangent template
        # runs once per direction
        per_direction = self.vector and tmpl is not rule.partials and \
            tmpl is not rule.batched
        if not per_direction:
            out += filled.stmts
        if tmpl is rule.partials:
            # (a list's tangent, given in its structure, as the operation
            # read the list: an array)
            sequences = self.sequences(stmt, operands)
            terms = [times(self.term_tangent(
                stmt, rule, operands, p, p in sequences), partial)
                     for p, partial in partials(tmpl, filled)
                     if isinstance(operands[p], ssa.Var)
                     and operands[p].name in self.active]
        else:
            (_, expr), = filled.contributions
            terms = [t for t in _terms(expr) if not any(
                isinstance(n, gast.Name) and n.id == _NO_TANGENT
                for n in gast.walk(t))]
        # (before the tangent: `xs_dot * 2.0`; a value with a tangent is no
        # int, as forward mode refuses int inputs)
        if self.may_join(stmt, self.active):
            out.append(gast.Expr(self.runtime_call("not_joined",
                                                   [load(stmt.target)])))
        if not terms:  # active only through inputs read for their shape
            out.append(ssa.assign(target_dot, self.zero(load(stmt.target))))
            return out
        value = terms[0]
        for term in terms[1:]:
            value = gast.BinOp(value, gast.Add(), term)
        if per_direction:
            made, value = self.per_direction(stmt, value, filled.stmts)
            out += made
        inputs = [o for o in (operands[p] for p in tmpl.params[1:])
                  if not isinstance(o, template.Default)]
        varying = {o.name for o in inputs if isinstance(o, ssa.Var)
                   and o.name in self.active}
        if rule.broadcasts and any(
                not (isinstance(o, ssa.Var) and o.name in varying)
                and not analysis.is_scalar(o, self.scalars)
                and self.within.get(getattr(o, "name", None)) not in varying
                for o in inputs):
            # an input without a tangent may broadcast the output wider
            # than the tangents: `y + a` with only scalar `a` varying (not
            # `s - np.max(s, axis=1, keepdims=True)`, the max within s)
            value = self.runtime_call(
                "broadcast_directions" if self.vector else "broadcast_like",
                [value, load(stmt.target)])
        out.append(ssa.assign(target_dot, value))
        return out

    def term_tangent(self, stmt, rule, operands, param, sequence):
        """The tangent of an elementwise operation's input, as its partial
        multiplies it: a list read as an array is one (`runtime.array_of`);
        in vector mode, an input that may have fewer axes than the output
        gets them after its axis of directions (`runtime.lifted`), where
        NumPy's broadcasting would add them before it. (It has all of them
        where the other inputs are numbers: `x ** 2`.)"""
        operand = operands[param]
        dot = load(self.dots[operand.name])
        if not self.vector:
            return self.as_array(dot) if sequence else dot
        if sequence:
            dot = self.runtime_call("array_of_directions", [dot])
        others = [o for p, o in operands.items() if p != param and
                  p in rule.inputs() and not isinstance(o, template.Default)]
        if rule.broadcasts and (sequence or not all(
                analysis.is_scalar(o, self.scalars) for o in others)):
            dot = self.runtime_call("lifted", [dot, load(stmt.target)])
        return dot

    def per_direction(self, stmt, value, stmts):
        """A tangent template without a vector form, run once per direction
        by `runtime.per_direction`: (statements, the tangent). Its tangents
        are the parameters of a lambda, or, for a template of several
        statements, of a function, named as they are outside:

            runtime.per_direction(lambda x_dot: np.fft.fft(x_dot), x_dot)
        """
        tangent_names = set(self.dots.values()) | self.zero_tangents
        read = [n.id for part in stmts + [value] for n in trees.walk(part)
                if isinstance(n, gast.Name) and n.id in tangent_names]
        names = list(dict.fromkeys(read))
        params = gast.arguments(
            [gast.Name(n, gast.Param(), None, None) for n in names], [],
            None, [], [], None, [])
        tangents = [load(n) for n in names]
        if not stmts:
            return [], self.runtime_call(
                "per_direction", [gast.Lambda(params, value)] + tangents)
        name = self.namer.fresh(f"{stmt.target}_tangent")
        self.locals.add(name)
        definition = gast.FunctionDef(name, params, stmts + [
            gast.Return(value)], [], None, None, [])
        return [definition], self.runtime_call(
            "per_direction", [load(name)] + tangents)


_NO_TANGENT = "_s2sad_no_tangent"  # d[x] of an input without a tangent


def _terms(expr):
    """The summands of `a + b - c` (`-c` for a subtracted term)."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Add,
                                                             gast.Sub)):
        right = _terms(expr.right)
        if isinstance(expr.op, gast.Sub):
            right = [gast.UnaryOp(gast.USub(), t) for t in right]
        return _terms(expr.left) + right
    return [expr]
