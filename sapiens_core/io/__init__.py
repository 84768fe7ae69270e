"""File input and output: images, atomic writes (checkpoints live in ``checkpoints``).

Submodules are imported where they are used (``from sapiens_core.io.images import read_image``); this
package does not import them itself, so that loading one never pulls in the others' dependencies.
"""
