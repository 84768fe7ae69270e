"""The keypoint set a pose run trains: the Goliath 308 default, a shipped set by name, or a schema JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from sapiens_core.errors import SapiensError
from sapiens_core.schema import KeypointSchema, keypoint_schema, keypoint_schema_names


def load_training_schema(spec: str | None) -> KeypointSchema:
    if not spec:
        return keypoint_schema("goliath_308")
    if spec in keypoint_schema_names():
        return keypoint_schema(spec)
    path = Path(spec)
    try:
        return KeypointSchema.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise SapiensError(
            f"--keypoints {spec}: neither a shipped set ({', '.join(keypoint_schema_names())}) "
            f"nor a readable file ({error.strerror})"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise SapiensError(f"--keypoints {path.name}: not a keypoint schema ({error})") from None


def schema_to_dict(schema: KeypointSchema) -> dict:
    """The JSON form ``KeypointSchema.from_dict`` reads (the shipped data files' format)."""
    return schema.to_dict()
