"""Hostile peers, batch 2: well-framed WebSocket messages with bad content.

Each case opens a session on a raw connection, sends its bad message(s) and expects the
exact error replies (code, a phrase of the message, the session id and sequence echoed when
they were readable). Then the same connection must still work (a stats request is answered),
and the server must answer the canary frame exactly as at the start (hostile.Canary).
"""
import base64
import json
import struct

import pytest

from conftest import HEADER_SIZE, read, video_frames
from hostile import RawWS, module_server, open_raw_session

srv = module_server("--rate-limit-fps", "0")

SID = "h1"
WEBP = read(video_frames("palm_reach")[20])


def text(obj):
    return ("text", obj if isinstance(obj, (str, bytes)) else json.dumps(obj))


def binary(data):
    return ("binary", data)


def header_msg(obj, image=WEBP, pad=b" "):
    h = (obj if isinstance(obj, bytes) else json.dumps(obj).encode())
    return binary(h + pad * max(0, HEADER_SIZE - len(h)) + image)


def frame_hdr(sid=SID, seq=1, **extra):
    h = {"type": "process_frame", "session_id": sid, "sequence": seq,
         "frame_metadata": {"format": "webp"}}
    h.update(extra)
    return h


def err(code, needle="", sid=SID, seq=None):
    return {"type": "error", "code": code, "needle": needle, "session_id": sid, "sequence": seq}


def init(sid=SID, **extra):
    m = {"type": "init_session", "session_id": sid, "nail_reference": {"metadata": {}}}
    m.update(extra)
    return m


DEEP = 17  # WS_JSON_MAX_DEPTH is 16

# name -> (messages sent in the open session SID, expected replies in order)
CASES = {
    # JSON
    "not_json": ([text("hello")], [err("INVALID_MESSAGE", "invalid JSON", None)]),
    "empty_text_message": ([text("")], [err("INVALID_MESSAGE", "empty message", None)]),
    "json_array_root": ([text("[1,2]")], [err("INVALID_MESSAGE", "JSON object", None)]),
    "json_string_root": ([text('"stats"')], [err("INVALID_MESSAGE", "JSON object", None)]),
    "truncated_json": ([text('{"type":"stats","session_id":"h1"')],
                       [err("INVALID_MESSAGE", "invalid JSON", None)]),
    "trailing_garbage": ([text('{"type":"stats","session_id":"h1"} {}')],
                         [err("INVALID_MESSAGE", "unexpected data after", None)]),
    "nested_17_objects": ([text('{"a":' * DEEP + "1" + "}" * DEEP)],
                          [err("INVALID_MESSAGE", "nested deeper than 16", None)]),
    "nested_30k_arrays": ([text("[" * 30_000 + "]" * 30_000)],
                           [err("INVALID_MESSAGE", "nested deeper than 16", None)]),
    "nested_unclosed_60k": ([text("{\"a\":[" * 10_000)],
                           [err("INVALID_MESSAGE", "nested deeper than 16", None)]),
    "deep_design_in_valid_init": (
        [text(init(nail_reference={"metadata": json.loads('{"a":' * DEEP + "1" + "}" * DEEP)}))],
        [err("INVALID_MESSAGE", "nested deeper than 16", None)]),
    "brackets_inside_strings_are_not_depth": (
        [text({"type": "stats", "session_id": SID, "x": "[" * 5000})], [{"type": "stats"}]),
    # huge JSON: JSON_MAX_SIZE (64 KiB) bounds what is not one long string, before parsing
    "json_array_of_1m_numbers": ([text("[" + ",".join(["1"] * 1_000_000) + "]")],
                                 [err("INVALID_MESSAGE", "JSON_MAX_SIZE", None)]),
    "json_object_of_200k_keys": ([text("{" + ",".join(f'"k{i}":0' for i in range(200_000)) +
                                       "}")],
                                 [err("INVALID_MESSAGE", "JSON_MAX_SIZE", None)]),
    "json_9mb_string_is_fine": ([text({"type": "stats", "session_id": SID, "x": "a" * 9_000_000})],
                                [{"type": "stats"}]),
    "number_1e400": ([text('{"type":"process_frame","session_id":"h1","sequence":1e400}')],
                     [err("INVALID_MESSAGE", "sequence must be an integer", SID)]),
    "duplicate_type_key_first_wins": (
        [text('{"type":"stats","type":"init_session","session_id":"h1"}')], [{"type": "stats"}]),
    # fields
    "type_missing": ([text({"session_id": SID})], [err("INVALID_MESSAGE", "missing field 'type'")]),
    "type_not_string": ([text({"type": 7, "session_id": SID})],
                        [err("INVALID_MESSAGE", "must be a string")]),
    "type_unknown": ([text({"type": "dance", "session_id": SID})],
                     [err("INVALID_MESSAGE", "unknown message type 'dance'")]),
    "type_unknown_multibyte_cut": (  # regression: the cut fell inside a character (1007)
        [text(json.dumps({"type": "a" + "\u20ac" * 20, "session_id": SID}, ensure_ascii=False))],
        [err("INVALID_MESSAGE", "unknown message type 'a" + "\u20ac" * 15 + "??'")]),
    "session_id_missing": ([text({"type": "stats"})],
                           [err("INVALID_MESSAGE", "missing field 'session_id'", None)]),
    "session_id_129_chars": ([text({"type": "stats", "session_id": "x" * 129})],
                             [err("INVALID_MESSAGE", "1..128 characters", None)]),
    "session_id_bad_chars": ([text({"type": "stats", "session_id": "a b/c"})],
                             [err("INVALID_MESSAGE", "session_id must be", None)]),
    "session_id_number": ([text({"type": "stats", "session_id": 12})],
                          [err("INVALID_MESSAGE", "session_id must be", None)]),
    "sequence_negative": ([text(frame_hdr(seq=-1))],
                          [err("INVALID_MESSAGE", "sequence must be an integer in 0..2^53")]),
    "sequence_fraction": ([text(frame_hdr(seq=1.5))],
                          [err("INVALID_MESSAGE", "sequence must be an integer")]),
    "sequence_string": ([text(frame_hdr(seq="5"))],
                        [err("INVALID_MESSAGE", "sequence must be an integer")]),
    "sequence_over_2_53": ([text(frame_hdr(seq=2**53 + 2))],
                           [err("INVALID_MESSAGE", "sequence must be an integer")]),
    "sequence_missing": ([text({"type": "process_frame", "session_id": SID})],
                         [err("INVALID_MESSAGE", "process_frame needs 'sequence'")]),
    "timestamp_negative": ([text({"type": "stats", "session_id": SID, "timestamp": -5})],
                           [err("INVALID_MESSAGE", "timestamp must be epoch milliseconds")]),
    "frame_metadata_not_object": ([text(frame_hdr(seq=3, frame_metadata=[1]))],
                                  [err("INVALID_MESSAGE", "frame_metadata must be an object",
                                       seq=3)]),
    "declared_format_gif": ([text(frame_hdr(seq=4, frame_metadata={"format": "gif"})),
                             binary(WEBP)],
                            [err("UNSUPPORTED_FORMAT", "'gif' is not one of", seq=4)]),
    "declared_width_huge": ([text(frame_hdr(seq=5, frame_metadata={"width": 10**15,
                                                                    "height": 10**15})),
                             binary(WEBP)],
                            [err("FRAME_TOO_LARGE", "the limit is 1920x1080", seq=5)]),
    "declared_size_bytes_wrong": ([text(frame_hdr(seq=6, frame_metadata={"size_bytes": 7})),
                                   binary(WEBP)],
                                  [err("INVALID_MESSAGE", "size_bytes is 7", seq=6)]),
    "close_reason_65_bytes": ([text({"type": "close_session", "session_id": SID,
                                     "reason": "r" * 65})],
                              [err("INVALID_MESSAGE", "reason must be a string of at most 64")]),
    # init_session
    "init_without_nail_reference": ([text({"type": "init_session", "session_id": SID})],
                                    [err("INVALID_MESSAGE", "needs 'nail_reference'")]),
    "init_url_ftp": ([text(init(nail_reference={"url": "ftp://x/y.jpg"}))],
                     [err("INVALID_MESSAGE", "url must be http or https")]),
    "init_url_3000_bytes": ([text(init(nail_reference={"url": "http://a/" + "b" * 3000}))],
                            [err("INVALID_MESSAGE", "longer than 2048")]),
    "init_metadata_not_object": ([text(init(nail_reference={"metadata": "almond"}))],
                                 [err("INVALID_DESIGN", "metadata must be an object")]),
    "init_config_not_object": ([text(init(config=[25]))],
                               [err("INVALID_CONFIG", "config must be an object")]),
    "init_config_fps_zero": ([text(init(config={"target_fps": 0}))],
                             [err("INVALID_CONFIG", "target_fps must be an integer")]),
    "init_config_hands_3": ([text(init(config={"max_hands": 3}))],
                            [err("INVALID_CONFIG", "max_hands must be an integer in 1..2")]),
    "reinit_with_bad_design_keeps_session": (  # regression: it used to drop the session
        [text(init(nail_reference={"metadata": {"shape": "hexagon"}})),
         text({"type": "stats", "session_id": SID})],
        [err("INVALID_DESIGN", "shape"), {"type": "stats"}]),
    "init_another_id_on_same_connection": ([text(init("other"))],
                                           [err("INVALID_MESSAGE", "already carries session 'h1'",
                                                "other")]),
    # messages for sessions that are not open here
    "frame_split_unknown_session": ([text(frame_hdr("ghost", 8)), binary(WEBP)],
                                    [err("INVALID_SESSION", "carries 'h1'", "ghost", 8)]),
    "frame_header_unknown_session": ([header_msg(frame_hdr("ghost", 9))],
                                     [err("INVALID_SESSION", "carries 'h1'", "ghost", 9)]),
    "frame_base64_unknown_session": (
        [text(frame_hdr("ghost", 10, frame_data=base64.b64encode(WEBP).decode()))],
        [err("INVALID_SESSION", "carries 'h1'", "ghost", 10)]),
    "stats_unknown_session": ([text({"type": "stats", "session_id": "ghost"})],
                              [err("INVALID_SESSION", "stats for a session", "ghost")]),
    "close_unknown_session": ([text({"type": "close_session", "session_id": "ghost"})],
                              [err("INVALID_SESSION", "close_session for a session", "ghost")]),
    # binary messages: header encoding, and split encoding out of order
    "binary_without_header": ([binary(WEBP)],
                              [err("INVALID_MESSAGE", "must start with a 1024-byte JSON header",
                                   None)]),
    "binary_empty": ([binary(b"")],
                     [err("INVALID_MESSAGE", "must start with a 1024-byte JSON header", None)]),
    "binary_short_json": ([binary(json.dumps(frame_hdr(seq=11)).encode())],
                          [err("INVALID_MESSAGE", "1024-byte JSON header", None)]),
    "header_without_image": ([header_msg(frame_hdr(seq=12), image=b"")],
                             [err("INVALID_MESSAGE", "no image after the 1024-byte header",
                                  seq=12)]),
    "header_padding_first": ([binary(b" " * 8 + json.dumps(frame_hdr(seq=13)).encode()
                                     .ljust(HEADER_SIZE - 8) + WEBP)],
                             [err("INVALID_MESSAGE", "1024-byte JSON header", None)]),
    "header_json_longer_than_1024": ([binary(json.dumps(frame_hdr(seq=14, pad="p" * 1100))
                                             .encode() + WEBP)],
                                     [err("INVALID_MESSAGE", "invalid JSON", None)]),
    "header_garbage_after_json": ([header_msg(json.dumps(frame_hdr(seq=15)).encode() + b" xyz")],
                                  [err("INVALID_MESSAGE", "unexpected data after", None)]),
    "header_is_init_session": ([header_msg(init())],
                               [err("INVALID_MESSAGE", "must be a process_frame")]),
    "header_with_frame_data": ([header_msg(frame_hdr(seq=16, frame_data="AAAA"))],
                               [err("INVALID_MESSAGE", "frame_data is not allowed", seq=16)]),
    "header_invalid_utf8_type": (  # binary headers are not UTF-8 checked: the reply must be
        [header_msg(b'{"type":"\xff\xfe\xe2\x82","session_id":"h1","sequence":17}')],
        [err("INVALID_MESSAGE", "unknown message type '????'", SID, 17)]),
    "header_then_text_no_image": ([text(frame_hdr(seq=18)),
                                   text({"type": "stats", "session_id": SID})],
                                  [err("INVALID_MESSAGE", "next message was a text message",
                                       seq=18), {"type": "stats"}]),
    "header_then_header": ([text(frame_hdr(seq=19)), header_msg(frame_hdr(seq=20))],
                           [err("INVALID_MESSAGE", "a binary message with a JSON header", seq=19),
                            {"type": "processed_frame", "sequence": 20}]),
    "header_then_empty_binary": ([text(frame_hdr(seq=21)), binary(b"")],
                                 [err("INVALID_FRAME", "empty", seq=21)]),
    # base64 frames
    "base64_bad_chars": ([text(frame_hdr(seq=22, frame_data="!!!!"))],
                         [err("INVALID_MESSAGE", "not valid base64", seq=22)]),
    "base64_stray_char": ([text(frame_hdr(seq=23, frame_data="QUJDR"))],
                          [err("INVALID_MESSAGE", "not valid base64", seq=23)]),
    "base64_pad_in_middle": ([text(frame_hdr(seq=24, frame_data="QQ==QUJD"))],
                             [err("INVALID_MESSAGE", "not valid base64", seq=24)]),
    "base64_empty": ([text(frame_hdr(seq=25, frame_data=""))],
                     [err("INVALID_MESSAGE", "frame_data is empty", seq=25)]),
    "base64_not_string": ([text(frame_hdr(seq=26, frame_data=123))],
                          [err("INVALID_MESSAGE", "frame_data must be a base64 string", seq=26)]),
    "base64_data_url_without_comma": ([text(frame_hdr(seq=27, frame_data="data:image/webp"))],
                                      [err("INVALID_MESSAGE", "not valid base64", seq=27)]),
    "base64_of_text": ([text(frame_hdr(seq=28, frame_data=base64.b64encode(b"hello!").decode()))],
                       [err("UNSUPPORTED_FORMAT", "not WebP, JPEG or PNG", seq=28)]),
}


def check_reply(got, want):
    assert got["type"] == want["type"], (got, want)
    if want["type"] == "error":
        assert got["code"] == want["code"], (got, want)
        assert want["needle"] in got["message"], (got, want)
        assert got["session_id"] == want["session_id"], (got, want)
        if want["sequence"] is not None:
            assert got["sequence"] == want["sequence"], (got, want)
    elif "sequence" in want:
        assert got["sequence"] == want["sequence"], (got, want)


def recv_reply(ws):
    m = ws.recv_message()
    assert not isinstance(m, tuple), f"connection closed: {m}"
    if isinstance(m, bytes):
        return json.loads(m[:HEADER_SIZE].rstrip(b" \0"))
    out = json.loads(m)
    if out.get("type") == "processed_frame":  # split encoding: the image follows
        assert isinstance(ws.recv_message(), bytes)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_message(srv, name):
    server, canary = srv
    sent, expected = CASES[name]
    ws = open_raw_session(server.port, SID)
    for kind, data in sent:
        if kind == "text":
            ws.send_text(data)
        else:
            ws.send_binary(data)
    for want in expected:
        check_reply(recv_reply(ws), want)
    # the connection is still usable, and nothing else was sent before this answer
    ws.send_text(json.dumps({"type": "stats", "session_id": SID}))
    st = recv_reply(ws)
    assert st["type"] == "stats" and st["session_id"] == SID, st
    ws.close()
    canary.check(name)


def test_message_over_ws_max_message_size_closes_with_1009(srv):
    """11 MB in one text message: FRAME_TOO_LARGE, then close 1009; the rest of the message
    is not read."""
    server, canary = srv
    ws = open_raw_session(server.port, SID)
    try:
        ws.send_text(json.dumps({"type": "stats", "session_id": SID, "x": "a" * 11_000_000}))
    except (BrokenPipeError, ConnectionResetError):
        pass
    code, _, before = ws.expect_close()
    assert [(m["type"], m["code"]) for m in before] == [("error", "FRAME_TOO_LARGE")], before
    assert "WS_MAX_MESSAGE_SIZE" in before[0]["message"] and code == 1009
    canary.check("11 MB message")


def test_frame_claiming_2_to_the_40_bytes_is_cut_at_the_limit(srv):
    """A binary frame whose header claims 1 TiB: the server reads up to WS_MAX_MESSAGE_SIZE,
    answers FRAME_TOO_LARGE and closes with 1009 instead of reading for ever."""
    server, canary = srv
    ws = open_raw_session(server.port, SID)
    ws.send(bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 40) + b"\0\0\0\0")
    chunk = bytes(1 << 20)
    try:
        for _ in range(12):
            ws.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    code, _, before = ws.expect_close()
    assert [(m["type"], m["code"]) for m in before] == [("error", "FRAME_TOO_LARGE")], before
    assert code == 1009
    canary.check("1 TiB frame")


def test_messages_before_any_session(srv):
    """Without init_session, everything but init_session is INVALID_SESSION."""
    server, canary = srv
    ws = RawWS(server.port)
    ws.send_text(json.dumps(frame_hdr("nobody", 1)))
    ws.send_binary(WEBP)
    check_reply(recv_reply(ws), err("INVALID_SESSION", "send init_session first", "nobody", 1))
    ws.send_binary(json.dumps(frame_hdr("nobody", 2)).encode().ljust(HEADER_SIZE) + WEBP)
    check_reply(recv_reply(ws), err("INVALID_SESSION", "send init_session first", "nobody", 2))
    ws.close()
    canary.check("messages before a session")


def test_everything_after_close_session_is_ignored(srv):
    """After close_session: stats, session_closed, close 1000; frames sent behind it are
    neither processed nor answered."""
    server, canary = srv
    ws = open_raw_session(server.port, SID)
    ws.send_text(json.dumps({"type": "close_session", "session_id": SID}))
    try:  # the server may have closed the connection already
        ws.send_text(json.dumps(frame_hdr(SID, 99)))
        ws.send_binary(WEBP)
    except (BrokenPipeError, ConnectionResetError):
        pass
    code, _, before = ws.expect_close()
    assert [m["type"] for m in before] == ["stats", "session_closed"], before
    assert code == 1000
    canary.check("after close_session")
