"""A test-only array type that stands for CuPy, Dask and other arrays that
speak NumPy's protocols without being NumPy arrays.

`Duck` holds a NumPy array and answers NumPy's functions and ufuncs through
`__array_function__` and `__array_ufunc__` (as CuPy and Dask do), its
methods and attributes by forwarding them. It is as strict as a GPU array:

- it refuses to become a NumPy array (`np.asarray(duck)`, `np.array(duck)`
  raise `Converted`): on a GPU that is a copy to the host, on Dask a compute;
- it refuses NumPy arrays as operands (CuPy raises on host arrays in a
  ufunc): code that builds an array with `np.zeros(shape)` where it should
  build one like its input fails here as it would on a GPU. Python and
  NumPy scalars mix freely, as they do in CuPy;
- every reduction returns a 0-d `Duck`, never a NumPy scalar, as CuPy and
  Dask do. Turning one into a Python number (`float`, `int`, `bool`,
  `.item()`, `.tolist()`) is allowed, as it is there, but counted in
  `Duck.computed`: on Dask each one is a compute, on a GPU a synchronisation.
"""

import traceback

import numpy as np


class Converted(TypeError):
    """A `Duck` was turned into a NumPy array, or met one as an operand."""


def unwrap(value, where):
    """`value` with every `Duck` in it (through lists, tuples, dicts and
    slices) replaced by its NumPy array; a NumPy array in it is refused."""
    if isinstance(value, Duck):
        return value.array
    if isinstance(value, np.ndarray):
        raise Converted(f"{where}: a NumPy array {value.shape} among duck "
                        "arrays (a host array on a GPU)")
    if hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(unwrap(v, where) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v, where) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v, where) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(*(unwrap(v, where) for v in (value.start, value.stop,
                                                   value.step)))
    return value


def wrap(value):
    """`value` with every NumPy array or scalar in it made a `Duck`."""
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(
            value, (np.dtype, type)):
        return Duck(np.asarray(value))
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(wrap(v) for v in value)
    if hasattr(value, "_fields"):  # a named tuple (np.linalg's results)
        return type(value)(*(wrap(v) for v in value))
    return value


def duck(value):
    """Every NumPy array (and NumPy scalar) in `value`, through lists,
    tuples and dicts, as a `Duck`; Python numbers stay as they are."""
    if isinstance(value, dict):
        return {k: duck(v) for k, v in value.items()}
    return wrap(value)


def plain(value):
    """The NumPy arrays inside `value`, through lists, tuples and dicts."""
    if isinstance(value, Duck):
        return value.array
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


# numpy functions that make an array of the library of `like=` from data
# (CuPy's copy host data to the GPU)
_FROM_HOST = {np.asarray, np.array, np.asanyarray}


class Duck(np.lib.mixins.NDArrayOperatorsMixin):
    """An array that is not a NumPy array; see the module's docstring."""

    __slots__ = ("array",)
    computed = 0  # Python numbers taken out of duck arrays, all told
    where = []  # the line of code that took each, innermost

    def __init__(self, array):
        assert isinstance(array, np.ndarray), type(array)
        self.array = array

    # ---- NumPy's protocols ----

    def __array__(self, dtype=None, copy=None):
        raise Converted(f"a duck array {self.shape} converted to a NumPy "
                        "array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"np.{ufunc.__name__}" + ("" if method == "__call__" else
                                          f".{method}")
        given = kwargs.get("out")
        result = getattr(ufunc, method)(*unwrap(inputs, where),
                                        **unwrap(kwargs, where))
        if given is not None:  # written in place: the ducks given
            return given[0] if len(given) == 1 else given
        return wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        where = f"np.{func.__name__}"
        if func in _FROM_HOST:  # `np.asarray(data, like=duck)`: to the GPU
            return Duck(np.array(plain(args[0]), *args[1:], **kwargs))
        # (a shape, dtype or count comes back as it is: wrap makes only
        # arrays and NumPy scalars ducks)
        return wrap(func(*unwrap(args, where), **unwrap(kwargs, where)))

    # ---- the array's own surface ----

    shape = property(lambda self: self.array.shape)
    ndim = property(lambda self: self.array.ndim)
    size = property(lambda self: self.array.size)
    dtype = property(lambda self: self.array.dtype)
    T = property(lambda self: Duck(self.array.T))
    mT = property(lambda self: Duck(self.array.mT))
    real = property(lambda self: Duck(np.asarray(self.array.real)))
    imag = property(lambda self: Duck(np.asarray(self.array.imag)))
    itemsize = property(lambda self: self.array.itemsize)
    nbytes = property(lambda self: self.array.nbytes)

    def __getattr__(self, name):
        attribute = getattr(self.array, name)
        if not callable(attribute):
            raise AttributeError(f"Duck has no attribute {name!r}")
        if name in ("item", "tolist"):
            Duck._count()
            return attribute

        def method(*args, **kwargs):
            where = f"ndarray.{name}"
            return wrap(attribute(*unwrap(args, where),
                                  **unwrap(kwargs, where)))
        return method

    def __getitem__(self, index):
        return wrap(self.array[unwrap(index, "indexing")])

    def __setitem__(self, index, value):
        self.array[unwrap(index, "indexing")] = unwrap(value, "item "
                                                       "assignment")

    def __len__(self):
        return len(self.array)

    def __iter__(self):
        return (wrap(row) for row in self.array)

    def __copy__(self):
        return Duck(self.array.copy())

    def __deepcopy__(self, memo):
        return Duck(self.array.copy())

    @staticmethod
    def _count():
        Duck.computed += 1
        frame = traceback.extract_stack(limit=4)[0]
        Duck.where.append(f"{frame.filename}:{frame.lineno}: {frame.line}")

    def _number(self, convert):
        Duck._count()
        return convert(self.array)

    def __float__(self):
        return self._number(float)

    def __int__(self):
        return self._number(int)

    def __index__(self):
        return self._number(lambda a: a.__index__())

    def __bool__(self):
        return self._number(bool)

    def __complex__(self):
        return self._number(complex)

    def __repr__(self):
        return f"Duck({self.array!r})"

    __hash__ = None
