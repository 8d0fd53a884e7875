"""The SDK's capture of each resource's source position, without reading source files.

For every resource it registers, the Python SDK sends the engine the stack of the program
frames that constructed it (pulumi/runtime/resource.py `_get_stack_trace`, called by
`register_resource` and `read_resource`). It takes them with `traceback.extract_stack()`,
which also reads the text of every frame's line through linecache (a stat of each file per
frame) and which the SDK never uses; then makes a `file://` URI of each frame's file anew.
That was about a tenth of an evaluation (benchmarks/program_eval.py), more for deep stacks.

`install()` replaces that function with one that walks the same frames and sends the same
StackTrace (same frames, files, lines; the tests compare both on whole evaluations), from
`sys._getframe` with each file's URI computed once. It does so only for the SDK source it
was checked against: if an upgraded SDK changed either function, the SDK's own stays and
the test that pins these hashes fails, asking for the comparison to be redone.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import pathlib
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

CHECKED_SDK_SOURCE = {
    "_get_stack_trace": "3943b2273016925109e1c3a7bc603db06a44ea09ff3494c29544e44bccf8dd1f",
    "_get_source_position_for_frame": (
        "9f78cc3180b00a12971fa82dd727d6e42aceec087259c9dae4f575a9d85944d2"
    ),
}
"""sha256 of the SDK functions this module reproduces (pulumi 3.272.0)."""

_SDK_STACK_TRACE = sdk_resource._get_stack_trace
_SDK_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "_get_stack_trace": _SDK_STACK_TRACE,
    "_get_source_position_for_frame": sdk_resource._get_source_position_for_frame,
}


def sdk_source_hashes() -> dict[str, str]:
    """Of the SDK's own functions (as imported, before any install)."""
    return {
        name: hashlib.sha256(inspect.getsource(function).encode()).hexdigest()
        for name, function in _SDK_FUNCTIONS.items()
    }


@functools.lru_cache(maxsize=1024)
def _position_uri(filename: str) -> str | None:
    try:
        return pathlib.Path(filename).as_uri()
    except BaseException:
        return None


def _frame(frame: FrameType) -> source_pb2.StackFrame:
    filename, line = frame.f_code.co_filename, frame.f_lineno
    uri = _position_uri(filename) if filename and line is not None else None
    if uri is None:
        return source_pb2.StackFrame(pc=None)
    return source_pb2.StackFrame(pc=source_pb2.SourcePosition(uri=uri, line=line))


def stack_trace() -> source_pb2.StackTrace:
    """The SDK's rule: the frames outside the third `__init__` from the top (Resource,
    Custom/ComponentResource, the concrete class), innermost first; none if there are
    not three or nothing lies outside the third."""
    frame: FrameType | None = sys._getframe()
    seen = 0
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            seen += 1
            if seen == 3:
                break
        frame = frame.f_back
    if frame is None or frame.f_back is None:
        return source_pb2.StackTrace()
    frames = []
    outer: FrameType | None = frame.f_back
    while outer is not None:
        frames.append(_frame(outer))
        outer = outer.f_back
    return source_pb2.StackTrace(frames=frames)


def install() -> bool:
    """Use `stack_trace` in this process if the SDK is the one it was checked against."""
    if sdk_resource._get_stack_trace is stack_trace:
        return True
    if sdk_source_hashes() != CHECKED_SDK_SOURCE:
        return False
    sdk_resource._get_stack_trace = stack_trace
    return True


def uninstall() -> None:
    sdk_resource._get_stack_trace = _SDK_STACK_TRACE
