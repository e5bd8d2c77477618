"""Wire format of the try-on protocol (docs/protocol.md): message builders, the three frame
encodings, reply parsing and the result types. No I/O here."""
from __future__ import annotations

import base64
import dataclasses
import enum
import json
import re
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

HEADER_SIZE = 1024
"""Size of the JSON header of the binary encoding (encoding 2)."""

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_SEQUENCE = 2 ** 53


class FrameEncoding(str, enum.Enum):
    """How frames travel (docs/protocol.md, "process_frame — three encodings")."""

    HEADER = "header"
    """One binary message: JSON header padded to 1024 bytes, then the image (default)."""
    SPLIT = "split"
    """A text process_frame message, then a binary message with the image (the guide's way)."""
    BASE64 = "base64"
    """One text message with the image base64-encoded in frame_data (about 33% larger)."""


def epoch_ms() -> int:
    """The protocol's timestamps: Unix epoch milliseconds."""
    return int(time.time() * 1000)


def sniff_format(image: bytes) -> Optional[str]:
    """webp, jpeg or png from the magic bytes, None when it is none of them."""
    if len(image) >= 12 and image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "webp"
    if image[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def init_session_message(session_id: str, nail_reference: Mapping[str, Any],
                         config: Optional[Mapping[str, Any]]) -> str:
    msg: Dict[str, Any] = {"type": "init_session", "session_id": session_id,
                           "nail_reference": dict(nail_reference), "timestamp": epoch_ms()}
    if config:
        msg["config"] = dict(config)
    return json.dumps(msg)


def control_message(mtype: str, session_id: str, **fields: Any) -> str:
    msg: Dict[str, Any] = {"type": mtype, "session_id": session_id, "timestamp": epoch_ms()}
    msg.update(fields)
    return json.dumps(msg)


def frame_messages(encoding: FrameEncoding, session_id: str, sequence: int, image: bytes,
                   fmt: Optional[str], width: Optional[int], height: Optional[int],
                   timestamp: int) -> List[Union[str, bytes]]:
    """The WebSocket message(s) carrying one frame, to be sent in order without interleaving."""
    meta: Dict[str, Any] = {}
    if width is not None and height is not None:
        meta["width"], meta["height"] = int(width), int(height)
    if fmt:
        meta["format"] = fmt
    header: Dict[str, Any] = {"type": "process_frame", "session_id": session_id,
                              "sequence": sequence, "timestamp": timestamp}
    if encoding is FrameEncoding.BASE64:
        header["frame_data"] = base64.b64encode(image).decode("ascii")
        header["frame_metadata"] = meta
        return [json.dumps(header)]
    meta["size_bytes"] = len(image)
    header["frame_metadata"] = meta
    if encoding is FrameEncoding.SPLIT:
        return [json.dumps(header), image]
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if len(raw) > HEADER_SIZE:  # cannot happen with the fields above; guards future edits
        raise ValueError(f"frame header of {len(raw)} bytes exceeds {HEADER_SIZE}")
    return [raw.ljust(HEADER_SIZE, b" ") + image]


def parse_header_reply(data: bytes) -> Tuple[Dict[str, Any], bytes]:
    """Splits a binary (encoding 2) reply into its JSON header and the image.
    Raises ValueError when the message is not in that layout."""
    if len(data) < HEADER_SIZE:
        raise ValueError(f"binary reply of {len(data)} bytes is shorter than its header")
    meta = json.loads(data[:HEADER_SIZE].rstrip(b" \0").decode("utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("binary reply header is not a JSON object")
    return meta, data[HEADER_SIZE:]


@dataclasses.dataclass(frozen=True)
class FrameResult:
    """A processed frame: the painted image and the service's ``processed_frame`` metadata."""

    sequence: int
    image: bytes
    metadata: Dict[str, Any]
    """The processed_frame message as received (without frame_data in base64 mode)."""
    round_trip_ms: float
    """From sending the frame to its complete reply arriving, measured by this client."""

    @property
    def processing_time_ms(self) -> float:
        return float(self.metadata.get("processing_time_ms", 0.0))

    @property
    def confidence_score(self) -> float:
        return float(self.metadata.get("confidence_score", 0.0))

    @property
    def detection_info(self) -> Dict[str, Any]:
        return dict(self.metadata.get("detection_info") or {})

    @property
    def problems(self) -> List[str]:
        """Detection problems of a frame that was painted anyway (e.g. BLUR_DETECTED)."""
        return list(self.detection_info.get("problems") or [])

    @property
    def image_format(self) -> str:
        return str((self.metadata.get("frame_metadata") or {}).get("format", ""))


@dataclasses.dataclass(frozen=True)
class SessionStats:
    """A ``stats`` message of the service (counts since the session started on the server;
    they start over when the client re-creates the session after a reconnect)."""

    frames_received: int
    frames_processed: int
    frames_dropped: int
    frames_with_errors: int
    avg_processing_time_ms: float
    p95_processing_time_ms: float
    avg_confidence: float
    duration_s: float
    timestamp: int
    raw: Dict[str, Any]

    @classmethod
    def from_message(cls, m: Mapping[str, Any]) -> "SessionStats":
        def num(key: str) -> float:
            v = m.get(key)
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0

        return cls(frames_received=int(num("frames_received")),
                   frames_processed=int(num("frames_processed")),
                   frames_dropped=int(num("frames_dropped")),
                   frames_with_errors=int(num("frames_with_errors")),
                   avg_processing_time_ms=num("avg_processing_time_ms"),
                   p95_processing_time_ms=num("p95_processing_time_ms"),
                   avg_confidence=num("avg_confidence"), duration_s=num("duration_s"),
                   timestamp=int(num("timestamp")), raw=dict(m))


@dataclasses.dataclass
class ClientCounters:
    """What this client saw for one session, across reconnects."""

    submitted: int = 0
    """process_frame calls."""
    sent: int = 0
    """Frames written to a connection (a frame refused by a draining service with SHUTTING_DOWN
    and sent again on the next connection counts twice)."""
    processed: int = 0
    """Frames answered with a processed image."""
    server_errors: int = 0
    """Frames answered with an error message (detection problems and server drops included)."""
    superseded: int = 0
    """Frames replaced by a newer one before they were sent (latest frame wins)."""
    timed_out: int = 0
    """Frames without a reply within frame_timeout."""
    lost: int = 0
    """Frames in flight when a connection dropped."""
    late_replies: int = 0
    """Replies (or errors) for frames that had already timed out or been lost: discarded."""
    reconnects: int = 0
    """Times the session was re-created on a new connection."""
