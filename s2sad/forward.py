"""Forward mode: from the SSA form to a Python function computing a JVP.

`jvp_f(x, y, x_dot, y_dot)` runs f's statements in order and, after each one
on a differentiated path, its tangent: `d[y] = sum of d[x_i] * partial_i`
for elementwise rules, the rule's tangent template otherwise (terms of
inputs with no tangent dropped). Branches and loops carry tangents through
their phis like the values themselves, so forward mode needs no tape.
"""

import gast

from s2sad import analysis, ssa, template, trees
from s2sad.transform import Generated, Transform, load, partials, times


def transform(func, argnums):
    """Generate the forward-mode derivative of an SSA function.

    Args:
        func: an `ssa.Function`.
        argnums: the positions of the parameters that have tangents.

    Returns:
        A `Generated` function `jvp_<name>(params..., tangents...)` that
        returns `(value, tangent of the value)`.
    """
    return _Forward(func, argnums).generate()


class _Forward(Transform):
    def __init__(self, func, argnums):
        super().__init__(func, argnums)
        self.output = analysis.returned(func.body)[-1]
        self.active = analysis.active(func, self.wrt, [self.output])
        self.scalars = analysis.known_scalars(func)
        self.python = analysis.python_values(func)
        self.dots = {p: self.namer.fresh(f"{p}_dot") for p in self.wrt}

    def dot(self, name):
        if name not in self.dots:
            self.dots[name] = self.namer.fresh(f"{name}_dot")
        return self.dots[name]

    def generate(self):
        body = self.block(self.func.body)
        out = self.output
        result = gast.Tuple([ssa.render_operand(out), self.tangent_of(out)],
                            gast.Load())
        body.append(gast.Return(result))
        derivative = {n for n in self.dots.values()} | {
            n.id for n in trees.walk(body)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)
        } - self.locals
        tangents = [self.dots[p] for p in self.wrt]
        # after defaults or *args, tangents can only be keyword parameters
        params = ssa.signature(self.func, extra=tangents) if self.func.plain \
            else ssa.signature(self.func, keyword_only=tangents)
        summary = (f"Value and tangent of {self.func.name} along tangents of "
                   f"{', '.join(self.wrt)}.")
        tree = self.function_def(f"jvp_{self.name}", params, body, summary)
        return Generated(tree, self.imports, derivative,
                         tangent_names=tangents, callees=self.callees)

    def tangent_of(self, operand):
        """The tangent of an operand: its dot name, or a zero like it."""
        if isinstance(operand, ssa.Var) and operand.name in self.active:
            return load(self.dots[operand.name])
        if isinstance(operand, ssa.Undefined):
            return gast.Constant(None, None)
        if isinstance(operand, ssa.Const) and isinstance(
                operand.value, (int, float, complex)):
            return gast.Constant(0.0, None)
        # a variable, a module-level array (`C`), a constant tuple
        return self.runtime_call("zero_tangent",
                                 [ssa.render_operand(operand)])

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
                site = self.call_site(stmt, "forward")
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
                out.append(self.render_reading(stmt))
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
        return [ssa.assign(jvp, self.dispatch_call(site, "jvp_function")),
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
                    out.append(ssa.assign(names[param],
                                          self.tangent_of(operand)))
                else:
                    names[param] = _NO_TANGENT
            return names
        found = self.rule_template(stmt, "tangent", d_names)
        if found is None:  # a zero derivative: the target is not active
            return []
        rule, tmpl, operands, filled = found
        self.check_covered(stmt, rule, tmpl, operands, tmpl.reads_d)
        out += filled.stmts
        if tmpl is rule.partials:
            # (a list's tangent, given in its structure, as the operation
            # read the list: an array)
            sequences = self.sequences(stmt, operands)
            terms = [times(self.as_array(load(self.dots[operands[p].name]))
                           if p in sequences else
                           load(self.dots[operands[p].name]), partial)
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
            out.append(ssa.assign(target_dot, self.runtime_call(
                "zero_tangent", [load(stmt.target)])))
            return out
        value = terms[0]
        for term in terms[1:]:
            value = gast.BinOp(value, gast.Add(), term)
        if rule.broadcasts and any(
                not (isinstance(o, ssa.Var) and o.name in self.active)
                and not analysis.is_scalar(o, self.scalars)
                for o in (operands[p] for p in tmpl.params[1:])
                if not isinstance(o, template.Default)):
            # an input without a tangent may broadcast the output wider
            # than the tangents: `y + a` with only scalar `a` varying
            value = self.runtime_call("broadcast_like",
                                      [value, load(stmt.target)])
        out.append(ssa.assign(target_dot, value))
        return out


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
