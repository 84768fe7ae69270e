"""Errors the core raises for bad input. Each message names the file and says what is wrong, in one line."""


class SapiensError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""


class ImageReadError(SapiensError):
    """An image file is missing, truncated, corrupt or in a format we cannot decode."""


class CheckpointError(SapiensError):
    """A model file is missing, truncated, foreign (not the task or layout asked for) or unreadable."""


class UnsafeCheckpointError(CheckpointError):
    """A pickled checkpoint refers to code outside the allow-list; nothing in it was executed."""


class BackendError(SapiensError):
    """A runtime (torch, ONNX Runtime) cannot run as asked, e.g. CUDA requested but not usable."""


class AnnotationFormatError(SapiensError):
    """An annotation document or import file is malformed or of an unsupported version."""
