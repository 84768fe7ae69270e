"""The model manager (``dialog``: official cards, download, import, verify, device, diagnostics; ``table``: its card
table) and which model runs per task (``choice``). Nothing is imported here, so the inference and capture code can
use ``choice`` without loading the dialog."""
