"""Schemathesis hooks for Skillreel's contract test (scripts/contract).

- Serializers for the text media types the API reads that schemathesis does not know:
  tus appends raw bytes (`application/offset+octet-stream`), captions are WebVTT or SRT.
- A video a generator cannot make: one generated upload in four carries a real clip
  (`SKILLREEL_CONTRACT_CLIP`), so `POST /api/v1/videos` is also seen succeeding.
"""
import itertools
import os

import schemathesis


def _as_bytes(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    return _as_bytes(value)


@schemathesis.serializer("text/vtt", "application/x-subrip")
def caption_text(ctx, value):
    return _as_bytes(value)


_CLIP = os.environ.get("SKILLREEL_CONTRACT_CLIP")
_uploads = itertools.count()


_FORM_FIELDS = {"file", "title", "description", "tags"}


def _fields_are_text(body):
    """Form data has no types: a number sent as a field is its digits. Only a form of
    the documented fields, each text, gets the real clip (a mutated one keeps its
    generated file, which the content sniff refuses)."""
    return (
        isinstance(body, dict)
        and "file" in body
        and "title" in body
        and set(body) <= _FORM_FIELDS
        and all(isinstance(body.get(k), str) for k in ("title",))
        and all(body.get(k) is None or isinstance(body.get(k), str) for k in ("description", "tags"))
    )


@schemathesis.hook
def map_body(ctx, body):
    operation = ctx.operation
    if (
        _CLIP
        and operation is not None
        and operation.method.upper() == "POST"
        and operation.path == "/api/v1/videos"
        and _fields_are_text(body)
        and next(_uploads) % 4 == 0
    ):
        body = dict(body)
        with open(_CLIP, "rb") as clip:
            body["file"] = clip.read()
    return body
