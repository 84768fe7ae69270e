"""Finetune Sapiens models on corrected labels (a ``coco-goliath308`` export) and hand the result back to predict.

``python -m trainer --help`` lists the commands. Built on ``sapiens_core`` (architecture with official keys,
safe checkpoint loading, the heatmap codec, schemas); imports no Qt and nothing from ``app``.
"""
