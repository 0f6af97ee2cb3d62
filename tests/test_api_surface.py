"""Every core flat function of the reference exists here with a compatible signature.

Compatible: every parameter of the reference exists under the same name, in the same
position (for positional parameters), with the same default; we may add keyword-only
parameters with defaults. Functions owned by later work items are listed in ``LATER`` and
must not exist yet as stubs.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import s3dlio

DATA = Path(__file__).parent / "data" / "reference_flat_api.txt"

# name -> the work item that brings it (see the issue tracker / closing notes)
LATER = {
    **dict.fromkeys(["create_async_loader", "create_dataset", "make_tf_dataset"], "data loaders"),
    **dict.fromkeys(
        ["create_azure_writer", "create_direct_filesystem_writer", "create_filesystem_writer"],
        "streaming writers",
    ),
    **dict.fromkeys(
        [
            "create_multi_endpoint_store",
            "create_multi_endpoint_store_from_env",
            "create_multi_endpoint_store_from_file",
            "create_multi_endpoint_store_from_template",
        ],
        "multi-endpoint",
    ),
    **dict.fromkeys(
        [
            "finalize_distributed_checkpoint",
            "load_checkpoint",
            "load_checkpoint_with_validation",
            "load_checkpoint_with_validation_view",
            "save_checkpoint",
            "save_distributed_shard",
        ],
        "checkpoints",
    ),
    **dict.fromkeys(
        ["finalize_op_log", "init_op_log", "is_op_log_active", "op_log_stats"], "op-log"
    ),
    **dict.fromkeys(
        [
            "gcs_get_channel_count",
            "gcs_get_rapid_mode",
            "gcs_query_rapid_bucket",
            "gcs_set_channel_count",
            "gcs_set_rapid_mode",
        ],
        "cloud backends",
    ),
}


def reference_functions() -> list[tuple[str, ast.arguments]]:
    out = []
    for line in DATA.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, sig = line[len("s3dlio.") :].partition("(")
        tree = ast.parse(f"def {name}({sig}: pass")
        fn = tree.body[0]
        assert isinstance(fn, ast.FunctionDef)
        out.append((name, fn.args))
    return out


FUNCTIONS = reference_functions()


def test_reference_list_is_complete() -> None:
    assert len(FUNCTIONS) == 86


@pytest.mark.parametrize(("name", "args"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_flat_function_is_present_and_compatible(name: str, args: ast.arguments) -> None:
    if name in LATER:
        assert not hasattr(s3dlio, name), f"{name} exists before its work item ({LATER[name]})"
        return
    ours = getattr(s3dlio, name, None)
    assert callable(ours), f"s3dlio.{name} is missing"
    params = inspect.signature(ours).parameters
    positional = [
        p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    ref_pos = args.posonlyargs + args.args
    defaults = [None] * (len(ref_pos) - len(args.defaults)) + list(args.defaults)
    for i, (arg, default) in enumerate(zip(ref_pos, defaults, strict=True)):
        assert i < len(positional) and positional[i].name == arg.arg, f"{name}: parameter {i}"
        if default is not None:
            assert positional[i].default == ast.literal_eval(default), (
                f"{name}: default of {arg.arg}"
            )
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        assert arg.arg in params, f"{name}: keyword {arg.arg}"
        if default is not None:
            assert params[arg.arg].default == ast.literal_eval(default)
