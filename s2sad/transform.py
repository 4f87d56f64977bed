"""What reverse and forward mode share: the generated function, naming of
free names, rule lookup with located errors, and emission.

A mode subclasses `Transform` and walks the SSA form; `rule_template` gives it
the filled-in template of each statement's rule or explains, at the user's
line, why there is none.
"""

import inspect

import gast

from s2sad import analysis, codegen, errors, runtime, ssa, template


class Generated:
    """A generated function: its gast tree and the free names it needs.

    Attributes:
        tree: a `gast.FunctionDef`.
        imports: name -> object for names the generated code uses that the
            user's function does not (numpy as `np`, s2sad's `runtime`).
        derivative_names: names the derivative code assigns (adjoints,
            tangents, template temporaries): values that are floats.
        runtime_checks: how many unbroadcasts and shape checks it makes.
        calls: the name of another generated function it calls, or None.
        taped: whether it keeps a tape for loops (and so cannot be
            differentiated again yet).
    """

    def __init__(self, tree, imports, derivative_names, runtime_checks=0,
                 calls=None, taped=False):
        self.tree = tree
        self.imports = imports
        self.derivative_names = derivative_names
        self.runtime_checks = runtime_checks
        self.calls = calls
        self.taped = taped
        self.runtime_name = next((n for n, v in imports.items()
                                  if v is runtime), "runtime")


class Transform:
    """The state of one transformation of an SSA function."""

    def __init__(self, func, argnums):
        self.func = func
        self.source = func.source
        self.namer = func.namer.copy()
        self.argnums = argnums
        positions = (argnums,) if isinstance(argnums, int) else argnums
        self.wrt = [func.params[i] for i in positions]
        self.imports = {}
        self.locals = set(func.params) | defined_in(func.body)
        self.line = None  # the source line of the block being emitted
        self.complex = analysis.uses_complex(func)

    def import_name(self, name, value):
        """The name generated code uses to reach `value` (`np`, `runtime`)."""
        for known, obj in self.imports.items():
            if obj is value:
                return known
        if self.source.lookup(name) is value and name not in self.locals:
            return name  # the user's namespace already binds it
        new = name if name not in self.namer.taken else self.namer.fresh(name)
        self.namer.reserve(new)
        self.imports[new] = value
        return new

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
        # a mode's own template overrides the partials (np.abs's tangent)
        tmpl = None if rule is None else getattr(rule, kind) or rule.partials
        if rule is not None and not rule.differentiable:
            return None
        if tmpl is None:
            mode = "reverse" if kind == "adjoint" else "forward"
            if isinstance(stmt.fn, ssa.Method):
                advice = ("method calls are not differentiated yet; call the "
                          f"function instead (e.g. np.{stmt.fn.name}(x, ...))")
            elif rule is not None:
                advice = f"it has no {mode}-mode rule; add one with @s2sad.{kind}"
            elif stmt.callee is not None and inspect.isfunction(stmt.fn):
                advice = ("calls into your own functions are not "
                          "differentiated yet; inline its body here, or give "
                          f"it a rule with @s2sad.{kind}")
            else:
                advice = (f"define one with @s2sad.{kind}, or mark it "
                          "s2sad.non_differentiable if its derivative is zero")
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"no derivative rule for {describe(stmt)}; {advice}")
        try:
            operands = template.bind(tmpl, stmt, output=_OUTPUT)
        except TypeError as exc:
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"the derivative rule for {describe(stmt)} does not accept "
                f"these arguments ({exc})") from None
        filled = template.fill(tmpl, operands, d_names(tmpl, operands),
                               self.namer, self.import_name)
        return rule, tmpl, operands, filled

    def check_covered(self, stmt, rule, tmpl, operands, covered):
        """A differentiated value passed where the rule gives no derivative
        would get a silent zero: refuse it, unless the rule declares that
        input constant (read for its shape or dtype). An elementwise rule
        declares an input constant by giving it the partial None."""
        if tmpl is rule.partials:
            return
        for param in tmpl.params[1:]:
            operand = operands.get(param)
            if param in covered or param in rule.constants or not (
                    isinstance(operand, ssa.Var)
                    and operand.name in self.active):
                continue
            raise self.source.error(
                errors.UnsupportedCallError, stmt.node,
                f"{describe(stmt)} has no derivative with respect to its "
                f"argument `{param}`, and a differentiated value reaches it "
                "here; compute that argument from values that are not "
                "differentiated")

    def comment_for(self, stmt, verb):
        """`# <verb> line N: <source>` when a new source line begins."""
        line = self.source.lineno(stmt.node)
        if line is None or line == self.line:
            return []
        self.line = line
        text = self.source.line_text(stmt.node)
        return [codegen.comment(f"{verb} line {line}: {text}")]

    def function_def(self, fn_name, params, body, summary, note=""):
        doc = (f"{summary}\n\n    {note}Generated by s2sad from "
               f"{self.source.filename}, line {self.source.first_line}; do "
               "not edit.\n    ")
        args = [gast.Name(p, gast.Param(), None, None) for p in params]
        return gast.FunctionDef(
            name=fn_name, args=gast.arguments(args, [], None, [], [], None, []),
            body=[gast.Expr(gast.Constant(doc, None))] + body,
            decorator_list=[], returns=None, type_comment=None, type_params=[])


_OUTPUT = object()


def partials(tmpl, filled):
    """(input parameter, partial derivative) pairs of a filled elementwise
    rule, without the inputs it declares non-differentiable (None)."""
    returned = filled.returned
    exprs = returned.elts if isinstance(returned, gast.Tuple) else [returned]
    return [(param, expr) for param, expr in zip(tmpl.params[1:], exprs)
            if not (isinstance(expr, gast.Constant) and expr.value is None)]


def load(identifier):
    """A gast expression reading `identifier`."""
    return gast.Name(identifier, gast.Load(), None, None)


def describe(stmt):
    """How an error message names the operation of `stmt`."""
    if stmt.callee is not None:
        return f"`{ssa._text(stmt.callee)}`"
    if stmt.fn is getattr:
        return f"attribute `.{stmt.args[1].value}`"
    if isinstance(stmt.fn, ssa.Method):
        return f"`.{stmt.fn.name}()`"
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
