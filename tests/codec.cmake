# Codec tests: frame header and reader, protobuf wire messages, msgpack transition batches,
# text from the wire (utf8).
rl_test(test_frame LABELS unit SOURCES test_frame.c LIBS rlcommon)
rl_test(test_wire LABELS unit SOURCES test_wire.c LIBS rlcommon)
rl_test(test_utf8 LABELS unit SOURCES test_utf8.c LIBS rlcommon)
rl_test(test_tbatch LABELS unit SOURCES test_tbatch.c LIBS rlcommon)
