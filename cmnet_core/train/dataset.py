"""Preprocessed clips as a torch Dataset, and preprocessing of a whole database for training."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch.utils.data import Dataset

from cmnet_core.data.clip import Clip
from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings

from .callbacks import Callback


@dataclass
class Sample:
    """One training/evaluation sample: a preprocessed clip with its class id, subject and name."""

    clip: PreprocessedClip
    label: int
    subject: str
    name: str


class ClipDataset(Dataset):
    """Samples as tensors: ``(frames (N, 3, S, S) float ImageNet-normalised, label (), apex_position ())``.

    Frames stay uint8 in memory (N·S·S·3 bytes per clip) and are normalised on access
    (`PreprocessedClip.to_tensor`).
    """

    def __init__(self, samples: Sequence[Sample]):
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        s = self.samples[i]
        # contiguous: `to_tensor` gives a view of the (N, S, S, 3) frames; a DataLoader worker's batch is always
        # contiguous, a batch stacked in the training process kept that view's strides, and the two layouts take
        # different summation orders in the convolutions (issue 20: probabilities 1e-4 apart after 72 steps), so
        # a fold's result would depend on --workers
        return (s.clip.to_tensor().contiguous(), torch.tensor(s.label, dtype=torch.long),
                torch.tensor(s.clip.apex_position, dtype=torch.long))

    @property
    def labels(self) -> list[int]:
        """Class id of every sample, in order."""
        return [s.label for s in self.samples]


def preprocess_clips(clips: Sequence[Clip], labels: Sequence[str], settings: PreprocessSettings, cache=None,
                     progress: Callable[[int, int, str], None] | None = None,
                     callbacks: Callback | None = None) -> list[Sample] | None:
    """Preprocess every clip (``preprocess_clip`` with ``settings``; ``cache`` a `PreprocessCache` or None).

    After each clip, ``progress(done, total, clip name)`` and ``callbacks.on_preprocess(done, total, clip name)``
    are called; before each clip ``callbacks.should_cancel()`` is asked, and a True answer stops at once and
    returns None (clips already done stay in the cache). Raises ``ValueError`` naming the clip when its label is
    not in ``labels``; preprocessing errors propagate with their own message.
    """
    from cmnet_core.preprocess.pipeline import preprocess_clip

    out = []
    for i, clip in enumerate(clips):
        if callbacks is not None and callbacks.should_cancel():
            return None
        if clip.label not in labels:
            raise ValueError(f"clip {clip.subject}/{clip.name} has label {clip.label!r}, not in {list(labels)}")
        pre = preprocess_clip(clip, settings=settings, cache=cache)
        out.append(Sample(pre, list(labels).index(clip.label), clip.subject, clip.name))
        if progress is not None:
            progress(i + 1, len(clips), clip.name)
        if callbacks is not None:
            callbacks.on_preprocess(i + 1, len(clips), f"{clip.subject}/{clip.name}")
    return out
