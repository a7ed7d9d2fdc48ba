"""G.711 tables: bit-exact with CPython's ``audioop`` (Sun reference g711.c) for every input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from confero.media import g711
from confero.media.g711 import PCMA, PCMU

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop", reason="audioop was removed in Python 3.13")

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))


def test_ulaw_encode_matches_audioop_for_all_65536_samples() -> None:
    expected = audioop.lin2ulaw(ALL_SAMPLES.tobytes(), 2)
    assert g711.encode_ulaw(ALL_SAMPLES) == expected


def test_alaw_encode_matches_audioop_for_all_65536_samples() -> None:
    expected = audioop.lin2alaw(ALL_SAMPLES.tobytes(), 2)
    assert g711.encode_alaw(ALL_SAMPLES) == expected


def test_ulaw_decode_matches_audioop_for_all_256_codes() -> None:
    expected = np.frombuffer(audioop.ulaw2lin(ALL_CODES, 2), dtype=np.int16)
    np.testing.assert_array_equal(g711.decode_ulaw(ALL_CODES), expected)


def test_alaw_decode_matches_audioop_for_all_256_codes() -> None:
    expected = np.frombuffer(audioop.alaw2lin(ALL_CODES, 2), dtype=np.int16)
    np.testing.assert_array_equal(g711.decode_alaw(ALL_CODES), expected)


def test_tables_have_the_documented_shape_and_are_read_only() -> None:
    for decode in (g711.ULAW_DECODE, g711.ALAW_DECODE):
        assert decode.shape == (256,) and decode.dtype == np.int16
    for encode in (g711.ULAW_ENCODE, g711.ALAW_ENCODE):
        assert encode.shape == (65536,) and encode.dtype == np.uint8
    with pytest.raises(ValueError):
        g711.ULAW_ENCODE[0] = 1


def test_decoded_codes_encode_back_to_themselves() -> None:
    codes = np.arange(256, dtype=np.uint8)
    ulaw = np.frombuffer(g711.encode_ulaw(g711.decode_ulaw(codes)), np.uint8)
    # 0x7F is µ-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    mismatch = codes[ulaw != codes]
    assert mismatch.tolist() == [0x7F]
    alaw = np.frombuffer(g711.encode_alaw(g711.decode_alaw(codes)), np.uint8)
    np.testing.assert_array_equal(alaw, codes)


def test_silence_codes_decode_to_zero() -> None:
    assert PCMU.decode(PCMU.silence(160)).tolist() == [0] * 160
    assert abs(int(PCMA.decode(PCMA.silence(1))[0])) <= 8  # A-law has no exact zero
    assert PCMU.encode(np.zeros(3, np.int16)) == bytes([g711.ULAW_SILENCE]) * 3
    assert PCMA.encode(np.zeros(3, np.int16)) == bytes([g711.ALAW_SILENCE]) * 3


def test_codec_objects_carry_the_static_payload_types() -> None:
    assert (PCMU.name, PCMU.payload_type, PCMU.clock_rate) == ("PCMU", 0, 8000)
    assert (PCMA.name, PCMA.payload_type, PCMA.clock_rate) == ("PCMA", 8, 8000)


def test_wider_or_float_input_saturates_instead_of_wrapping() -> None:
    loud = np.array([40000, -40000, 32767, -32768], dtype=np.int32)
    assert PCMU.encode(loud) == PCMU.encode(np.array([32767, -32768, 32767, -32768], np.int16))
    floats = np.array([1e9, -1e9, 0.4], dtype=np.float64)
    assert PCMA.encode(floats) == PCMA.encode(np.array([32767, -32768, 0], np.int16))
    assert g711.to_int16(np.array([1.6, -1.6])).tolist() == [2, -2]


def test_decode_accepts_bytes_bytearray_memoryview_and_uint8_arrays() -> None:
    data = bytes([0, 1, 0x80, 0xFF])
    expected = PCMU.decode(data)
    for variant in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        np.testing.assert_array_equal(PCMU.decode(variant), expected)


def test_quantization_error_is_within_g711_bounds() -> None:
    # G.711 gives roughly 38 dB SNR for a loud sine; a broken table would be far worse.
    t = np.arange(8000) / 8000
    x = np.rint(16000 * np.sin(2 * np.pi * 1013 * t)).astype(np.int16)
    for codec in (PCMU, PCMA):
        y = codec.decode(codec.encode(x)).astype(np.float64)
        noise = y - x
        snr = 10 * np.log10(np.mean(x.astype(float) ** 2) / np.mean(noise**2))
        assert snr > 35, codec.name


@given(hnp.arrays(np.int16, st.integers(0, 400)))
def test_encode_decode_any_frame(samples: np.ndarray) -> None:
    for codec in (PCMU, PCMA):
        encoded = codec.encode(samples)
        assert len(encoded) == samples.size
        decoded = codec.decode(encoded)
        assert decoded.dtype == np.int16 and decoded.size == samples.size


@given(st.binary(max_size=400))
def test_decode_any_bytes(payload: bytes) -> None:
    assert g711.decode_ulaw(payload).size == len(payload)
    assert g711.decode_alaw(payload).size == len(payload)
