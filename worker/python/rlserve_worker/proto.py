"""The protobuf messages of proto/rlserve.proto, generated at build time by protoc
--python_out into the build tree (the CMake target rlserve_python puts rlserve_pb2.py next to
this package's copy there)."""
try:
    from . import rlserve_pb2 as pb  # noqa: F401
except ImportError as e:  # pragma: no cover
    raise ImportError("rlserve_worker: the generated rlserve_pb2 is missing (%s); build the project "
                      "(cmake --build build) and use PYTHONPATH=build/python" % e) from None
