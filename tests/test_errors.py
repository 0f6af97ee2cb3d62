"""The exception hierarchy: typed, builtin-compatible, RuntimeError-compatible, secret-free."""

from __future__ import annotations

import pickle

import pytest

import s3dlio
from s3dlio import errors


def test_every_error_class_is_a_runtime_error() -> None:
    classes = [getattr(errors, n) for n in errors.__all__ if n[0].isupper()]
    assert len(classes) > 10
    for cls in classes:
        assert issubclass(cls, s3dlio.S3dlioError)
        assert issubclass(cls, RuntimeError)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (s3dlio.ObjectNotFoundError, FileNotFoundError),
        (s3dlio.PermissionDeniedError, PermissionError),
        (s3dlio.AlreadyExistsError, FileExistsError),
        (s3dlio.IsADirectoryObjectError, IsADirectoryError),
        (s3dlio.NetworkError, ConnectionError),
        (s3dlio.StorageTimeoutError, TimeoutError),
        (s3dlio.InvalidURIError, ValueError),
        (s3dlio.UnsupportedOperationError, NotImplementedError),
        (s3dlio.InvalidPayloadError, TypeError),
    ],
)
def test_errors_map_onto_builtins(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, builtin)


def test_error_carries_uri_and_operation() -> None:
    err = s3dlio.ObjectNotFoundError("gone", uri="s3://b/k", operation="get")
    assert err.uri == "s3://b/k" and err.operation == "get"
    assert str(err) == "get s3://b/k: gone"


def test_secrets_never_reach_messages_or_repr() -> None:
    sas = "sv=2019&sig=SECRETSIGNATURE"
    err = s3dlio.PermissionDeniedError(
        f"denied for https://acct.blob/c/k?{sas}", uri=f"az://acct/c/k?{sas}", operation="get"
    )
    for text in (str(err), repr(err), err.uri or ""):
        assert "SECRETSIGNATURE" not in text
    userinfo = s3dlio.NetworkError("x", uri="http://user:hunter2@host/b")
    assert "hunter2" not in str(userinfo)


def test_cloud_settings_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio import config

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "TOPSECRETKEY")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "AZSECRET")
    settings = config.settings()
    assert "TOPSECRETKEY" not in repr(settings.aws)
    assert settings.aws.has_credentials
    assert "AZSECRET" not in repr(settings.azure)
    assert "TOPSECRETKEY" not in repr(settings) and "AZSECRET" not in repr(settings)


def test_errors_pickle_with_type_and_fields() -> None:
    err = s3dlio.ObjectNotFoundError("gone", uri="file:///x", operation="get")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is s3dlio.ObjectNotFoundError
    assert (back.uri, back.operation, str(back)) == (err.uri, err.operation, str(err))


def test_missing_object_is_caught_by_old_and_new_handlers(tmp_path: object) -> None:
    uri = f"file://{tmp_path}/missing.bin"
    for handler in (RuntimeError, FileNotFoundError, OSError, s3dlio.ObjectNotFoundError):
        with pytest.raises(handler):
            s3dlio.get(uri)
