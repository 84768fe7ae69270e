"""Dataset-scale prediction: many images, many processes, killed and resumed, with the accelerator kept busy.

One concept per module:

- ``names``: one output stem per input, unique whatever the folder layout.
- ``shard``: which inputs this process (a torchrun rank) takes, its device, and the process group.
- ``manifest``: ``--list FILE``, one input per line.
- ``state``: the run's bookkeeping folder inside OUT (COCO parts, per-image log, failures).
- ``resume``: is an input's output set complete and valid?
- ``loader``: decode and preprocess in DataLoader worker processes.
- ``writer``: documents and renders written on a background thread pool.
- ``timing``: each stage's time, the wall time and their overlap; progress per rank.
- ``merge``: the per-rank COCO parts into one ``coco.json`` (and the failures into one file).
- ``runner``: one rank's loop that ties them together.

Qt-free, like all of ``sapiens_core``.
"""
