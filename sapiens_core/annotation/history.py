"""Undo and redo of the edits of one document, unlimited within a memory budget.

The history owns the order of edits; the document owns the labels. Listeners hear a ``Change`` after every
push, undo and redo, so views repaint only what changed and autosave knows when to run. Whether the document
has unsaved changes comes from the *clean index* (the step that was saved last), not from its ``revision``.

Why not Qt's QUndoStack: its undo limit counts steps and can only be set while the stack is empty, while one
brush stroke on a 12 MP map can weigh a thousand times a keypoint move; a byte budget needs its own history.
Keeping it Qt-free also lets the CLI, the scripting API and the property tests drive the same code.
"""

from __future__ import annotations

from collections.abc import Callable

from .document import Annotation
from .edits import Change, Edit

__all__ = ["History", "DEFAULT_BUDGET"]

DEFAULT_BUDGET = 512 * 1024 * 1024

Listener = Callable[[Change], None]


class History:
    def __init__(self, doc: Annotation, budget: int = DEFAULT_BUDGET):
        self.doc = doc
        self.budget = int(budget)
        self._done: list[Edit] = []
        self._undone: list[Edit] = []
        self._clean: int | None = 0  # len(_done) when last saved; None: that state is no longer reachable
        self._sealed = True  # the next push starts a new step even if it could merge
        self.listeners: list[Listener] = []
        self.dropped = 0  # steps forgotten to stay within the budget

    # ---------------------------------------------------------------------------------------------- edits

    def push(self, edit: Edit) -> Change:
        """Apply ``edit`` and record it (merged into the previous step when it continues the same gesture)."""
        change = edit.apply(self.doc)
        self._undone.clear()
        if self._clean is not None and self._clean > len(self._done):
            self._clean = None  # the saved state was among the redo steps just discarded
        can_merge = self._done and not self._sealed and self._clean != len(self._done)
        if not (can_merge and self._done[-1].merge(edit)):
            self._done.append(edit)
        self._sealed = False
        self._enforce_budget()
        self.doc.mark_edited()
        self._notify(change)
        return change

    def seal(self) -> None:
        """End the current gesture: the next edit is a step of its own (call on mouse release)."""
        self._sealed = True

    def undo(self) -> Change | None:
        if not self._done:
            return None
        edit = self._done.pop()
        change = edit.revert(self.doc)
        self._undone.append(edit)
        self._sealed = True
        self._notify(change)
        return change

    def redo(self) -> Change | None:
        if not self._undone:
            return None
        edit = self._undone.pop()
        change = edit.apply(self.doc)
        self._done.append(edit)
        self._sealed = True
        self._notify(change)
        return change

    # ---------------------------------------------------------------------------------------------- state

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_label(self) -> str | None:
        return self._done[-1].label if self._done else None

    @property
    def redo_label(self) -> str | None:
        return self._undone[-1].label if self._undone else None

    @property
    def labels(self) -> list[str]:
        """Every step, oldest first: done ones, then the undone ones (for a history view)."""
        return [e.label for e in self._done] + [e.label for e in reversed(self._undone)]

    @property
    def index(self) -> int:
        """How many of ``labels`` are done."""
        return len(self._done)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._done) + sum(e.nbytes for e in self._undone)

    def set_clean(self) -> None:
        """The document as it is now is saved."""
        self._clean = len(self._done)
        self._sealed = True

    @property
    def is_clean(self) -> bool:
        return self._clean == len(self._done)

    # ---------------------------------------------------------------------------------------------- internals

    def _enforce_budget(self) -> None:
        total = self.nbytes
        # The newest step always stays, whatever it weighs: the user must be able to undo what they just did.
        while total > self.budget and len(self._done) > 1:
            total -= self._done.pop(0).nbytes
            self.dropped += 1
            if self._clean is not None:
                self._clean = self._clean - 1 if self._clean > 0 else None

    def _notify(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)
