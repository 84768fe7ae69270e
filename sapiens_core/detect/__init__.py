"""Person boxes for top-down pose: RTMDet in plain PyTorch (the official Sapiens detector), ONNX detectors, boxes
from a foreground mask, and the Sapiens demos' filter, all behind :class:`PersonDetector`.
"""

from .choice import AUTO, choose_detector, open_detector
from .detector import PersonDetector, RTMDetDetector
from .from_mask import ForegroundDetector, boxes_from_foreground
from .onnx_detector import OnnxDetector
from .onnx_export import export_rtmdet_onnx
from .postfilter import PersonFilter
from .rtmdet import RTMDet, build_rtmdet, load_rtmdet

__all__ = [
    "AUTO",
    "PersonDetector",
    "PersonFilter",
    "RTMDet",
    "RTMDetDetector",
    "OnnxDetector",
    "ForegroundDetector",
    "boxes_from_foreground",
    "build_rtmdet",
    "load_rtmdet",
    "export_rtmdet_onnx",
    "choose_detector",
    "open_detector",
]
