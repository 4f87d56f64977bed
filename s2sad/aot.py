"""Ahead-of-time modules: the code s2sad generates for the functions of a
file, written as a Python module that can be imported on its own
(`s2sad FILE -o grads.py`, see `cli`).

`module_source(functions, ...)` gives the text of a module holding, for
each function, the generated function `s2sad.show` prints (`grad_f`,
`jvp_f`) and every generated function it calls: its float variant's
fallback, the forward and backward sweeps of the callees' vector-Jacobian
products. Each is written from the source of its compiled parts
(`derive.Transformation`), and each free name of that source is bound at
the top of the module to the object it is bound to in the running program:

- s2sad's own names (`runtime`, `calls`, a rule's helper, `np` when the
  user's module does not bind it) to an import of that object, and a
  number (a rule's constant) to its value;
- a callee's generated function to its definition in the module;
- a closure variable (of the user's function, or of generated code when
  a derivative is differentiated) to the value it holds now: a snapshot;
- the function a `functools.wraps` wrapper at the top of the user's
  module wraps (the wrapper's closure variable) to that wrapper's
  `__wrapped__`, read off the user's module (`_user.timed_f.__wrapped__`);
- a builtin stays a builtin.

For a function taking `*args` whose argnums name items of it, the
generated code gives the gradient of the `*args` tuple as a whole; the
function the module names after it (`grad_f`) is a small adapter that
picks the items' gradients from it, as `s2sad.grad` does.

A global of the user's module (other than a module, which is imported) is
not bound: the code reads it off the user's module when it runs
(`_user.SCALE`), as generated code reads it in the running program. The
written module imports the user's module (`_user`) by the file's path
relative to it (reusing the module already imported from that file, and
otherwise importing it under the file's name when that names no other
module), or by module name; a global of another module of the user's is
read off that module (`helpers.SCALE`).

Where two names would be one, builtins keep theirs first, then the
functions asked for, then the others in the order found; the rest are
renamed, in the code that reads them too (at the positions `ast` gives, so
that the comments stay).

With `standalone`, the module does not import s2sad: the definitions of
the s2sad objects the code reads (functions, classes and constants of
`s2sad.runtime`, `s2sad.errors` and the rule modules) are copied from
their source, with the definitions they read in turn, found by walking the
free names of each copied definition (`symtable`); a module read by
attribute (`runtime.seed`) becomes a namespace of the copied definitions.
A function whose code needs s2sad's engine when it runs (`calls`, which
derives a function known only then, such as one passed as an argument)
cannot be written standalone, and is refused.

An error raised in the module's code names the user's line it came from,
as in a running program: each function asked for passes an exception
leaving it to `errors.locate` (in a `try:` around its body, free until an
exception is raised), and the module's last statement records the user's
line of each of its lines (`errors.map_module`). A standalone module,
which does not import s2sad, names only its own lines.

A written module is a snapshot: it has none of the freshness guards of
in-process s2sad (see `derive`), and says so in its header, whose first
line (`MARKER`) tells the command line that a file is s2sad's output.
"""

import ast
import builtins
import datetime
import inspect
import keyword
import os
import platform
import re
import symtable
import sys
import textwrap
import types

import numpy as np

import s2sad
from s2sad import api, derive, errors, trees

MARKER = "# s2sad-output: written by s2sad; do not edit, generate it again."

# the modules of s2sad whose definitions a standalone module may copy: what
# generated code calls at run time, never the engine that generates it
_COPYABLE = re.compile(r"s2sad\.(runtime|errors|checkpoints|rules\.(?!registry$)\w+)$")
_RESERVED = {"_user", "_load_module", "__all__"}
_ORDER = ("module", "from", "value", "builtin", "copy", "namespace", "part")


def is_output(path):
    """Is the file at `path` a module or text s2sad wrote (its first line
    the marker)?"""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.readline().startswith(MARKER.split(":")[0] + ":")
    except OSError:
        return False


def module_source(functions, source, output, mode="reverse", argnums=None,
                  optimize=True, standalone=False, module_name=None,
                  command=None, names=None):
    """The text of the module of the generated functions of `functions`.

    Args:
        functions: functions defined in `source`, the user's module (as
            the command line imports it).
        output: the path the module will be written to (the user's file
            is imported by its path relative to it).
        argnums: a function of a function, its argnums (default 0).
        module_name: import the user's module by this name instead.
        command: the command line to name in the header.
        names: a function of a function, the name `source` binds it to
            (`loss_b = make(3.0)`: grad_loss_b, not grad_loss); default
            its own.

    Returns:
        (text, [an S2SADError for each function left out]).
    """
    writer = _Writer(source, output, standalone, module_name)
    failures = []
    for func in functions:
        try:
            numbers = argnums(func) if argnums else 0
            instance = api.generated_function(func, mode, numbers, optimize)
            writer.add(func, instance, _items(func, numbers),
                       names(func) if names else func.__name__)
        except errors.S2SADError as err:
            failures.append(err)
    try:
        return writer.text(command), failures
    except _Refused as refused:
        raise errors.S2SADError(f"{source.__file__}: cannot write the "
                                f"module: {refused}") from None


class _Refused(Exception):
    """What makes a function impossible to write into the module."""


class _Binding:
    """A top-level name of the module being written: what it binds
    (`kind` and the fields of that kind), the name it would like, and the
    names its definition reads (`reads`: name in its text -> the key of a
    binding, or ("attribute", module key or None, name) for a global read
    off a module when the code runs).
    """

    def __init__(self, kind, wanted, **fields):
        self.kind, self.wanted = kind, wanted
        self.name = None  # given by `_Writer.name`
        self.reads = {}
        self.public = False
        for field, value in fields.items():
            setattr(self, field, value)


class _Writer:
    """The module being written: its bindings, keyed by what they bind."""

    def __init__(self, source, output, standalone, module_name):
        self.source, self.output = source, output
        self.standalone, self.module_name = standalone, module_name
        self.bindings = {}  # key -> _Binding, in the order found
        self.attributes = {}  # namespace key -> {attribute: binding key}
        self.parts = {}  # id(code) -> (Transformation, part index)
        self.public = []  # the keys of the functions asked for
        self.paths = {}  # a user's file -> the path the module shows

    def add(self, func, instance, items=None, name=None):
        """Write the generated function `instance` of `func` and what it
        calls, or nothing (raising S2SADError) if any of it cannot be.
        With `items` (see `_items`), the function asked for is an adapter
        giving those gradients of what `instance` gives. It is named after
        `name` (default: func's own)."""
        saved = (dict(self.bindings),
                 {k: dict(v) for k, v in self.attributes.items()})
        try:
            transformation = instance.__s2sad_transformation__
            self._register(transformation)
            key = ("part", id(instance))
            new = key not in self.bindings
            self._part(transformation, 0, instance)
        except _Refused as refused:
            self.bindings, self.attributes = saved
            code = func.__code__
            raise errors.S2SADError(
                f"{func.__qualname__} cannot be written into a module: "
                f"{refused}", code.co_filename, code.co_firstlineno) from None
        binding = self.bindings[key]
        binding.public = items is None
        if new:  # named after func (not the adapter of a function with a
            # rule, `call_f`, which the transformation is of)
            # (the end only: a wrapper's code, `w`, is inside its name)
            own = transformation.code.co_name
            if own == "<lambda>" and name and "lambda" in binding.wanted:
                # (`sq = lambda x: ...`: grad_sq, not grad_lambda_36)
                binding.wanted = binding.wanted[
                    :binding.wanted.index("lambda")] + name
            elif binding.wanted.endswith("_" + own):
                binding.wanted = binding.wanted[:-len(own)] + (
                    name or func.__name__)
        if items is not None:
            key = self._adapter(key, *items)
        if key not in self.public:
            self.public.append(key)

    def _adapter(self, inner, items, single):
        """A function named as the generated function `inner` (a key),
        which gives the gradients of the items of `*args` that argnums
        name (and of the parameters they name), as `s2sad.grad` does,
        where `inner` gives that of the `*args` tuple as a whole."""
        picks = [f"grads[-1][{i[0]}]" if isinstance(i, tuple)
                 else f"grads[{i}]" for i in items]
        result = picks[0] if single else f"({', '.join(picks)},)"
        name = self.bindings[inner].wanted
        text = (f"def {name}(*args, **kwargs):\n"
                '    """The gradients of the arguments argnums name, items '
                'of *args among\n'
                "    them, as s2sad.grad gives them (the code below gives "
                'the tuple\'s)."""\n'
                "    grads = _whole(*args, **kwargs)\n"
                f"    return {result}\n")
        key = ("adapter", inner)
        binding, _ = self._bind(key, "part", name, text=text, defines=name)
        binding.reads["_whole"] = inner
        binding.public = True
        return key

    def _register(self, transformation):
        """Know the parts of a transformation and of those it calls."""
        for index, part in enumerate(transformation.parts):
            if id(part.code) in self.parts:
                return
            self.parts[id(part.code)] = (transformation, index)
        for callee in transformation.callees:
            self._register(callee.__s2sad_transformation__)

    def _bind(self, key, kind, wanted, **fields):
        """The binding of `key`, made if new (then True as the second)."""
        if key in self.bindings:
            return self.bindings[key], False
        binding = self.bindings[key] = _Binding(kind, wanted, **fields)
        return binding, True

    # the kinds of binding -------------------------------------------------

    def _part(self, transformation, index, function):
        """A generated function, part `index` of a transformation, as
        `function` (an instance of it) binds it: its source, its free
        names bound to what the function's closure cells hold (s2sad's
        names, the next part, the generated functions of callees, and
        the values of the user's closure variables, as they are now)."""
        derive.complete(function)  # (its fallback in its cell, made)
        part = transformation.parts[index]
        key = ("part", id(function))
        text = self._shown_paths(part.text, transformation.code.co_filename)
        binding, new = self._bind(key, "part", part.code.co_name, text=text,
                                  defines=part.code.co_name, keep=function)
        if not new:
            return key
        cells = dict(zip(part.code.co_freevars, function.__closure__ or ()))
        for cell in cells.values():
            callee = getattr(_contents(cell), "__s2sad_transformation__",
                             None)
            if callee is not None:  # (one read from the user's cell)
                self._register(callee)
        binding.text = text = _defaults_as_values(text, function)
        if any(isinstance(node, ast.Call) and isinstance(
                node.func, ast.Name) and node.func.id == "super" and
                not node.args for node in ast.walk(ast.parse(text))):
            raise _Refused("it calls super() without arguments, which "
                           "reads the class the method is defined in: "
                           "write super(ClassName, self)")
        # (its own name, where the code reads it, is the user's global: a
        # free variable of its code only as `codegen` compiles it)
        for name, attributes in _free_names(text):
            if name in cells and name != part.code.co_name:
                value = _contents(cells[name])
                if value is _EMPTY:
                    raise _Refused(
                        f"the code of {transformation.code.co_name} reads "
                        f"`{name}`, a closure variable not yet assigned")
                binding.reads[name] = self._object(value, name)
                self._through(binding, name, value, attributes)
            else:
                binding.reads[name] = self._global(transformation.globals,
                                                   name)
                self._through(binding, name,
                              transformation.globals.get(name), attributes)
        return key

    def _through(self, binding, name, value, attributes):
        """What a definition reads off `name`, a module: the submodules
        among the `attributes` read off it, imported; or, for a module
        made a namespace (standalone), the `attributes`, copied."""
        key = binding.reads[name]
        if key[0] == "module":
            self.bindings[key].submodules.update(
                f"{value.__name__}.{a}" for a in attributes or ()
                if isinstance(getattr(value, a, None), types.ModuleType)
                and getattr(value, a).__name__ == f"{value.__name__}.{a}")
        if key[0] != "namespace":
            return
        if attributes is None:
            raise _Refused(f"it reads the module {value.__name__} as a "
                           "whole, which a standalone module cannot copy")
        for attribute in sorted(attributes):  # (the same module each run)
            if attribute not in self.attributes[key]:
                self.attributes[key][attribute] = None  # cycles end here
                self.attributes[key][attribute] = self._member(value,
                                                               attribute)

    def _object(self, value, wanted):
        """Any object generated code or a copied definition reads."""
        if isinstance(value, types.ModuleType):
            return self._module(value, wanted)
        code = getattr(value, "__code__", None)
        if isinstance(code, types.CodeType):
            if id(code) in self.parts:
                return self._part(*self.parts[id(code)], value)
            if errors.in_memory(code.co_filename):
                raise _Refused(f"`{wanted}` is generated code s2sad did not "
                               "record")
        if _is_builtin(value):
            return self._builtin(value.__name__)
        literal = _literal(value)
        if literal is not None:
            key = ("value", type(value).__name__, literal)
            self._bind(key, "value", wanted, literal=literal)
            return key
        home = _home(value)
        wrapper = _wrapper_home(value) if home is None else None
        if wrapper is not None:  # as the user's module reads it
            key = self._global(vars(sys.modules[wrapper[0]]), wrapper[1])
            if key[0] == "attribute":
                return key[:2] + (f"{wrapper[1]}.__wrapped__",)
        if home is None:
            raise _Refused(f"`{wanted}` is {type(value).__name__} "
                           f"{value!r:.60}, which a module cannot name")
        module, name = home
        if module.split(".")[0] != "s2sad":  # imported after the user's
            return self._global(vars(sys.modules[module]), name)
        if self.standalone:
            if not _COPYABLE.match(module):
                raise _Refused(_needs_s2sad(f"{module}.{name}"))
            return self._copy(sys.modules[module], name)
        key = ("from", module, name, wanted)
        self._bind(key, "from", wanted, module=module, attribute=name)
        return key

    def _module(self, module, wanted):
        """An imported module (in a standalone module, a copy of s2sad's
        `runtime` or `errors` is a namespace; so is `s2sad` itself, of the
        run-time objects the user's code reads off it, such as
        `s2sad.checkpointed`)."""
        name = module.__name__
        if self.standalone and name.split(".")[0] == "s2sad":
            if not _COPYABLE.match(name) and name != "s2sad":
                raise _Refused(_needs_s2sad(name))
            key = ("namespace", name)
            binding, _ = self._bind(key, "namespace", wanted)
            binding.reads["types"] = self._module(types, "types")
            self.attributes.setdefault(key, {})
            return key
        key = ("module", name)
        self._bind(key, "module", wanted, module=name, submodules=set())
        return key

    def _builtin(self, name):
        key = ("builtin", name)
        self._bind(key, "builtin", name)
        return key

    def _global(self, namespace, name):
        """The global `name` of the module whose dict is `namespace`: a
        module is imported; anything else is read off its module when the
        code runs (`_user.name` for the user's module), as in the running
        program. Its key is then ("attribute", module key or None for the
        user's, name)."""
        if name not in namespace:
            if hasattr(builtins, name):
                return self._builtin(name)
            raise _Refused(f"`{name}` is not defined in "
                           f"{namespace.get('__name__')}")
        value = namespace[name]
        if isinstance(value, types.ModuleType) or \
                "__name__" not in namespace:  # (an adapter's own globals)
            return self._object(value, name)
        if self.standalone and _is_s2sads(value):
            raise _Refused(_needs_s2sad(f"the global `{name}`"))
        module = namespace["__name__"]
        if module == self.source.__name__:
            return ("attribute", None, name)
        if sys.modules.get(module) is None or \
                vars(sys.modules[module]) is not namespace:
            raise _Refused(f"`{name}` is read from {module}, which is not "
                           "imported under that name")
        return ("attribute", self._module(sys.modules[module],
                                          module.rpartition(".")[2]), name)

    def _member(self, module, name):
        """What `module.name` is, for a copied definition of module."""
        if name not in vars(module):
            if name in ("__name__", "__file__", "__doc__"):
                raise _Refused(f"{module.__name__} reads its {name}")
            if hasattr(builtins, name):
                return self._builtin(name)
            raise _Refused(f"{module.__name__} has no {name}")
        value = vars(module)[name]
        if isinstance(value, types.ModuleType) or _home(value) is not None:
            return self._object(value, name)
        return self._copy(module, name)

    def _copy(self, module, name):
        """A definition of s2sad's, copied from its source (standalone)."""
        key = ("copy", module.__name__, name)
        text = _definition(module, name)
        binding, new = self._bind(key, "copy", name, text=text,
                                  defines=name, module=module.__name__)
        if not new:
            return key
        for free, attributes in _free_names(text):
            if free == name:
                binding.reads[free] = key
                continue
            binding.reads[free] = self._member(module, free)
            self._through(binding, free, vars(module).get(free), attributes)
        return key

    # naming and writing ---------------------------------------------------

    def _shown_paths(self, text, path):
        """The code with the user's file named as the module shows it."""
        if path not in self.paths:
            relative = os.path.relpath(path)
            self.paths[path] = path if relative.startswith(os.pardir) \
                else relative
        return text.replace(path, self.paths[path])

    def _name(self):
        """Give every binding its name: its own unless taken."""
        taken = set(_RESERVED)
        # a local of a generated function (a parameter `reversed`, where
        # the running code reads the builtin as `reversed_1`) would hide a
        # module-level name
        hidden = set()
        for binding in self.bindings.values():
            if binding.kind == "part":
                hidden |= _local_names(binding.text)
        # builtins keep their names (no function asked for is named as
        # one: grad_..., jvp_...), then the functions asked for
        ordered = sorted(self.bindings.values(), key=lambda b: (
            b.kind != "builtin", not b.public))
        for binding in ordered:
            name, n = binding.wanted, 2
            while name in taken or keyword.iskeyword(name) or (
                    binding.kind != "part" and name in hidden):
                name, n = f"{binding.wanted}_{n}", n + 1
            binding.name = name
            taken.add(name)

    def text(self, command=None):
        """The module's source."""
        # (standalone: no notes, which need s2sad's line maps)
        located = None if self.standalone else (
            self._object(errors.locate, "locate"),
            self._object(errors.map_module, "map_module"))
        self._name()
        names = {key: b.name for key, b in self.bindings.items()}
        for binding in list(self.bindings.values()):
            for key in binding.reads.values():
                if key[0] == "attribute":  # a global, read when it runs
                    module = "_user" if key[1] is None else names[key[1]]
                    names[key] = f"{module}.{key[2]}"
        by_kind = {kind: [] for kind in _ORDER}
        for key, binding in self.bindings.items():
            by_kind[binding.kind].append((key, binding))
        local = [b for _, b in by_kind["module"] if self._is_local(b.module)]
        sections = [self._header(command) + "\n\n" + self._imports(
            [b for _, b in by_kind["module"] if b not in local],
            [b for _, b in by_kind["from"]])]
        if any(key[0] == "attribute" and key[1] is None
               for b in self.bindings.values() for key in b.reads.values()):
            sections.append(self._loader())
        sections.append(self._imports(local))  # the user's own modules
        sections.append("\n".join(
            [f"{b.name} = {b.literal}" for _, b in by_kind["value"]] +
            [f"{b.name} = {b.wanted}" for _, b in by_kind["builtin"]
             if b.name != b.wanted]))  # (a builtin a local would hide)
        sections.append(self._copies(names))
        sections.append(self._namespaces(by_kind["namespace"], names))
        sections.append("__all__ = [\n" + "".join(
            f"    {self.bindings[k].name!r},\n" for k in self.public) + "]")
        sections = [(s.strip("\n"), (None, None)) for s in sections
                    if s.strip()]
        for _, b in by_kind["part"]:
            text = _renamed(b.text, b.reads, names, b.defines,
                            b.name).rstrip("\n")
            tried = None  # (the line of a `try:` put in, see _located)
            if located and b.public:
                text, tried = _located(text, names[located[0]])
            sections.append((text, (b, tried)))
        if located:
            sections.append((self._line_table(sections, names[located[1]]),
                             (None, None)))
        return "\n\n\n".join(text for text, _ in sections) + "\n"

    def _line_table(self, sections, map_module):
        """The call recording where each line of the module comes from
        (`errors.map_module`), for the notes of the errors raised in it;
        `sections`: (text, its part's binding or None), in order."""
        runs, first = [(1, None, None)], 1
        for text, (binding, tried) in sections:
            lines = text.count("\n") + 1
            keep = getattr(binding, "keep", None)
            if keep is not None:
                end = len(binding.text.splitlines())  # (then the except)
                for k in range(1, lines + 1):
                    line = k - (tried is not None and k > tried)
                    runs.append((first + k - 1, *(
                        self._origin(keep.__code__, line) if line <= end
                        else (None, None))))
            runs.append((first + lines, None, None))
            first += lines + 2
        merged = [run for k, run in enumerate(runs)
                  if not k or run[1:] != runs[k - 1][1:]]
        return ("# The user's line each run of lines of this module comes "
                "from, from the line\n# given to the next run's (None: no "
                "line of the user's): an error raised\n# in the code above "
                "carries a note naming the user's line.\n"
                f"{map_module}(__file__, (\n" + "".join(
                    f"    {run!r},\n" for run in merged) + "))")

    def _origin(self, code, line):
        """(file relative to the module's directory, line) of the user's
        code line `line` of generated `code` comes from, (None, None) if
        none; the line a tuple of lines for code inlined (see
        `errors.map_lines`)."""
        found = errors.user_locations(code.co_filename, line)
        file = found[-1][0]
        if errors.is_generated(file):
            return None, None
        try:
            file = os.path.relpath(os.path.realpath(file), os.path.dirname(
                os.path.realpath(self.output)))
        except ValueError:  # (another drive)
            file = os.path.realpath(file)
        lines = tuple(n for _, n in found)
        return file, lines if len(lines) > 1 else lines[0]

    def _header(self, command):
        """The marker, what the module was generated from, when and how,
        and its docstring."""
        source = self._shown_paths(self.source.__file__,
                                   self.source.__file__)
        now = datetime.datetime.now(datetime.timezone.utc)
        lines = [MARKER, f"# From: {_escaped(source)}"]
        if command:
            lines.append(f"# Command: {_escaped(command)}")
        lines.append(
            f"# Generated: {now:%Y-%m-%d %H:%M:%S} UTC by s2sad "
            f"{s2sad.__version__}, Python {platform.python_version()}, "
            f"NumPy {np.__version__}")
        needs = ("NumPy and the module it was generated from: the s2sad "
                 "helpers it calls are copied below" if self.standalone
                 else "s2sad, NumPy and the module it was generated from")
        doc = (f"The code s2sad generates for the functions of "
               f"{_escaped(os.path.basename(source))}, ahead of time.\n\n"
               f"It needs {needs}. It is a snapshot: unlike s2sad.grad in "
               "a running program, its functions do not check that the "
               "code they were generated from is unchanged; generate the "
               "module again after changing that code.")
        return "\n".join(lines) + '\n"""' + _wrapped(doc) + '\n"""'

    def _is_local(self, module):
        """Is the module of this name one of the user's own, in the user
        file's directory (importable once the user's module is)?"""
        file = getattr(sys.modules.get(module), "__file__", None)
        directory = os.path.dirname(os.path.abspath(self.source.__file__))
        return isinstance(file, str) and \
            os.path.abspath(file).startswith(directory + os.sep)

    def _imports(self, modules, objects=()):
        """`import` lines for the bindings of `modules` and of `objects`
        (s2sad's): the standard library's, others', s2sad's."""
        lines = []
        for b in modules:
            module = b.module
            if b.name == module:
                lines.append(f"import {module}")
            elif "." in module:
                package, _, last = module.rpartition(".")
                alias = "" if last == b.name else f" as {b.name}"
                lines.append(f"from {package} import {last}{alias}")
            else:
                lines.append(f"import {module} as {b.name}")
            for submodule in sorted(b.submodules):
                # (binds the package's name: in a call when it is not b's)
                package, _, last = submodule.rpartition(".")
                lines.append(
                    f"import {submodule}" if b.name == module else
                    f"from {package} import {last} as _s2sad_"
                    + submodule.replace(".", "_"))
        names = {}  # a module -> what is imported from it
        for b in objects:
            alias = "" if b.name == b.attribute else f" as {b.name}"
            names.setdefault(b.module, []).append(b.attribute + alias)
        for module, imported in names.items():
            line = f"from {module} import {', '.join(sorted(imported))}"
            if len(line) > 79:
                line = f"from {module} import (\n" + "".join(
                    f"    {name},\n" for name in sorted(imported)) + ")"
            lines.append(line)

        def group(line):
            module = line.split()[1].split(".")[0]
            return (module == "s2sad",
                    module not in sys.stdlib_module_names, line)
        lines = sorted(set(lines), key=group)
        grouped = []
        for k, line in enumerate(lines):
            if k and group(line)[:2] != group(lines[k - 1])[:2]:
                grouped.append("")
            grouped.append(line)
        return "\n".join(grouped)

    def _loader(self):
        """`_user`: the user's module, found or imported."""
        if self.module_name is not None:
            return (
                "def _load_module(name):\n"
                '    """The module the code was generated from, by '
                'name."""\n'
                "    import importlib\n"
                "    return importlib.import_module(name)\n\n\n"
                f"_user = _load_module({self.module_name!r})")
        # (symbolic links resolved, here and where it is loaded: an output
        # directory reached through a link)
        relative = os.path.relpath(
            os.path.realpath(self.source.__file__),
            os.path.dirname(os.path.realpath(self.output)))
        return _LOADER + f"\n\n\n_user = _load_module({relative!r})"

    def _copies(self, names):
        """The copied definitions, each after those it reads."""
        done, texts = set(), []

        def visit(key):
            binding = self.bindings.get(key)
            if key in done or binding is None or binding.kind != "copy":
                return
            done.add(key)
            for read in binding.reads.values():
                for attribute in self.attributes.get(read, {}).values():
                    visit(attribute)  # a namespace's
                visit(read)
            texts.append(f"# from {binding.module}\n" + _renamed(
                binding.text, binding.reads, names, binding.defines,
                binding.name).rstrip("\n"))
        for key in self.bindings:
            visit(key)
        for attributes in self.attributes.values():
            for key in attributes.values():
                visit(key)
        if texts:
            texts[0] = (f"# The s2sad helpers the code calls, copied from "
                        f"the source of s2sad {s2sad.__version__}\n# "
                        "(Apache License 2.0).\n\n\n" + texts[0])
        return "\n\n\n".join(texts)

    def _namespaces(self, namespaces, names):
        """A module of s2sad's (standalone): a namespace of the copies of
        what the code reads off it."""
        texts = []
        for key, b in namespaces:
            items = sorted(self.attributes[key].items())
            texts.append(
                f"# s2sad's {key[1].split('.')[-1]}: the definitions "
                "copied above\n"
                f"{b.name} = {names[b.reads['types']]}.SimpleNamespace(\n"
                + ",\n".join(
                    f"    {attribute}={names[value]}"
                    for attribute, value in items) + ")")
        return "\n\n".join(texts)


_LOADER = '''\
def _load_module(relative):
    """The module the code was generated from, at the path `relative` to
    this file: the one already imported from that file, else imported now,
    under the file's name unless that names another module (then prefixed
    with s2sad_user_), its directory on sys.path while it runs."""
    import importlib.util
    import os
    import sys
    path = os.path.join(os.path.dirname(os.path.realpath(__file__)),
                        relative)
    path = os.path.normcase(os.path.realpath(path))
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and \\
                os.path.normcase(os.path.realpath(file)) == path:
            return module
    name = os.path.splitext(os.path.basename(path))[0]
    found = importlib.util.find_spec(name) if name.isidentifier() else None
    if found is not None and (found.origin is None or os.path.normcase(
            os.path.realpath(found.origin)) != path):
        name = "s2sad_user_" + name
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(os.path.dirname(path))
    return module'''


_EMPTY = object()  # what an empty cell holds (see _contents)


def _contents(cell):
    """What a closure cell holds, or _EMPTY."""
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY


def _wrapped(text, width=79):
    """Paragraphs of `text` wrapped to `width`."""
    return "\n\n".join(textwrap.fill(p, width) for p in text.split("\n\n"))


def _needs_s2sad(what):
    return (f"it needs {what} when it runs (s2sad's engine), which a "
            "standalone module cannot copy; leave out --standalone")


def _is_builtin(value):
    name = getattr(value, "__name__", None)
    return isinstance(name, str) and getattr(builtins, name, None) is value \
        and not isinstance(value, types.ModuleType)


def _is_s2sads(value):
    """Is `value` an object of s2sad's (then s2sad must be imported)?"""
    return any(getattr(obj, "__module__", None) is not None
               and obj.__module__.split(".")[0] == "s2sad"
               for obj in (value, type(value)))


def _home(value):
    """(module name, name) where a function or class is defined at the top
    level, or None."""
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None)
    if isinstance(value, np.ufunc) and not isinstance(module, str):
        # NumPy before 2.0 gives its ufuncs no __module__ or __qualname__
        module, name = "numpy", value.__name__
    if not (isinstance(module, str) and isinstance(name, str)) or \
            "." in name or "<" in name:
        return None
    found = getattr(sys.modules.get(module), name, None)
    return (module, name) if found is value else None


def _items(func, argnums):
    """(items, single) if `func` takes `*args` and `argnums` name some of
    its items: for each of argnums, the index of its gradient among those
    the generated function gives, or (index,) of an item of the `*args`
    tuple's gradient, which it gives last; else None."""
    if not inspect.isfunction(func):
        return None
    _, items = api._check_argnums(func, argnums)
    return None if items is None else (items, isinstance(argnums, int))


def _wrapper_home(value):
    """(module name, name) of the top-level wrapper (made by a
    `functools.wraps` decorator) whose `__wrapped__` is the function
    `value`, or None."""
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(name, str)) or \
            "." in name or "<" in name:
        return None
    found = getattr(sys.modules.get(module), name, None)
    return (module, name) if getattr(found, "__wrapped__", None) is value \
        else None


def _literal(value):
    """Python source for a number, string, None or tuple of them, or
    None."""
    kind = type(value)
    if kind is float:
        return repr(value) if np.isfinite(value) else f"float('{value}')"
    if kind is complex:
        return f"complex({_literal(value.real)}, {_literal(value.imag)})"
    if kind in (bool, int, str, bytes, type(None)):
        return repr(value)
    if kind is tuple:
        items = [_literal(v) for v in value]
        if None not in items:
            return "(" + ", ".join(items) + ("," if len(items) == 1
                                             else "") + ")"
    return None


_PARSED = {}  # module name -> (tree, lines) of its source


def _definition(module, name):
    """The source of the top-level statement of `module` that binds `name`
    (the last one), decorators included."""
    if module.__name__ not in _PARSED:
        text = inspect.getsource(module)
        _PARSED[module.__name__] = (ast.parse(text),
                                    text.splitlines(keepends=True))
    tree, lines = _PARSED[module.__name__]
    for stmt in reversed(tree.body):
        if _binds(stmt) == name:
            first = min([stmt.lineno] + [
                d.lineno for d in getattr(stmt, "decorator_list", ())])
            return "".join(lines[first - 1:stmt.end_lineno])
    raise _Refused(f"{module.__name__}.{name} is not defined by a "
                   "top-level def, class or assignment s2sad can copy")


def _binds(stmt):
    """The one name a top-level statement binds, or None."""
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return stmt.name
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
            isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
            and stmt.value is not None:
        return stmt.target.id
    return None


def _free_names(text):
    """The names the top-level statements of `text` read from the module
    they are in (defined there or not), in order, each with the attributes
    read off it (a set), or None if it is read by itself too."""
    top = symtable.symtable(text, "<s2sad>", "exec")
    found = []

    def visit(table):
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if symbol.is_referenced() and (
                    table is top or symbol.is_global()) and \
                    name not in found:
                found.append(name)
        for child in table.get_children():
            visit(child)
    visit(top)
    attributes = {name: set() for name in found}
    under = set()
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and \
                isinstance(node.value, ast.Name) and \
                node.value.id in attributes:
            attributes[node.value.id].add(node.attr)
            under.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in attributes and \
                id(node) not in under:
            attributes[node.id] = None
    return [(name, attributes[name]) for name in found]


def _defaults_as_values(text, function):
    """The source `text` of `function` with each default value written as
    the value `function` has (a number, string, None or tuple of them):
    its expression, evaluated when the module is imported, could give
    another (`sigma=SIGMA` with SIGMA rebound since, `w=rng.normal(...)`).
    Another value is kept as written where that is a dotted name that
    denotes it now (`activation=np.tanh`), and refused otherwise."""
    args = ast.parse(text).body[0].args
    positional = args.posonlyargs + args.args
    defaulted = positional[len(positional) - len(args.defaults):]
    pairs = list(zip(defaulted, args.defaults, function.__defaults__ or ()))
    pairs += [(arg, node, (function.__kwdefaults__ or {}).get(arg.arg))
              for arg, node in zip(args.kwonlyargs, args.kw_defaults)
              if node is not None]
    spans = []
    for arg, node, value in pairs:
        literal = _literal(value)
        if literal is None and (isinstance(node, ast.Constant) or _denotes(
                node, function.__globals__, value)):
            continue  # (np.tanh: the same object when it is read again)
        if literal is None:
            raise _Refused(f"the default value of `{arg.arg}` is "
                           f"{type(value).__name__} {value!r:.60}, which a "
                           "module cannot name (its expression, run again "
                           "when the module is imported, could give "
                           "another value): pass it as an argument")
        spans.append((node.lineno, node.col_offset, node.end_lineno,
                      node.end_col_offset, literal))
    return _replaced(text, spans)


def _denotes(node, namespace, value):
    """Is the expression `node` a dotted name (`np.tanh`) that denotes
    `value` in `namespace` (read without calling anything)?"""
    path = trees.dotted(node)
    if path is None:
        return False
    found = namespace.get(path[0], getattr(builtins, path[0], _EMPTY))
    for attribute in path[1:]:
        found = getattr(found, attribute, _EMPTY)
    return found is value


def _replaced(text, spans):
    """`text` with each span (first line, its byte offset, last line, its
    byte offset: as `ast` gives them) replaced by the span's text."""
    lines = [line.encode() for line in text.splitlines(keepends=True)]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    data = b"".join(lines)
    for first, start, last, end, new in sorted(spans, reverse=True):
        data = (data[:starts[first - 1] + start] + new.encode()
                + data[starts[last - 1] + end:])
    return data.decode()


def _renamed(text, reads, names, own, own_name):
    """`text` with each free name renamed to the name of the binding it
    reads, and its own definition `own` to `own_name`."""
    mapping = {name: names[key] for name, key in reads.items()
               if name != names[key]}
    if not mapping and own == own_name:
        return text
    _check_unshadowed(text, mapping)
    tree = ast.parse(text)
    spots = []  # (line, start, line, end, new name): see _replaced
    lines = [line.encode() for line in text.splitlines(keepends=True)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in mapping:
            spots.append((node.lineno, node.col_offset, node.lineno,
                          node.end_col_offset, mapping[node.id]))
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and \
                set(node.names) & set(mapping):
            raise _Refused(f"cannot rename {sorted(mapping)} in a "
                           "`global` statement")
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and \
                stmt.name == own != own_name:
            line = lines[stmt.lineno - 1]
            found = re.compile(rb"(def|class)\s+(" + stmt.name.encode()
                               + rb")\b").search(line, stmt.col_offset)
            spots.append((stmt.lineno, found.start(2), stmt.lineno,
                          found.end(2), own_name))
    return _replaced(text, spots)


def _located(text, locate):
    """The function `text` defines, with its body (after its docstring) in
    a `try:` whose `except` calls `locate` (`errors.locate`) on an
    exception leaving it, and the line of that `try:`: an exception
    leaving the module's function carries a note naming the user's line,
    as in a running program, at no cost until one is raised (a wrapper
    function would double the time of a small gradient)."""
    function = ast.parse(text).body[0]
    body = function.body[1:] if ast.get_docstring(function) is not None \
        else function.body
    first = body[0].lineno
    lines = text.splitlines()
    indent = " " * body[0].col_offset
    tried = "\n".join(
        lines[:first - 1] + [indent + "try:"] +
        [(line and "    ") + line for line in lines[first - 1:]] + [
            indent + "except Exception as error:",
            indent + f"    {locate}(error)  # names the user's line in a note",
            indent + "    raise"])
    if list(map(ast.dump, ast.parse(tried).body[0].body[-1].body)) != \
            list(map(ast.dump, body)):
        raise _Refused("its code has a string over several lines")
    return tried, first


def _escaped(text):
    """`text` safe in a comment or docstring line (a file name may hold a
    newline, quotes or backslashes): escaped as in a string literal."""
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


def _local_names(text):
    """The names local to some function of `text` (parameters included)."""
    found = set()

    def visit(table, top):
        if not top:
            found.update(symbol.get_name() for symbol in table.get_symbols()
                         if symbol.is_local() or symbol.is_parameter())
        for child in table.get_children():
            visit(child, False)
    visit(symtable.symtable(text, "<s2sad>", "exec"), True)
    return found


def _check_unshadowed(text, mapping):
    """Refuse to rename a name some function of `text` has as a local."""
    def visit(table, top):
        for name in mapping:
            if not top and name in table.get_identifiers():
                symbol = table.lookup(name)
                if not symbol.is_global():
                    raise _Refused(f"cannot rename `{name}`: a local "
                                   "variable has its name")
        for child in table.get_children():
            visit(child, False)
    visit(symtable.symtable(text, "<s2sad>", "exec"), True)
