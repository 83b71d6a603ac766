"""The progress-event vocabulary: every `Callback` hook is one JSON event, and back.

A training process reports progress through the hooks of `cmnet_core.train.callbacks.Callback`. To cross a
process boundary (``--progress jsonl`` on stdout, read by the GUI; ``log.jsonl`` in the run folder) each call
becomes one JSON object, ``{"event": name, "time": unix seconds, ...fields}``, by `encode`; `replay` turns such
an object back into the same hook call on any `Callback`. The two are exact inverses (tested both ways in
``tests/train/test_events.py``), so a reader of the JSON lines (the GUI's `app.training.progress.RunProgress`)
is written as an ordinary `Callback` and sees exactly what an in-process callback sees.

`EVENTS` is the vocabulary itself: event name → the hook it stands for, the hook's named arguments (each one
field) and, for hooks that take a dict, the argument whose keys are spread into the event's top level.
Qt-free and torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Fields every event line carries besides the hook's arguments.
ENVELOPE = ("event", "time")


@dataclass(frozen=True)
class EventSpec:
    """One event of the vocabulary.

    name : the ``"event"`` value in the JSON line (``"step"``).
    hook : the `Callback` method it stands for (``"on_step"``).
    fields : the hook's positional arguments, each written as a top-level field of the same name.
    spread : the name of a last dict argument whose items are written at the top level (``"info"`` of
        ``on_run_start``); None when the hook has none. On replay that argument receives every field that is
        neither in `ENVELOPE` nor in ``fields``.
    """

    name: str
    hook: str
    fields: tuple[str, ...] = ()
    spread: str | None = None


#: Event name → spec, in the order a run emits them.
EVENTS: dict[str, EventSpec] = {s.name: s for s in (
    EventSpec("run_start", "on_run_start", spread="info"),
    EventSpec("preprocess", "on_preprocess", ("done", "total", "clip")),
    EventSpec("fold_start", "on_fold_start", ("fold",), spread="info"),
    EventSpec("resume", "on_resume", spread="info"),
    EventSpec("epoch_start", "on_epoch_start", ("epoch", "epochs", "steps")),
    EventSpec("step", "on_step", ("step", "steps", "losses")),
    EventSpec("epoch_end", "on_epoch_end", ("epoch", "metrics")),
    EventSpec("checkpoint", "on_checkpoint", ("path",)),
    EventSpec("fold_end", "on_fold_end", ("fold", "metrics")),
    EventSpec("run_end", "on_run_end", spread="summary"),
    EventSpec("summary", "on_summary", spread="summary"),
)}
#: Hook name → spec.
BY_HOOK: dict[str, EventSpec] = {s.hook: s for s in EVENTS.values()}


def encode(hook: str, *args) -> dict:
    """The event object (without ``time``) for the call ``callback.<hook>(*args)``.

    Raises ``KeyError`` for a hook outside the vocabulary and ``TypeError`` when ``args`` do not match the
    hook's arguments, or a spread dict repeats a field name (it would be lost on the way back).
    """
    spec = BY_HOOK[hook]
    expected = len(spec.fields) + (spec.spread is not None)
    if len(args) != expected:
        raise TypeError(f"{hook} takes {expected} argument(s) ({', '.join(spec.fields + (spec.spread or '',))}), "
                        f"got {len(args)}")
    event = {"event": spec.name, **dict(zip(spec.fields, args))}
    if spec.spread is not None:
        extra = dict(args[-1] or {})
        clash = set(extra) & (set(spec.fields) | set(ENVELOPE))
        if clash:
            raise TypeError(f"{hook}: the {spec.spread} dict may not use the field name(s) {sorted(clash)}")
        event.update(extra)
    return event


def replay(event: dict, callback) -> bool:
    """Call the hook of ``callback`` that ``event`` (a parsed JSON line) stands for, with the arguments
    `encode` took from it. Returns False (and calls nothing) for an event outside the vocabulary, such as
    ``cmnet predict``'s ``clip_start``; raises ``KeyError`` when a named field is missing."""
    spec = EVENTS.get(event.get("event"))
    if spec is None:
        return False
    args = [event[f] for f in spec.fields]
    if spec.spread is not None:
        skip = set(ENVELOPE) | set(spec.fields)
        args.append({k: v for k, v in event.items() if k not in skip})
    getattr(callback, spec.hook)(*args)
    return True


__all__ = ["BY_HOOK", "ENVELOPE", "EVENTS", "EventSpec", "encode", "replay"]
