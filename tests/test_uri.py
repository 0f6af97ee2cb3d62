"""URI parsing, the reference's parse_s3_uri_full table, and templates."""

from __future__ import annotations

import pytest

import s3dlio
from s3dlio.uri import expand_template, format_object_name, parse_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://mybucket/data.bin", {"endpoint": None, "bucket": "mybucket", "key": "data.bin"}),
        (
            "s3://192.168.100.1:9001/mybucket/data.bin",
            {"endpoint": "192.168.100.1:9001", "bucket": "mybucket", "key": "data.bin"},
        ),
        ("s3://localhost:9000/b/k", {"endpoint": "localhost:9000", "bucket": "b", "key": "k"}),
        ("s3://[::1]:9000/b/k", {"endpoint": "[::1]:9000", "bucket": "b", "key": "k"}),
        (
            "s3://host.example.com/b/k",
            {"endpoint": None, "bucket": "host.example.com", "key": "b/k"},
        ),
        ("s3://bucket/", {"endpoint": None, "bucket": "bucket", "key": ""}),
        ("s3://host:9000/bucket", {"endpoint": "host:9000", "bucket": "bucket", "key": ""}),
        ("s3://b//k", {"endpoint": None, "bucket": "b", "key": "/k"}),
        ("s3://b/k?x=1#frag", {"endpoint": None, "bucket": "b", "key": "k?x=1#frag"}),
        ("s3://Bucket_Name/k", {"endpoint": None, "bucket": "Bucket_Name", "key": "k"}),
    ],
)
def test_parse_s3_uri_full_matches_reference_table(uri: str, expected: dict[str, str]) -> None:
    assert s3dlio.parse_s3_uri_full(uri) == expected


@pytest.mark.parametrize(
    "uri",
    ["s3://bucket", "s3://", "s3:///k", "s3://host:9000/", "gs://b/k", "file:///x", "S3://b/k"],
)
def test_parse_s3_uri_full_rejects_like_reference(uri: str) -> None:
    with pytest.raises(s3dlio.InvalidURIError) as info:
        s3dlio.parse_s3_uri_full(uri)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert uri in str(info.value)


def test_parse_uri_every_scheme() -> None:
    assert parse_uri("gs://b/k/x").bucket == "b"
    gcs = parse_uri("gcs://b/k")
    assert (gcs.scheme, gcs.bucket, gcs.key) == ("gs", "b", "k")
    assert gcs.with_key("other") == "gcs://b/other"  # the spelling is kept
    az = parse_uri("az://acct/cont/dir/blob.bin")
    assert (az.account, az.bucket, az.key) == ("acct", "cont", "dir/blob.bin")
    assert az.with_key("x") == "az://acct/cont/x"
    ep = parse_uri("s3://127.0.0.1:9000/bkt/a/b")
    assert (ep.endpoint, ep.bucket, ep.key) == ("127.0.0.1:9000", "bkt", "a/b")
    assert ep.with_key("c") == "s3://127.0.0.1:9000/bkt/c"
    assert parse_uri("s3://bucket").key == ""
    assert parse_uri("file:///tmp/x y/ü.bin").key == "/tmp/x y/ü.bin"
    assert parse_uri("file://rel/path").key == "rel/path"
    assert parse_uri("direct:///data/f").scheme == "direct"
    assert parse_uri("file:///x%20y").key == "/x%20y"  # no percent decoding


@pytest.mark.parametrize(
    "uri", ["foo://x/y", "/abs/path", "rel/path", "FILE:///x", "file:/x", "http://h/b", ""]
)
def test_unknown_or_missing_scheme_is_a_clear_value_error(uri: str) -> None:
    with pytest.raises(s3dlio.UnsupportedSchemeError) as info:
        s3dlio.get(uri)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RuntimeError)  # reference handlers catch RuntimeError
    assert "scheme" in str(info.value)


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("s3:///k", "empty bucket"),
        ("az://acct", "missing container"),
        ("gs://", "empty bucket"),
        ("file://", "empty path"),
        ("s3://h:9/", "missing bucket"),
    ],
)
def test_malformed_uri_names_the_problem_and_the_uri(uri: str, words: str) -> None:
    with pytest.raises(s3dlio.InvalidURIError) as info:
        parse_uri(uri)
    assert words in str(info.value)
    assert info.value.uri == uri


def test_template_ranges_expand_to_cartesian_product() -> None:
    assert expand_template("s3://ep{1...2}/x{1...2}") == [
        "s3://ep1/x1",
        "s3://ep1/x2",
        "s3://ep2/x1",
        "s3://ep2/x2",
    ]
    assert expand_template("h{8...10}") == ["h8", "h9", "h10"]
    assert expand_template("h{1..3}") == ["h{1..3}"]  # two dots stay literal
    assert expand_template("plain") == ["plain"]


def test_template_keeps_zero_padding() -> None:
    assert expand_template("node{01...03}") == ["node01", "node02", "node03"]


def test_template_descending_range_is_an_error() -> None:
    with pytest.raises(s3dlio.InvalidArgumentError, match=r"start \(3\) > end \(1\)"):
        expand_template("x{3...1}")


def test_object_name_template() -> None:
    assert format_object_name("obj-{}-of-{}.bin", 0, 2) == "obj-0-of-2.bin"
    assert format_object_name("obj-{}.bin", 7, 9) == "obj-7.bin"
    assert format_object_name("same.bin", 1, 2) == "same.bin"


def test_object_capabilities() -> None:
    assert s3dlio.object_capabilities("file:///x")["provider"] == "file"
    assert s3dlio.object_capabilities("gcs://b/k")["provider"] == "gs"
    assert s3dlio.object_capabilities("http://x")["provider"] == "unknown"
    with pytest.raises(ValueError):
        s3dlio.object_capabilities("az://acct")
