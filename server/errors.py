"""The server's entries in the one error catalogue, and how problems become JSON responses."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from sync import problems
from sync.blobs import STORAGE_RETRY_AFTER, storage_error
from sync.problems import Problem, define

credit_code_invalid = define(
    "400.3",
    400,
    "统一社会信用代码“{value}”无效：{reason}",
    "Unified social credit code '{value}' is invalid: {reason_en}",
)
catalogue_invalid = define(
    "400.4", 400, "检查目录文件有误：{problems}", "The catalogue file is invalid: {problems}"
)
import_file_invalid = define(
    "400.5", 400, "导入文件无法读取：{reason}", "The import file cannot be read: {reason_en}"
)
qr_forged = define(
    "400.6",
    400,
    "二维码不是本局签发的（签名无效），请人工核实企业。",
    "This QR code was not issued by the bureau (bad signature); verify the enterprise by hand.",
)
qr_malformed = define("400.7", 400, "无法识别的二维码内容。", "The QR code content is not recognised.")
bad_credentials = define("401.3", 401, "用户名或密码错误。", "Wrong user name or password.")
csrf_failed = define(
    "403.2",
    403,
    "页面已过期或请求来源不可信（CSRF 校验失败），请刷新后重试。",
    "The page expired or the request's origin is not trusted (CSRF check failed); reload and retry.",
)
login_throttled = define(
    "429.1",
    429,
    "登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试；如忘记密码请联系管理员。",
    "Too many failed sign-ins: signing in is paused, try again in {minutes} minutes; ask an admin if the password "
    "is lost.",
)
password_unchanged = define(
    "400.91",
    400,
    "新密码至少 8 个字符，且不能与原密码相同。",
    "The new password needs 8+ characters and must differ.",
)
field_too_long = define(
    "400.90",
    400,
    "{field} 过长：{length} 个字符，最多 {limit} 个字符。",
    "{field} is too long: {length} characters, at most {limit}.",
)
device_blocked = define(
    "403.90",
    403,
    "此设备已被吊销（如遗失），需管理员恢复后才能重新注册。",
    "This device was revoked (e.g. lost); an admin must reinstate it before it can register again.",
)
account_disabled = define("403.3", 403, "此账号已停用。", "This account is disabled.")
qr_unknown = define("404.2", 404, "二维码对应的企业不存在。", "No enterprise is registered for this QR code.")
credit_code_duplicate = define(
    "409.1",
    409,
    "统一社会信用代码 {value} 重复（已用于“{other}”）。",
    "Credit code {value} is a duplicate (already used by '{other}').",
)
catalogue_in_use = define(
    "409.2",
    409,
    "检查目录 {code} 第 {version} 版已被检查记录引用，不可修改；请导入新版本。",
    "Catalogue {code} version {version} is used by inspections and cannot change; import a new version.",
)
qr_revoked = define(
    "409.3",
    409,
    "此二维码已于 {revoked_at} 作废（已重新签发），请扫描企业现行二维码。",
    "This QR code was revoked on {revoked_at} (re-issued); scan the enterprise's current code.",
)
hazard_transition_illegal = define(
    "409.5",
    409,
    "隐患当前状态不允许此操作：{why_zh}",
    "The hazard's state does not allow this: {why_en}",
)
user_exists = define("409.4", 409, "用户名“{username}”已存在。", "User name '{username}' already exists.")
review_comment_required = define(
    "400.8",
    400,
    "退回检查记录时必须填写意见，告诉检查人员需要补正什么。",
    "A comment is required to return an inspection: tell the inspectors what to correct.",
)
inspection_not_reviewable = define(
    "409.6",
    409,
    "此检查记录当前为“{status_zh}”，不能审核（只有已提交待审核的记录可以通过或退回）。",
    "This inspection is '{status}' and cannot be reviewed (only a submitted inspection can be approved or returned).",
)

# Issue 18 (the notice's paperwork: submissions, stop-production orders).
document_type_refused = define(
    "415.80",
    415,
    "文件不是允许的类型（{allowed}）：{reason}",
    "The file is not an allowed type ({allowed}): {reason}",
)
document_too_large = define(
    "413.80", 413, "文件过大（上限 {limit} 字节）。", "The file is too large (limit {limit} bytes)."
)
submission_invalid = define("400.80", 400, "提交内容有误：{reason}", "The submission is invalid: {reason_en}")
stop_order_step_illegal = define(
    "409.80",
    409,
    "停产整顿指令书不能办理此步骤：{why_zh}",
    "The stop-production order cannot take this step: {why_en}",
)
flagged_approval_unconfirmed = define(
    "400.31",
    400,
    "此检查记录有 {flags} 处存疑（见页面标注）：通过前须勾选确认已核实，并在意见中写明核实情况。",
    "This inspection carries {flags} flag(s): to approve it, confirm you checked them and say how in the comment.",
)
acceptance_incomplete = define(
    "400.32",
    400,
    "重大事故隐患“五到位”未全部落实（缺：{missing}）：验收通过须先落实，或写明不需落实的理由（不少于 {min_chars} 字）。",
    "The major hazard's five-in-place is incomplete ({missing_en}): complete it, or record why (at least {min_chars} characters).",
)
acceptance_completed_by_required = define(
    "400.33",
    400,
    "验收通过须填写整改完成人（五定）。",
    "Acceptance needs the name of who completed the rectification (its five terms).",
)

job_interrupted = define(
    "503.60",
    503,
    "任务已中断：运行它的服务器进程停止了（重启或故障），未写入任何数据，请重新开始。",
    "The job was interrupted: the server process running it stopped (a restart or a fault); nothing was "
    "written, start it again.",
)
job_crashed = define(
    "500.60",
    500,
    "任务出错，未写入任何数据；请重试，如再次出错请联系管理员（任务编号 {job}）。",
    "The job failed and nothing was written; retry, and tell an admin if it fails again (job {job}).",
)


def preferred_language() -> str:
    """'en' when the request asks for English (``?lang=en`` or Accept-Language), else 'zh'."""
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in ("zh", "en"):
        return lang
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return "en" if best and best.startswith("en") else "zh"


def problem_response(problem: Problem) -> Response:
    """Render a problem as the JSON body every endpoint uses for errors."""
    response = jsonify(problem.to_dict(preferred_language()))
    response.status_code = problem.status
    return response


def problem_page(problem: Problem) -> Any:
    """A problem met on a page (a form refused by the CSRF check, say) as a page: Chinese first, English below,
    and a way back."""
    from flask import render_template

    back = request.referrer if _same_site(request.referrer) else "/"
    html = render_template("problem.html", problem=problem, zh=problem.message("zh"), en=problem.message("en"),
                           back=back)  # fmt: skip
    return html, problem.status


def _same_site(url: str | None) -> bool:
    """True for a link back into this site (never an open redirect to another)."""
    from urllib.parse import urlsplit

    if not url:
        return False
    parts = urlsplit(url)
    return (
        parts.netloc in ("", request.host) and parts.path.startswith("/") and not parts.path.startswith("//")
    )


def problem_from_http(exc: HTTPException, extra: dict[str, Any] | None = None) -> Problem:
    """Map a werkzeug HTTP error (404, 405, 413, webargs 422 ...) onto a catalogue problem."""
    code = exc.code or 500
    if code == 404:
        return problems.not_found()
    if code == 405:
        return problems.method_not_allowed()
    if code == 413:
        return problems.payload_too_large(limit="")
    if code in (400, 422):
        messages = (extra or {}).get("messages") or getattr(exc, "data", {}).get("messages")
        if isinstance(messages, dict) and messages.get("json") == ["Invalid JSON body."]:
            return problems.invalid_json()
        return problems.invalid_fields(fields=_flatten_messages(messages) if messages else exc.description)
    if code == 401:
        return problems.unauthenticated()
    if code == 403:
        return problems.forbidden()
    return problems.internal_error()


def _flatten_messages(messages: Any, prefix: str = "") -> str:
    """Turn webargs/marshmallow nested messages into 'field: message' text."""
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            if key in ("json", "query", "form", "headers", "files", "path") and not prefix:
                parts.append(_flatten_messages(value, ""))
            else:
                parts.append(_flatten_messages(value, f"{prefix}.{key}" if prefix else str(key)))
        return "; ".join(p for p in parts if p)
    if isinstance(messages, list):
        text = " ".join(str(m) for m in messages)
        return f"{prefix}: {text}" if prefix else text
    return f"{prefix}: {messages}" if prefix else str(messages)


#: SQLSTATEs of PostgreSQL meaning "another transaction is in the way": retrying later succeeds.
_CONTENTION_SQLSTATES = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock_detected, serialization


def is_contention(error: BaseException) -> bool:
    """Whether a database error only means the database was busy (locked) and a retry will do."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) in _CONTENTION_SQLSTATES:
        return True
    text = str(orig or "").lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def is_disk_full(error: BaseException) -> bool:
    """Whether a database error means its disk is full (SQLite's SQLITE_FULL, PostgreSQL's 53100)."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == "53100":  # disk_full
        return True
    return "database or disk is full" in str(orig or "").lower()


def busy_response(retry_after: int) -> Response:
    """503 with Retry-After: nothing was changed, the client retries later."""
    response = problem_response(problems.server_busy(retry_after=retry_after))
    response.headers["Retry-After"] = str(retry_after)
    return response


def init_app(app: Flask) -> None:
    """Answer every error under /api with the catalogue's JSON; pages keep HTML error pages."""

    @app.errorhandler(Problem)
    def _handle_problem(problem: Problem) -> Any:
        if request.path.startswith("/api/"):
            response = problem_response(problem)
        else:
            response = make_response(problem_page(problem))
        # Every retryable problem (busy, storage full or unreachable) tells the client when to come back.
        if "retry_after" in problem.details:
            response.headers["Retry-After"] = str(problem.details["retry_after"])
        return response

    @app.errorhandler(OSError)
    def _handle_os_error(error: OSError) -> Any:
        # A full disk anywhere (a thumbnail, a document, a temporary file) is retryable, not a crash.
        problem = storage_error(error)
        if problem is None:
            raise error
        app.logger.error("storage full, answered 507: %s", error)
        return _handle_problem(problem)

    @app.errorhandler(DBAPIError)
    def _handle_database(error: DBAPIError) -> Any:
        if is_disk_full(error):
            app.logger.error("database disk full, answered 507: %s", str(error.orig).splitlines()[0][:200])
            return _handle_problem(problems.storage_full(retry_after=STORAGE_RETRY_AFTER))
        if not is_contention(error):
            raise error
        app.logger.warning("database busy, answered 503: %s", str(error.orig).splitlines()[0][:200])
        return _handle_problem(problems.server_busy(retry_after=app.config["RETRY_AFTER_SECONDS"]))

    @app.errorhandler(HTTPException)
    def _handle_http(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return problem_response(problem_from_http(exc))
        return exc
