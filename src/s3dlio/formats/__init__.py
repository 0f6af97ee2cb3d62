"""File formats AI/ML benchmarks read: NPY/NPZ, TFRecord, HDF5 and Parquet builders and readers.

One module per format. Each builder returns a zero-copy :class:`~s3dlio.buffers.BytesView`
that ``put_bytes`` uploads as is. HDF5 needs the ``hdf5`` extra (h5py) and Parquet the
``parquet`` extra (pyarrow); both are imported only when used.
"""
