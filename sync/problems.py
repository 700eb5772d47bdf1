"""The error catalogue mechanism: stable codes with zh-CN and English messages (after ODK Central's problem.js).

Every JSON error the system returns, and every reason an import or sync rejects something with, is a
`Problem` built from a `ProblemType` registered here. `sync/` registers its own types; `server/` registers
the rest through `define`, so there is one catalogue at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CATALOGUE: dict[str, ProblemType] = {}


@dataclass(frozen=True)
class ProblemType:
    """One entry of the catalogue: a stable code, its HTTP status and message templates."""

    code: str
    status: int
    zh: str
    en: str

    def __call__(self, **details: Any) -> Problem:
        """Make a Problem of this type, filling the message templates with ``details``."""
        return Problem(self, dict(details))


class Problem(Exception):
    """An error with a stable code; rendered as JSON by the app and as text by the CLI."""

    def __init__(self, kind: ProblemType, details: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message("en"))

    @property
    def code(self) -> str:
        """The stable code, e.g. ``400.3``."""
        return self.kind.code

    @property
    def status(self) -> int:
        """The HTTP status this problem answers with."""
        return self.kind.status

    def message(self, lang: str = "zh") -> str:
        """The message in ``lang`` ("zh" or "en"), details filled in."""
        template = self.kind.en if lang.startswith("en") else self.kind.zh
        try:
            return template.format(**self.details)
        except (KeyError, IndexError, ValueError):
            return template

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The JSON body of this problem: code, message in the asked language, both messages, details."""
        return {
            "code": self.code,
            "message": self.message(lang),
            "messages": {"zh-CN": self.message("zh"), "en": self.message("en")},
            "details": _jsonable(self.details),
        }


def define(code: str, status: int, zh: str, en: str) -> ProblemType:
    """Register a problem type; a code may be defined once only, so codes stay stable and unique."""
    existing = _CATALOGUE.get(code)
    if existing is not None:
        if (existing.status, existing.zh, existing.en) == (status, zh, en):
            return existing
        raise ValueError(f"problem code {code} is already defined differently")
    if str(status) != code.split(".", 1)[0]:
        raise ValueError(f"problem code {code} must start with its HTTP status {status}")
    kind = ProblemType(code, status, zh, en)
    _CATALOGUE[code] = kind
    return kind


def catalogue() -> dict[str, ProblemType]:
    """All registered problem types by code (a copy)."""
    return dict(sorted(_CATALOGUE.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# Problems of the protocol layer itself; the server adds its own in server/errors.py.
invalid_json = define("400.1", 400, "请求内容不是有效的 JSON。", "The request body is not valid JSON.")
invalid_fields = define(
    "400.2", 400, "请求字段有误：{fields}", "Some fields of the request are invalid: {fields}"
)
unauthenticated = define(
    "401.1", 401, "需要登录或有效的设备令牌。", "Sign-in or a valid device token is required."
)
device_revoked = define(
    "401.2",
    401,
    "此设备的令牌已被吊销，请重新登录注册设备。",
    "This device's token was revoked; sign in again.",
)
forbidden = define("403.1", 403, "无权执行此操作。", "You are not allowed to do this.")
not_found = define("404.1", 404, "找不到请求的资源。", "The requested resource was not found.")
method_not_allowed = define("405.1", 405, "不支持此请求方法。", "This method is not allowed here.")
payload_too_large = define(
    "413.1", 413, "请求过大（上限 {limit}）。", "The request is too large (limit {limit})."
)
internal_error = define(
    "500.1", 500, "服务器内部错误，请稍后重试。", "Internal server error; please retry later."
)
server_busy = define(
    "503.1",
    503,
    "服务器正忙（正在处理其他设备的同步），数据未受影响，请在 {retry_after} 秒后重试。",
    "The server is busy with other devices' syncs; nothing was changed. Retry in {retry_after} s.",
)
storage_full = define(
    "507.40",
    507,
    "服务器存储空间已满，照片未保存（已收到的部分保留），请在 {retry_after} 秒后重试。",
    "The server's storage is full; the photo was not saved (bytes received so far are kept). "
    "Retry in {retry_after} s.",
)
storage_unavailable = define(
    "503.40",
    503,
    "照片存储暂时无法访问，数据未受影响，请在 {retry_after} 秒后重试。",
    "The photo store cannot be reached just now; nothing was lost. Retry in {retry_after} s.",
)
too_many_mutations = define(
    "413.2",
    413,
    "一次最多推送 {limit} 条变更（本次 {count} 条），请分批推送。",
    "At most {limit} mutations per push ({count} sent); split the batch.",
)
batch_too_large = define(
    "413.3",
    413,
    "推送内容过大（上限 {limit} 字节，本次 {size} 字节），请分批推送。",
    "The push is too large (limit {limit} bytes, got {size}); split the batch.",
)
photo_too_large = define(
    "413.4", 413, "照片过大（上限 {limit} 字节）。", "The photo is too large (limit {limit} bytes)."
)
unsupported_schema = define(
    "400.40",
    400,
    "客户端协议版本 {schema} 不受支持（服务器支持 {supported}），请更新应用。",
    "Protocol version {schema} is not supported (server supports {supported}); update the app.",
)
invalid_cursor = define(
    "400.41", 400, "同步游标无效，请从头同步。", "The sync cursor is invalid; resync from the start."
)
device_mismatch = define(
    "403.40",
    403,
    "推送的设备 ID 与令牌所属设备不符。",
    "The pushed device id does not match the device of the token.",
)
blob_offset_mismatch = define(
    "409.40",
    409,
    "上传位置不符：服务器已收到 {received} 字节，本次从 {offset} 开始。",
    "Upload offset mismatch: the server has {received} bytes, this chunk starts at {offset}.",
)
blob_hash_mismatch = define(
    "422.40",
    422,
    "照片内容与其 SHA-256 不符（已丢弃，请重新上传）。",
    "The photo's bytes do not match its SHA-256 (discarded; upload again).",
)
blob_not_image = define(
    "415.40",
    415,
    "文件不是允许的图片类型（{allowed}）：{reason}",
    "The file is not an allowed image type ({allowed}): {reason}",
)
blob_bomb = define(
    "422.41",
    422,
    "图片像素过多（{pixels} 像素，上限 {limit}），疑似解压炸弹，已拒收。",
    "The image has too many pixels ({pixels}, limit {limit}); refused as a decompression bomb.",
)
# Reasons a single mutation is quarantined (kept whole, counted as processed, never blocking the queue).
unknown_entity = define("422.42", 422, "未知的数据类型“{entity}”。", "Unknown entity '{entity}'.")
field_not_writable = define(
    "422.43",
    422,
    "设备不能写入字段：{fields}",
    "A device may not write these fields: {fields}",
)
invalid_mutation = define("422.44", 422, "变更内容有误：{reason}", "The mutation is invalid: {reason}")
owned_elsewhere = define(
    "422.45",
    422,
    "该记录属于其他设备或用户，不能修改。",
    "This record belongs to another device or user and cannot be changed.",
)
record_sealed = define(
    "422.46",
    422,
    "记录已提交封存，不能再修改；如需更正请新建更正记录。",
    "The record is sealed (submitted); make a correction record instead.",
)
missing_reference = define(
    "422.47",
    422,
    "引用的{entity} {id} 不存在或无权访问。",
    "The referenced {entity} {id} does not exist or is not visible.",
)
duplicate_seq_differs = define(
    "422.48",
    422,
    "序号 {seq} 已处理过，但这次内容不同（已记录，未应用）。",
    "Sequence {seq} was already processed but this content differs (recorded, not applied).",
)
