#!/usr/bin/env python3
"""Writes the golden frames of the board protocol (PROTOCOL.md) from the spec alone.

This is an independent third writer of the protocol: it uses only Python's `struct`, `zlib.crc32`
(CRC-32/ISO-HDLC) and `binascii.crc_hqx(data, 0xFFFF)` (CRC-16/CCITT-FALSE), never the TypeScript
or C++ codecs, so the codecs are checked against the spec and not against themselves.

    python3 firmware/protocol/golden/generate.py      # rewrites messages.json and streams.json
"""
import binascii
import hashlib
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SYNC = b"\xf5\xa5"
MAX_PAYLOAD = 4096
MAX_LINE = 1024
FLAG_SIMULATED = 0x01
FLAG_MORE = 0x02

TYPES = {
    "ping": 0x01, "get_info": 0x02, "negotiate": 0x03, "reset": 0x04, "log_level": 0x05,
    "memory_report": 0x06, "model_begin": 0x10, "model_chunk": 0x11, "model_end": 0x12,
    "model_select_partition": 0x13, "arena_config": 0x14, "set_input": 0x15, "invoke": 0x16,
    "get_output": 0x17, "accuracy_begin": 0x18, "accuracy_input": 0x19, "accuracy_run": 0x1A,
    "sim_set_variant": 0x70,
    "hello": 0x80, "pong": 0x81, "info": 0x82, "negotiated": 0x83, "ok": 0x84, "error": 0x85,
    "memory": 0x86, "chunk_ack": 0x90, "model_ready": 0x91, "arena_ready": 0x92,
    "invoke_cycles": 0x93, "invoke_profile": 0x94, "invoke_result": 0x95, "output_data": 0x96,
    "accuracy_output": 0x97, "accuracy_result": 0x98,
}
PLACEMENT = ["none", "internal", "psram", "flash"]
SOURCE = ["upload", "partition"]
RESET_MODE = ["app", "download"]
LOG_LEVEL = ["none", "error", "warn", "info", "debug", "verbose"]
DTYPE = ["float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16", "complex64",
         "int8", "float64", "complex128", "uint64", "resource", "variant", "uint32", "uint16",
         "int4", "bfloat16"]


# --- field writers ----------------------------------------------------------------------------

def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i32(v): return struct.pack("<i", v)
def f32(v): return struct.pack("<f", v)


def s(text):
    raw = text.encode("utf-8")
    assert len(raw) <= 255, text
    return u8(len(raw)) + raw


def sha(hexstr):
    raw = bytes.fromhex(hexstr)
    assert len(raw) == 32
    return raw


def mac(text):
    raw = bytes.fromhex(text.replace(":", ""))
    assert len(raw) == 6
    return raw


def tensor(t):
    out = u8(DTYPE.index(t["dtype"])) + u32(t["bytes"]) + u8(len(t["shape"]))
    for d in t["shape"]:
        out += i32(d)
    # Only values exactly representable in binary32 are used, so JSON numbers round-trip.
    assert struct.unpack("<f", f32(t["scale"]))[0] == t["scale"], t["scale"]
    return out + f32(t["scale"]) + i32(t["zeroPoint"])


def heap(h):
    return u32(h["total"]) + u32(h["free"]) + u32(h["minFree"]) + u32(h["largestFree"])


def identity(b):
    return (u8(b["protocolMin"]) + u8(b["protocolMax"]) + u16(b["maxPayload"]) + u8(b["rxWindow"])
            + u8(FLAG_SIMULATED if b["simulated"] else 0) + u8(b["resetReason"]) + u8(b["cores"])
            + u16(b["chipRevision"]) + u16(b["cpuMhz"]) + u32(b["flashSize"]) + u32(b["psramSize"])
            + u32(b["uptimeMs"]) + mac(b["mac"]) + sha(b["appSha256"]) + s(b["chip"])
            + s(b["variant"]) + s(b["kernelBackend"]) + s(b["appVersion"]) + s(b["projectName"])
            + s(b["idfVersion"]) + s(b["tflmVersion"]) + s(b["espNnVersion"]))


def payload(b):
    t = b["type"]
    data = bytes.fromhex(b.get("data", ""))
    if t in ("get_info", "memory_report", "model_end", "model_select_partition", "accuracy_run", "ok"):
        return b""
    if t in ("ping", "pong"):
        return data
    if t == "negotiate":
        return u8(len(b["versions"])) + bytes(b["versions"])
    if t == "reset":
        return u8(RESET_MODE.index(b["mode"]))
    if t == "log_level":
        return u8(LOG_LEVEL.index(b["level"])) + s(b["tag"])
    if t == "model_begin":
        return u32(b["size"]) + sha(b["sha256"]) + u8(PLACEMENT.index(b["destination"]))
    if t in ("model_chunk", "accuracy_input"):
        return u32(b["offset"]) + data
    if t == "arena_config":
        return u32(b["size"]) + u8(PLACEMENT.index(b["placement"]))
    if t == "set_input":
        return u8(b["tensor"]) + u32(b["offset"]) + data
    if t == "invoke":
        return u32(b["warmup"]) + u32(b["measured"]) + u8(1 if b["profile"] else 0)
    if t == "get_output":
        return u8(b["tensor"]) + u32(b["offset"]) + u32(b["length"])
    if t == "accuracy_begin":
        return u32(b["samples"]) + u32(b["sampleBytes"])
    if t == "sim_set_variant":
        return s(b["variant"])
    if t in ("hello", "info"):
        return identity(b)
    if t == "negotiated":
        return u8(b["version"])
    if t == "error":
        return u16(b["code"]) + u32(b["arg"]) + s(b["message"])
    if t == "memory":
        return (u32(b["arenaSize"]) + u32(b["arenaUsed"]) + u8(PLACEMENT.index(b["arenaPlacement"]))
                + u32(b["modelSize"]) + u8(PLACEMENT.index(b["modelPlacement"])) + u32(b["imageSize"])
                + heap(b["internal"]) + heap(b["psram"]))
    if t == "chunk_ack":
        return u32(b["nextOffset"])
    if t == "model_ready":
        return (u32(b["size"]) + sha(b["sha256"]) + u8(SOURCE.index(b["source"]))
                + u8(PLACEMENT.index(b["placement"])))
    if t == "arena_ready":
        out = u32(b["size"]) + u8(PLACEMENT.index(b["placement"])) + u32(b["used"])
        out += u8(len(b["inputs"])) + b"".join(tensor(x) for x in b["inputs"])
        out += u8(len(b["outputs"])) + b"".join(tensor(x) for x in b["outputs"])
        return out
    if t == "invoke_cycles":
        return u32(b["first"]) + b"".join(u32(c) for c in b["cycles"])
    if t == "invoke_profile":
        return u16(len(b["entries"])) + b"".join(
            u16(e["opIndex"]) + u32(e["cycles"]) + s(e["name"]) for e in b["entries"])
    if t == "invoke_result":
        return (u32(b["warmup"]) + u32(b["measured"]) + u16(b["cpuMhz"]) + u64(b["totalCycles"])
                + u64(b["wallUs"]))
    if t == "output_data":
        return u8(b["tensor"]) + u32(b["offset"]) + u32(b["total"]) + data
    if t == "accuracy_output":
        return u32(b["offset"]) + u32(b["total"]) + data
    if t == "accuracy_result":
        return u32(b["samples"]) + u32(b["outputBytes"])
    raise ValueError(t)


# --- frames -------------------------------------------------------------------------------------

def header(version, type_code, flags, request_id, length):
    h = SYNC + bytes([version, type_code, flags, 0]) + u16(request_id) + u16(length)
    return h + u16(binascii.crc_hqx(h, 0xFFFF))


def frame(type_code, request_id, body_bytes, flags=0, version=1):
    assert len(body_bytes) <= MAX_PAYLOAD
    h = header(version, type_code, flags, request_id, len(body_bytes))
    return h + body_bytes + u32(zlib.crc32(h + body_bytes))


def message_frame(msg, extra=b""):
    flags = (FLAG_SIMULATED if msg["simulated"] else 0) | (FLAG_MORE if msg["more"] else 0)
    body = msg["body"]
    return frame(TYPES[body["type"]], msg["requestId"], payload(body) + extra, flags)


def msg(body, request_id=1, simulated=False, more=False):
    return {"requestId": request_id, "simulated": simulated, "more": more, "body": body}


# --- example values -----------------------------------------------------------------------------

# Digests of fixed strings: realistic-looking, reproducible, and clearly examples.
PERSON_SHA = hashlib.sha256(b"example: person_detect.tflite").hexdigest()
APP_SHA = hashlib.sha256(b"example: hil_bench.elf, variant esp-nn").hexdigest()
SIM_SHA = hashlib.sha256(b"example: simulated firmware, variant reference").hexdigest()


def pattern(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n)).hex()


HELLO_REAL = {
    "type": "hello", "protocolMin": 1, "protocolMax": 1, "maxPayload": 4096, "rxWindow": 4,
    "simulated": False, "resetReason": 1, "cores": 2, "chipRevision": 2, "cpuMhz": 240,
    "flashSize": 8388608, "psramSize": 8388608, "uptimeMs": 412, "mac": "f4:12:fa:43:9b:10",
    "appSha256": APP_SHA, "chip": "esp32s3", "variant": "esp-nn", "kernelBackend": "esp-nn",
    "appVersion": "0.1.0", "projectName": "hil_bench", "idfVersion": "v5.2.1",
    "tflmVersion": "1.3.4", "espNnVersion": "1.1.2",
}
HELLO_SIM = dict(HELLO_REAL, simulated=True, variant="reference", kernelBackend="reference",
                 appSha256=SIM_SHA, resetReason=9, uptimeMs=0, mac="02:00:00:00:00:03",
                 idfVersion="v5.2.1 (simulated)")
PERSON_IN = {"dtype": "int8", "bytes": 9216, "shape": [1, 96, 96, 1], "scale": 0.0078125,
             "zeroPoint": -128}
PERSON_OUT = {"dtype": "int8", "bytes": 2, "shape": [1, 2], "scale": 0.00390625, "zeroPoint": -128}
FLOAT_IN = {"dtype": "float32", "bytes": 4, "shape": [1, 1], "scale": 0, "zeroPoint": 0}
CYCLES = [12960211, 12958876, 12961030, 12959544]

MESSAGES = [
    ("ping", msg({"type": "ping", "data": b"hi".hex()}, 1)),
    ("ping-empty", msg({"type": "ping", "data": ""}, 65535)),
    ("pong", msg({"type": "pong", "data": b"hi".hex()}, 1)),
    ("get-info", msg({"type": "get_info"}, 2)),
    ("negotiate", msg({"type": "negotiate", "versions": [1, 2]}, 3)),
    ("reset-app", msg({"type": "reset", "mode": "app"}, 4)),
    ("reset-download", msg({"type": "reset", "mode": "download"}, 5)),
    ("log-level-all", msg({"type": "log_level", "level": "warn", "tag": ""}, 6)),
    ("log-level-tag", msg({"type": "log_level", "level": "verbose", "tag": "hil"}, 7)),
    ("memory-report", msg({"type": "memory_report"}, 8)),
    ("model-begin", msg({"type": "model_begin", "size": 300568, "sha256": PERSON_SHA,
                         "destination": "psram"}, 9)),
    ("model-chunk", msg({"type": "model_chunk", "offset": 0, "data": pattern(16)}, 10)),
    ("model-chunk-max", msg({"type": "model_chunk", "offset": 4092, "data": pattern(4092, 3)}, 11)),
    ("model-end", msg({"type": "model_end"}, 12)),
    ("model-select-partition", msg({"type": "model_select_partition"}, 13)),
    ("arena-config", msg({"type": "arena_config", "size": 102400, "placement": "internal"}, 14)),
    ("set-input", msg({"type": "set_input", "tensor": 0, "offset": 4091, "data": pattern(8, 1)}, 15)),
    ("invoke-profile", msg({"type": "invoke", "warmup": 2, "measured": 100, "profile": True}, 16)),
    ("invoke", msg({"type": "invoke", "warmup": 0, "measured": 1, "profile": False}, 17)),
    ("get-output", msg({"type": "get_output", "tensor": 0, "offset": 0, "length": 4294967295}, 18)),
    ("accuracy-begin", msg({"type": "accuracy_begin", "samples": 200, "sampleBytes": 9216}, 19)),
    ("accuracy-input", msg({"type": "accuracy_input", "offset": 8184, "data": pattern(12, 2)}, 20)),
    ("accuracy-run", msg({"type": "accuracy_run"}, 21)),
    ("sim-set-variant", msg({"type": "sim_set_variant", "variant": "reference"}, 22)),
    ("hello", msg(HELLO_REAL, 0)),
    ("hello-simulated", msg(HELLO_SIM, 0, simulated=True)),
    ("info", msg(dict(HELLO_REAL, type="info", uptimeMs=73911, resetReason=3), 2)),
    ("negotiated", msg({"type": "negotiated", "version": 1}, 3)),
    ("ok", msg({"type": "ok"}, 4)),
    ("ok-simulated", msg({"type": "ok"}, 22, simulated=True)),
    ("error-arena-too-small", msg({"type": "error", "code": 12, "arg": 82300,
                                   "message": "arena of 65536 bytes is too small: AllocateTensors() needs 82300"}, 14)),
    ("error-utf8-text", msg({"type": "error", "code": 16, "arg": 0,
                             "message": "SIM_SET_VARIANT is answered by simulated boards only \u2014 flash the variant"}, 22)),
    ("memory", msg({"type": "memory", "arenaSize": 102400, "arenaUsed": 82300, "arenaPlacement": "psram",
                    "modelSize": 300568, "modelPlacement": "psram", "imageSize": 1193472,
                    "internal": {"total": 393216, "free": 290004, "minFree": 281100, "largestFree": 258048},
                    "psram": {"total": 8388608, "free": 7980200, "minFree": 7950000, "largestFree": 7929856}}, 8)),
    ("memory-no-arena", msg({"type": "memory", "arenaSize": 0, "arenaUsed": 0, "arenaPlacement": "none",
                             "modelSize": 0, "modelPlacement": "none", "imageSize": 0,
                             "internal": {"total": 393216, "free": 290004, "minFree": 281100, "largestFree": 258048},
                             "psram": {"total": 0, "free": 0, "minFree": 0, "largestFree": 0}}, 8, simulated=True)),
    ("chunk-ack", msg({"type": "chunk_ack", "nextOffset": 8184}, 11)),
    ("model-ready-upload", msg({"type": "model_ready", "size": 300568, "sha256": PERSON_SHA,
                                "source": "upload", "placement": "psram"}, 12)),
    ("model-ready-partition", msg({"type": "model_ready", "size": 300568, "sha256": PERSON_SHA,
                                   "source": "partition", "placement": "flash"}, 13)),
    ("arena-ready", msg({"type": "arena_ready", "size": 102400, "placement": "internal", "used": 82300,
                         "inputs": [PERSON_IN], "outputs": [PERSON_OUT]}, 14)),
    ("arena-ready-float-two-outputs", msg({"type": "arena_ready", "size": 2048, "placement": "psram",
                                           "used": 776, "inputs": [FLOAT_IN],
                                           "outputs": [dict(FLOAT_IN), {"dtype": "int32", "bytes": 8, "shape": [2],
                                                                         "scale": 0, "zeroPoint": 0}]}, 14)),
    ("invoke-cycles", msg({"type": "invoke_cycles", "first": 0, "cycles": CYCLES}, 16, more=True)),
    ("invoke-cycles-saturated", msg({"type": "invoke_cycles", "first": 1023, "cycles": [4294967295]}, 16, more=True)),
    ("invoke-profile-entries", msg({"type": "invoke_profile", "entries": [
        {"opIndex": 0, "cycles": 1184220, "name": "CONV_2D"},
        {"opIndex": 1, "cycles": 402113, "name": "DEPTHWISE_CONV_2D"},
        {"opIndex": 30, "cycles": 9120, "name": "SOFTMAX"}]}, 16, more=True)),
    ("invoke-result", msg({"type": "invoke_result", "warmup": 2, "measured": 4, "cpuMhz": 240,
                           "totalCycles": sum(CYCLES), "wallUs": 216003}, 16)),
    ("invoke-result-long", msg({"type": "invoke_result", "warmup": 0, "measured": 2000, "cpuMhz": 240,
                                "totalCycles": 1104000000000, "wallUs": 4600000000}, 17, simulated=True)),
    ("output-data", msg({"type": "output_data", "tensor": 0, "offset": 0, "total": 2, "data": "8f71"}, 18)),
    ("output-data-more", msg({"type": "output_data", "tensor": 1, "offset": 4087, "total": 9000,
                              "data": pattern(20, 5)}, 18, more=True)),
    ("accuracy-output", msg({"type": "accuracy_output", "offset": 0, "total": 400, "data": pattern(10, 9)}, 21, more=True)),
    ("accuracy-result", msg({"type": "accuracy_result", "samples": 200, "outputBytes": 2}, 21)),
]


def invalid_frame(type_code, body_bytes, request_id=9, version=1):
    return frame(type_code, request_id, body_bytes, version=version).hex()


INVALID = [
    ("unknown-request-type", invalid_frame(0x42, b""), "unknown-type"),
    ("unknown-reply-type", invalid_frame(0xC0, b"\x00"), "unknown-type"),
    ("model-begin-short", invalid_frame(0x10, u32(10) + bytes(31)), "bad-payload"),
    ("model-end-trailing-byte", invalid_frame(0x12, b"\x00"), "bad-payload"),
    ("invoke-cycles-partial-value", invalid_frame(0x93, u32(0) + b"\x01\x02\x03"), "bad-payload"),
    ("arena-config-bad-placement", invalid_frame(0x14, u32(1024) + u8(9)), "bad-payload"),
    ("reset-bad-mode", invalid_frame(0x04, u8(2)), "bad-payload"),
    ("log-level-bad-level", invalid_frame(0x05, u8(6) + s("")), "bad-payload"),
    ("invoke-reserved-flag", invalid_frame(0x16, u32(0) + u32(1) + u8(0x02)), "bad-payload"),
    ("string-past-end", invalid_frame(0x70, u8(10) + b"ref"), "bad-payload"),
    ("negotiate-count-past-end", invalid_frame(0x03, u8(3) + b"\x01\x02"), "bad-payload"),
    ("model-ready-bad-source", invalid_frame(0x91, u32(1) + bytes(32) + u8(2) + u8(1)), "bad-payload"),
    ("arena-ready-rank-9", invalid_frame(0x92, u32(1) + u8(1) + u32(1) + u8(1) + u8(9) + u32(1) + u8(9)
                                         + b"".join(i32(1) for _ in range(9)) + f32(0) + i32(0) + u8(0)), "bad-payload"),
    ("arena-ready-17-inputs", invalid_frame(0x92, u32(1) + u8(1) + u32(1) + u8(17)
                                            + b"".join(tensor(FLOAT_IN) for _ in range(17)) + u8(0)), "bad-payload"),
    ("arena-ready-bad-dtype", invalid_frame(0x92, u32(1) + u8(1) + u32(1) + u8(1) + u8(19) + u32(1) + u8(0)
                                            + f32(0) + i32(0) + u8(0)), "bad-payload"),
    ("profile-count-past-end", invalid_frame(0x94, u16(3) + u16(0) + u32(5) + s("ADD") + u16(1) + u32(6) + s("MUL")), "bad-payload"),
    ("error-short", invalid_frame(0x85, u16(12) + u32(0)), "bad-payload"),
    ("hello-short", invalid_frame(0x80, identity(HELLO_REAL)[:70], request_id=0), "bad-payload"),
    ("version-2-frame", invalid_frame(0x01, b"hi", version=2), "unsupported-version"),
]


# --- streams ------------------------------------------------------------------------------------

def text_lines(raw):
    """Split text bytes by the decoder's line rules; returns (lines, unterminated rest)."""
    lines, cur = [], b""
    for byte in raw:
        if byte == 0x0A:
            lines.append(cur[:-1] if cur.endswith(b"\r") else cur)
            cur = b""
            continue
        if len(cur) == MAX_LINE:
            lines.append(cur)
            cur = b""
        cur += bytes([byte])
    return [decode_line(x) for x in lines], cur


def decode_line(raw):
    # Python's UTF-8 decoder replaces maximal invalid subparts with U+FFFD, as the WHATWG one does.
    return raw.decode("utf-8", errors="replace")


def log(line): return {"kind": "log", "line": line}
def fr(raw): return {"kind": "frame", "hex": raw.hex()}


def err(reason, type_code=None, request_id=None):
    e = {"kind": "error", "reason": reason}
    if type_code is not None:
        e["type"] = type_code
        e["requestId"] = request_id
    return e


def logs_of(raw):
    lines, rest = text_lines(raw)
    assert rest == b"", rest
    return [log(x) for x in lines]


def stats(events, **errors):
    st = {"frames": sum(e["kind"] == "frame" for e in events),
          "logLines": sum(e["kind"] == "log" for e in events),
          "headerErrors": 0, "oversize": 0, "crcErrors": 0, "truncated": 0}
    st.update(errors)
    counted = st["headerErrors"] + st["oversize"] + st["crcErrors"] + st["truncated"]
    assert counted == sum(e["kind"] == "error" for e in events)
    return st


def no_sync(raw):
    assert 0xF5 not in raw, raw.hex()
    return raw


def one_line(raw):
    """Bytes that must form a single unterminated line (no sync, no LF, no trailing CR)."""
    assert 0x0A not in no_sync(raw) and not raw.endswith(b"\r"), raw.hex()
    return decode_line(raw)


BOOT_LOG = (
    b"ESP-ROM:esp32s3-20210327\r\n"
    b"Build:Mar 27 2021\r\n"
    b"rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n"
    b"SPIWP:0xee\r\n"
    b"mode:DIO, clock div:1\r\n"
    b"load:0x3fce3810,len:0x178c\r\n"
    b"load:0x403c9700,len:0x4\r\n"
    b"load:0x403c9704,len:0xcbc\r\n"
    b"load:0x403cc700,len:0x2d9c\r\n"
    b"entry 0x403c9908\r\n"
    b"\x1b[0;32mI (27) boot: ESP-IDF v5.2.1 2nd stage bootloader\x1b[0m\r\n"
    b"\x1b[0;32mI (27) boot: compile time Nov 28 2025 15:00:00\x1b[0m\r\n"
    b"\x1b[0;32mI (28) boot: Multicore bootloader\x1b[0m\r\n"
    b"\x1b[0;32mI (31) boot: chip revision: v0.2\x1b[0m\r\n"
    b"\x1b[0;32mI (35) boot.esp32s3: Boot SPI Speed : 80MHz\x1b[0m\r\n"
    b"\x1b[0;32mI (40) boot.esp32s3: SPI Flash Size : 8MB\x1b[0m\r\n"
    b"\x1b[0;32mI (58) boot: Partition Table:\x1b[0m\r\n"
    b"\x1b[0;32mI (61) boot: ## Label            Usage          Type ST Offset   Length\x1b[0m\r\n"
    b"\x1b[0;32mI (69) boot:  0 nvs              WiFi data        01 02 00009000 00006000\x1b[0m\r\n"
    b"\x1b[0;32mI (76) boot:  1 phy_init         RF data          01 01 0000f000 00001000\x1b[0m\r\n"
    b"\x1b[0;32mI (84) boot:  2 factory          factory app      00 00 00010000 00200000\x1b[0m\r\n"
    b"\x1b[0;32mI (91) boot:  3 model            Unknown data     01 40 00210000 00100000\x1b[0m\r\n"
    b"\x1b[0;32mI (99) boot: End of partition table\x1b[0m\r\n"
    b"\x1b[0;32mI (233) cpu_start: Pro cpu start user code\x1b[0m\r\n"
    b"\x1b[0;32mI (233) cpu_start: cpu freq: 240000000 Hz\x1b[0m\r\n"
    b"\x1b[0;32mI (234) esp_psram: Adding pool of 8192K of PSRAM memory to heap allocator\x1b[0m\r\n"
    b"\x1b[0;32mI (312) main_task: Calling app_main()\x1b[0m\r\n"
)


def streams():
    cases = []

    def add(name, description, raw, events, st, flush=False):
        cases.append({"name": name, "description": description, "hex": raw.hex(), "flush": flush,
                      "events": events, "stats": st})

    hello = message_frame(msg(HELLO_REAL, 0))
    ready = b"\x1b[0;32mI (345) hil: protocol ready on usb-serial-jtag\x1b[0m\r\n"
    ev = logs_of(BOOT_LOG) + [fr(hello)] + logs_of(ready)
    add("boot-log-then-hello", "ROM banner, bootloader and app log lines (CRLF, ANSI colours), then the HELLO frame, then a log line",
        BOOT_LOG + hello + ready, ev, stats(ev))

    pong = message_frame(msg({"type": "pong", "data": b"ab".hex()}, 3))
    ev = [fr(pong), log("I (1000) hil: start of a line")]
    add("frame-inside-a-line", "a frame between two halves of a log line does not split the line",
        b"I (1000) hil: start " + pong + b"of a line\n", ev, stats(ev))

    f5 = message_frame(msg({"type": "pong", "data": b"five".hex()}, 5))
    f6 = bytearray(message_frame(msg({"type": "pong", "data": b"six!".hex()}, 6)))
    f6[13] ^= 0x20  # flip one payload bit: header intact, CRC-32 wrong
    f6 = bytes(f6)
    f7 = message_frame(msg({"type": "ok"}, 7))
    after = b"W (9) hil: after\n"
    junk = no_sync(f6[2:]) + after
    ev = [fr(f5), err("crc", 0x81, 6)] + logs_of(junk) + [fr(f7)]
    add("corrupted-payload", "a frame with one flipped payload bit is counted as a CRC error; its bytes after the sync are rescanned as text; the frames around it decode",
        f5 + f6 + after + f7, ev, stats(ev, crcErrors=1))

    noise = b"\x01\x83\x00\x10\x20\x30\x40\x50\x60\x70"
    assert binascii.crc_hqx(SYNC + noise[:8], 0xFFFF) != struct.unpack("<H", noise[8:10])[0]
    raw = b"noise " + SYNC + noise + b" end\n"
    ev = [err("bad-header")] + logs_of(b"noise " + noise + b" end\n")
    add("false-sync-in-noise", "a sync pair followed by a header with a wrong CRC-16 is a bad header: the sync is dropped, the rest is text",
        raw, ev, stats(ev, headerErrors=1))

    raw = b"a\xf5b\n"
    ev = logs_of(raw)
    add("lone-f5-is-text", "0xF5 not followed by 0xA5 is text (shown as U+FFFD)", raw, ev, stats(ev))

    big = header(1, 0x81, 0, 9, 5000)
    raw = big + b"tail\n"
    ev = [err("oversize", 0x81, 9)] + logs_of(no_sync(big[2:]) + b"tail\n")
    add("oversize-length", "a valid header announcing 5000 bytes (> 4096) is rejected at once, nothing waits for the payload",
        raw, ev, stats(ev, oversize=1))

    whole = message_frame(msg({"type": "chunk_ack", "nextOffset": 4092}, 11))
    part = whole[:14]
    ev = [log("x"), err("truncated", 0x90, 11), log(one_line(part[2:]))]
    add("truncated-at-end", "flush() ends a frame cut short after its header: truncated error, its bytes become text",
        b"x\n" + part, ev, stats(ev, truncated=1), flush=True)

    raw = SYNC + b"\x01"
    ev = [err("truncated"), log("\u0001")]
    add("truncated-in-header", "flush() with only the sync and one header byte: truncated error without type or request id",
        raw, ev, stats(ev, truncated=1), flush=True)

    long_frame = message_frame(msg({"type": "pong", "data": pattern(200, 11)}, 21))
    cut = long_frame[:12 + 50]
    banner = (b"ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n"
              b"rst:0xf (BROWNOUT_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n"
              b"SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fce3810,len:0x178c\r\n"
              b"load:0x403c9700,len:0x4\r\nload:0x403c9704,len:0xcbc\r\nentry 0x403c9908\r\n"
              b"\x1b[0;32mI (312) main_task: Calling app_main()\x1b[0m\r\n")
    assert len(banner) > 216 - len(cut)
    hello_sim = message_frame(msg(HELLO_SIM, 0, simulated=True))
    ev = [err("crc", 0x81, 21)] + logs_of(no_sync(cut[2:]) + banner) + [fr(hello_sim)]
    add("reset-mid-frame", "the board browns out in the middle of a 200-byte reply: the candidate frame swallows the new boot banner, fails its CRC, and the rescan recovers the banner lines and the HELLO",
        cut + banner + hello_sim, ev, stats(ev, crcErrors=1))

    raw = b"a" * 2500 + b"\n"
    ev = logs_of(raw)
    assert [len(e["line"]) for e in ev] == [1024, 1024, 452]
    add("long-line", "a 2500-byte line is emitted in 1024-byte pieces", raw, ev, stats(ev))

    raw = b"one\r\n\r\ntwo\n\rthree\r\r\n"
    ev = logs_of(raw)
    assert [e["line"] for e in ev] == ["one", "", "two", "\rthree\r"]
    add("crlf-and-empty-lines", "one CR before LF is removed, other CRs stay, empty lines are lines", raw, ev, stats(ev))

    raw = b"no newline\r"
    ev = [log("no newline")]
    add("partial-line-flushed", "flush() emits a pending line without its newline", raw, ev, stats(ev), flush=True)

    frames = [message_frame(msg({"type": "chunk_ack", "nextOffset": n * 4092}, 30 + n)) for n in range(3)]
    ev = [fr(f) for f in frames]
    add("back-to-back-frames", "three frames with no text between them", b"".join(frames), ev, stats(ev))

    raw = "\x1b[0;32mI (5) bench: 25 \u00b5s per op\x1b[0m\n".encode("utf-8") + b"bad \xc3\x28 byte\n"
    ev = logs_of(raw)
    add("utf8-and-ansi", "UTF-8 text and ANSI colours are kept; an invalid sequence becomes U+FFFD", raw, ev, stats(ev))

    g1 = message_frame(msg({"type": "pong", "data": b"dropped".hex()}, 40))
    g1 = g1[:15] + g1[16:]  # one payload byte lost on the wire
    g2 = message_frame(msg({"type": "ok"}, 41))
    ev = [err("crc", 0x81, 40), fr(g2), log(one_line(g1[2:]))]
    add("dropped-byte", "a frame that lost one byte takes the first byte of the next frame, fails its CRC, and the rescan finds the next frame; the junk line comes out at flush()",
        g1 + g2, ev, stats(ev, crcErrors=1), flush=True)

    return cases


def main():
    messages = []
    for name, m in MESSAGES:
        messages.append({"name": name, "hex": message_frame(m).hex(), "message": m})
    types_covered = {m["body"]["type"] for _, m in MESSAGES}
    missing = set(TYPES) - types_covered
    assert not missing, missing
    trailing = msg(HELLO_REAL, 0)
    messages.append({"name": "hello-with-future-fields", "decodeOnly": True,
                     "description": "a later protocol version appended fields to HELLO: a v1 decoder ignores them",
                     "hex": message_frame(trailing, extra=b"\x07" + s("added in v2")).hex(), "message": trailing})
    invalid = [{"name": n, "hex": h, "error": e} for n, h, e in INVALID]
    header_note = ("Generated by generate.py from PROTOCOL.md; do not edit by hand. "
                   "decode(hex) must equal message and encode(message) must equal hex.")
    with open(os.path.join(HERE, "messages.json"), "w", encoding="utf-8") as fh:
        json.dump({"protocol": 1, "note": header_note, "messages": messages, "invalid": invalid},
                  fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    with open(os.path.join(HERE, "streams.json"), "w", encoding="utf-8") as fh:
        json.dump({"protocol": 1, "note": "Generated by generate.py from PROTOCOL.md section 2; do not edit by hand. "
                                          "Feed hex to a fresh decoder (whole, or split anywhere), call flush() when flush is true, "
                                          "and expect exactly these events and stats.",
                   "streams": streams()}, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


if __name__ == "__main__":
    main()
