"""Checkpointing: reversing a long loop in bounded memory.

Reverse mode keeps on its tape what the backward sweep reads, one entry
per iteration, so a loop of a million steps keeps a million entries. A loop
written

    for t in s2sad.checkpointed(range(n), snapshots=s):
        x = step(x, t)

keeps instead at most `s` snapshots of the values the loop carries from
one iteration to the next (x here), and recomputes the steps in between
when the backward sweep needs them, with the binomial schedule of Griewank
and Walther's Revolve: among all schedules that hold at most s snapshots,
one that recomputes the fewest steps. Reversing n steps with s snapshots
then advances each step at most r times, for the smallest r with
C(s + r, s) >= n: with s = 100, four times for n up to 4.6 million.

Steps are scheduled in bundles of `bundle` consecutive steps, each
reversed with an ordinary tape: one bundle's tape is in memory at a time.
A bundle costs one Python-level dispatch instead of one per step, which
is what makes short steps (a line or two of float arithmetic) cheap to
reverse. `bundle=1` is Revolve's schedule over single steps, and the
default for a loop whose state holds a thousand numbers or more; a loop
carrying a few floats gets bundles of up to `snapshots` steps.

`Revolve` is the schedule the generated code follows. Its forward sweep
(`sweep`) runs the loop once, as the function does, taking the first
snapshots on the way; `backward()` then lists what the backward sweep does,
last steps first. This module is a runtime helper: generated code calls it
through `runtime.revolve`, and it knows nothing of s2sad's transformer.
"""

import math
import numbers


class Checkpointed:
    """What a checkpointed loop iterates, and its schedule's budget.
    Iterating it is iterating `iterable`, so the function runs as written
    when it is not differentiated, or in forward mode; differentiated, the
    loop indexes what `runtime.iterable` makes of it."""

    def __init__(self, iterable, snapshots=None, bundle=None):
        self.iterable = iterable
        self.snapshots, self.bundle = _budget("checkpointed", snapshots,
                                              bundle)

    def __iter__(self):
        return iter(self.iterable)

    def __repr__(self):
        budget = "".join(f", {k}={v}" for k, v in (
            ("snapshots", self.snapshots), ("bundle", self.bundle))
            if v is not None)
        return f"s2sad.checkpointed({self.iterable!r}{budget})"


def checkpointed(iterable, snapshots=None, bundle=None):
    """Mark a `for` loop to be reversed with checkpoints (see the module's
    doc): `for t in s2sad.checkpointed(range(n), snapshots=s):`.

    Args:
        iterable: what the loop iterates: a range, list, tuple or array
            (or any finite iterable, made a list when the loop starts).
        snapshots: how many copies of the loop's state the backward sweep
            may keep at once, the state before the loop included (default:
            the square root of the loop's length).
        bundle: consecutive steps reversed with one ordinary tape; 1 for
            Revolve over single steps. Default: 1 when the loop's state
            holds a thousand numbers or more, else enough steps for a
            thousand numbers (at most `snapshots`), so that short steps
            are not outweighed by the schedule's own dispatch.

    The backward sweep runs the loop's steps again: they must compute the
    same values each time (draw random numbers before the loop; s2sad
    checks the state at each snapshot and refuses the gradient if it
    differs), and
    side effects in them happen again. Each snapshot copies the loop's
    state, so what grows with the loop (a list of every step) is best kept
    out of it. Undifferentiated (or in forward mode) the loop runs as
    written.
    """
    return Checkpointed(iterable, snapshots, bundle)


def checkpointed_while(condition, snapshots, bundle=None):
    """Mark a `while` loop to be reversed with checkpoints, its test
    wrapped: `while s2sad.checkpointed_while(t < T, snapshots=s):`.

    Its length is known only once it ends, so its snapshots are placed as
    it runs: one every `bundle` steps until `snapshots` are held, then,
    each time they are all held, every other one is let go and the
    spacing doubles. Once it ends, the backward sweep keeps, for each
    snapshot Revolve's schedule would have taken, the last held before it,
    and reverses the stretches between them on a binomial schedule. Its
    arguments are as `checkpointed`'s (`snapshots` required), read at the
    loop's first step. Undifferentiated (or in forward mode) it is
    `condition`.
    """
    return condition


def _budget(marker, snapshots, bundle):
    """(snapshots, bundle), checked (None: the default)."""
    if snapshots is not None and (isinstance(snapshots, bool) or not
                                  isinstance(snapshots, numbers.Integral)
                                  or snapshots < 1):
        raise ValueError(
            f"s2sad.{marker}: snapshots must be an int of at least 1 (the "
            f"loop's state is kept that many times at most), got "
            f"{snapshots!r}")
    if bundle is not None and (isinstance(bundle, bool) or not isinstance(
            bundle, numbers.Integral) or bundle < 1):
        raise ValueError(
            f"s2sad.{marker}: bundle must be an int of at least 1 (the "
            f"steps reversed with one tape), got {bundle!r}")
    return tuple(None if v is None else int(v) for v in (snapshots, bundle))


class Revolve:
    """The binomial schedule of one checkpointed loop.

    Attributes:
        steps: how many steps the loop runs.
        sweep: the forward sweep as `(start, stop)` positions: a snapshot
            of the loop's state is taken before each, then its steps run.
        advances: how many steps the backward sweep recomputes (set once
            `backward()` is exhausted; for the tests and benchmarks).
    """

    def __init__(self, loop, sequence, state=()):
        """`loop`: the `Checkpointed`; `sequence`: what the loop indexes;
        `state`: the values it starts from."""
        self.steps = len(sequence)
        # (by default, about the square root of the loop's length)
        snapshots = loop.snapshots or max(2, math.isqrt(self.steps))
        self.bundle = loop.bundle or _bundle(snapshots, numbers_in(state))
        self.free = snapshots - 1  # (the first holds the loop's entry)
        self.advances = 0
        self.seen = {}  # step -> the state's fingerprint there (runtime)
        bundles = -(-self.steps // self.bundle)
        self._pending = _segments(_chain(bundles, self.free), bundles,
                                  self.free)
        self.sweep = [self._steps(a, b) for a, b, _ in self._pending]

    def _steps(self, *bundles):
        return tuple(min(b * self.bundle, self.steps) for b in bundles)

    def backward(self):
        """What the backward sweep does, in order, as `(start, stop, end,
        last)`, in positions of the sequence: restore the snapshot on top
        (the state before `start`; taking it off the stack if `last`), run
        the steps from start to stop; then, if `end` is None, push a
        snapshot of the state; else reverse the steps from stop to end
        with a tape."""
        pending = list(self._pending)  # (start, stop, free snapshots)
        while pending:
            lo, hi, free = pending.pop()
            if hi - lo == 1:
                yield (*self._steps(lo, lo, hi), True)
            elif free == 0:
                for k in range(hi - 1, lo - 1, -1):
                    start, stop, end = self._steps(lo, k, k + 1)
                    self.advances += stop - start
                    yield start, stop, end, k == lo
            else:
                mid = lo + _split(hi - lo, free)
                start, stop = self._steps(lo, mid)
                self.advances += stop - start
                yield start, stop, None, False
                pending.append((lo, mid, free))
                pending.append((mid, hi, free - 1))


class Online(Revolve):
    """The schedule of a checkpointed `while` loop (see
    `checkpointed_while`), whose length is known only when it ends. Its
    backward sweep follows `Revolve.backward` once `chain` is told the
    length.

    Attributes:
        next: the step before which to take the next snapshot.
        positions: the steps before which the snapshots held were taken.
    """

    def __init__(self):
        self.snapshots = self.bundle = self.free = None  # (at the first step)
        self.advances = 0
        self.seen = {}
        self.next, self.spacing, self.positions = 0, None, []

    def keep(self, held, snapshots, bundle, numbers):
        """Before step `next`, holding `held` snapshots: which of them to
        keep (every other one if they are all held, else all), before the
        snapshot taken now of the loop's state, which holds `numbers`
        numbers (see `numbers_in`). The budget is read at the first
        step."""
        if self.snapshots is None:
            self.snapshots, bundle = _budget("checkpointed_while", snapshots,
                                             bundle)
            self.bundle = self.spacing = bundle or _bundle(snapshots,
                                                           numbers)
            self.free = snapshots - 1
        every = 2 if held == self.snapshots else 1
        if every == 2:
            self.positions = self.positions[::2]
            self.spacing *= 2
        self.positions.append(self.next)
        self.next = self.next + self.spacing if self.snapshots > 1 else -1
        return range(0, held, every)

    def chain(self, steps):
        """Once the loop has run `steps` steps: which of the snapshots held
        to keep for the backward sweep (the others are let go, so that it
        has them to spare): for each snapshot of the schedule Revolve would
        take, the last held before it."""
        self.steps = steps
        bundles = -(-steps // self.bundle) if steps else 0
        held = [p // self.bundle for p in self.positions]
        chosen = []
        for position in _chain(bundles, self.free or 0):
            i = max(k for k, p in enumerate(held) if p <= position)
            if not chosen or i > chosen[-1]:
                chosen.append(i)
        self._pending = _segments([held[i] for i in chosen], bundles,
                                  self.free)
        return chosen


def _chain(bundles, free):
    """Where (in bundles) an optimal schedule for `bundles` bundles with
    `free` snapshots to spare takes the snapshots it takes on its first
    run to the end."""
    chain = []
    if bundles:
        start = 0
        while bundles - start > 1 and free > 0:
            chain.append(start)
            start, free = start + _split(bundles - start, free), free - 1
        chain.append(start)
    return chain


def _segments(positions, bundles, free):
    """(start, stop, free snapshots) of the stretches between snapshots
    taken at `positions` (in bundles; the last stretch ends at `bundles`),
    each with the snapshots not held while it is reversed."""
    ends = positions[1:] + [bundles]
    return [(start, stop, free - k)
            for k, (start, stop) in enumerate(zip(positions, ends))]


# a step of a loop whose state holds this many numbers takes long enough
# (NumPy calls on arrays of them) for one dispatch of the schedule per step
_NUMBERS_PER_DISPATCH = 1000


def _bundle(snapshots, numbers):
    """The default bundle: one step per bundle for a loop whose state holds
    `_NUMBERS_PER_DISPATCH` numbers or more; for smaller states (a few
    floats, whose steps take less time than a dispatch), as many steps as
    make up that many numbers, but no more than the snapshots."""
    return max(1, min(snapshots, _NUMBERS_PER_DISPATCH // max(numbers, 1)))


def numbers_in(value):
    """How many numbers a loop's state (a tuple of values) holds: an
    array's size, a container's items' (1 for anything else)."""
    if isinstance(value, (list, tuple)):
        return sum(map(numbers_in, value))
    if isinstance(value, dict):
        return sum(map(numbers_in, value.values()))
    return getattr(value, "size", 1)


def _most_steps(free, repeats):
    """The most steps that `free` snapshots (beyond the one at the start)
    reverse advancing each step at most `repeats` times: C(free + repeats +
    1, free + 1)."""
    return math.comb(free + repeats + 1, free + 1) if repeats >= 0 else 0


def _split(steps, free):
    """Where an optimal schedule takes its next snapshot, `steps` steps
    after the one it starts from, with `free` snapshots to spare: the
    latest position such that the steps before it can be reversed with one
    repetition fewer than the whole needs, and those after it with one
    snapshot fewer."""
    repeats = 0
    while _most_steps(free, repeats) < steps:
        repeats += 1
    return max(1, min(_most_steps(free, repeats - 1),
                      steps - _most_steps(free - 1, repeats - 1), steps - 1))
