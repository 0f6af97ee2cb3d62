def fill(buffer: object, key: int, offset: int, /) -> None:
    """Write bytes ``[offset, offset + len(buffer))`` of the SplitMix64 stream of ``key`` into
    the writable, C-contiguous ``buffer`` (GIL released)."""
