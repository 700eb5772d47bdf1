"""The one error catalogue: every problem the server can answer with, and how problems reach a reader.

Every refusal a user or a device can see is a problem type here, with a stable code (``<status>.<n>``), its HTTP
status and a Chinese and an English template (ODK Central's ``lib/util/problem.js`` is the model). The generic sync
library defines its protocol's problems in ``sync/problems.py``; they are re-exported below, so this module names
every code the server can emit. Services raise these problems (``FormProblems`` carries one problem per field of a
form); views render them as JSON (``/api/``, ``/sync/``, devices: ``message`` in the request's language and
``messages`` with both) or as a page in the reader's one language (``problem.message(current_language())``).

Codes never change once published: tests, the PWA and the tablets in the field rely on them. A detail that reads
differently in each language is passed twice, ``name`` for Chinese and ``name_en`` for English (``why_zh`` /
``why_en`` and ``status_zh`` / ``status`` for older entries), and each template names the same details otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.i18n import current_language, tr
from sync import problems
from sync.blobs import STORAGE_RETRY_AFTER, storage_error
from sync.problems import (  # the protocol's own problems (400.1-2, 400.40-41, 401.x, 403.1, 404.1, 405.1, ...)
    Problem,
    ProblemType,
    batch_too_large,
    blob_bomb,
    blob_hash_mismatch,
    blob_not_image,
    blob_offset_mismatch,
    catalogue,
    define,
    device_mismatch,
    device_revoked,
    duplicate_seq_differs,
    field_not_writable,
    forbidden,
    internal_error,
    invalid_cursor,
    invalid_fields,
    invalid_json,
    invalid_mutation,
    method_not_allowed,
    missing_reference,
    not_found,
    owned_elsewhere,
    payload_too_large,
    photo_too_large,
    record_sealed,
    server_busy,
    storage_full,
    storage_unavailable,
    too_many_mutations,
    unauthenticated,
    unknown_entity,
    unsupported_schema,
)

__all__ = [  # the protocol's problems, named here so the catalogue is read in one module
    "Problem",
    "ProblemType",
    "batch_too_large",
    "blob_bomb",
    "blob_hash_mismatch",
    "blob_not_image",
    "blob_offset_mismatch",
    "catalogue",
    "define",
    "device_mismatch",
    "device_revoked",
    "duplicate_seq_differs",
    "field_not_writable",
    "forbidden",
    "internal_error",
    "invalid_cursor",
    "invalid_fields",
    "invalid_json",
    "invalid_mutation",
    "method_not_allowed",
    "missing_reference",
    "not_found",
    "owned_elsewhere",
    "payload_too_large",
    "photo_too_large",
    "record_sealed",
    "server_busy",
    "storage_full",
    "storage_unavailable",
    "too_many_mutations",
    "unauthenticated",
    "unknown_entity",
    "unsupported_schema",
]

# === Requests, sign-in and accounts ===

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
user_exists = define("409.4", 409, "用户名“{username}”已存在。", "User name '{username}' already exists.")


# === Enterprises, QR codes and the checklist catalogue ===

credit_code_invalid = define(
    "400.3",
    400,
    "统一社会信用代码“{value}”无效：{reason}",
    "Unified social credit code '{value}' is invalid: {reason_en}",
)
credit_code_duplicate = define(
    "409.1",
    409,
    "统一社会信用代码 {value} 重复（已用于“{other}”）。",
    "Credit code {value} is a duplicate (already used by '{other}').",
)
catalogue_invalid = define(
    "400.4", 400, "检查目录文件有误：{problems}", "The catalogue file is invalid: {problems}"
)
catalogue_in_use = define(
    "409.2",
    409,
    "检查目录 {code} 第 {version} 版已被检查记录引用，不可修改；请导入新版本。",
    "Catalogue {code} version {version} is used by inspections and cannot change; import a new version.",
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
qr_unknown = define("404.2", 404, "二维码对应的企业不存在。", "No enterprise is registered for this QR code.")
qr_revoked = define(
    "409.3",
    409,
    "此二维码已于 {revoked_at} 作废（已重新签发），请扫描企业现行二维码。",
    "This QR code was revoked on {revoked_at} (re-issued); scan the enterprise's current code.",
)
poster_enterprise_unknown = define(
    "404.20",
    404,
    "找不到统一社会信用代码为 {value} 的企业（或已删除），无法重新签发二维码。",
    "No enterprise with credit code {value} (or it was deleted); its QR code cannot be re-issued.",
)
cjk_font_missing = define(
    "500.20",
    500,
    "找不到可用的中文字体（已查找：{searched}），无法生成二维码海报。"
    "请把配置项或环境变量 CJK_FONT 设为中文字体文件（.ttc/.otf/.ttf）的路径，或安装 fonts-noto-cjk。",
    "No usable Chinese font (searched: {searched}), so QR posters cannot be drawn. Set CJK_FONT "
    "(config or environment variable) to a Chinese font file (.ttc/.otf/.ttf), or install fonts-noto-cjk.",
)


# === Inspections and their review (photos included) ===

review_comment_required = define(
    "400.8",
    400,
    "退回检查记录时必须填写意见，告诉检查人员需要补正什么。",
    "A comment is required to return an inspection: tell the inspectors what to correct.",
)
review_comment_too_long = define(
    "400.38", 400, "意见不超过 {limit} 字。", "The comment may have at most {limit} characters."
)
review_outcome_missing = define("400.39", 400, "请选择通过或退回。", "Choose approve or return.")
inspection_not_reviewable = define(
    "409.6",
    409,
    "此检查记录当前为“{status_zh}”，不能审核（只有已提交待审核的记录可以通过或退回）。",
    "This inspection is '{status}' and cannot be reviewed (only a submitted inspection can be approved or returned).",
)
flagged_approval_unconfirmed = define(
    "400.31",
    400,
    "此检查记录有 {flags} 处存疑（见页面标注）：通过前须勾选确认已核实，并在意见中写明核实情况。",
    "This inspection carries {flags} flag(s): to approve it, confirm you checked them and say how in the comment.",
)
photo_bytes_missing = define(
    "404.180",
    404,
    "照片文件尚未上传到服务器（只收到了照片记录），检查人员的设备联网同步后即可查看。",
    "The photo's bytes have not reached the server yet (only its record has); they arrive when the device syncs.",
)
photo_file_lost = define(
    "404.181",
    404,
    "照片文件曾经收到并校验，但现在存储中找不到，请联系系统管理员从备份恢复。",
    "The photo's bytes were received and verified but are missing from the store; restore them from a backup.",
)


# === Hazards: the rectification loop ===

hazard_transition_illegal = define(
    "409.5",
    409,
    "隐患当前状态不允许此操作：{why_zh}",
    "The hazard's state does not allow this: {why_en}",
)
rejection_reason_required = define("400.34", 400, "驳回整改必须填写理由。", "A rejection needs a reason.")
event_reason_required = define("400.35", 400, "“{event}”必须填写理由。", "'{event_en}' needs a reason.")
hazard_action_unknown = define("400.36", 400, "未知操作“{value}”。", "Unknown action '{value}'.")
supervision_level_required = define(
    "400.37", 400, "挂牌督办须注明督办级别。", "Listing a hazard for supervision needs the supervising level."
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


# === The notice's paperwork: submissions and stop-production orders (issue 18) ===

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


# === Spreadsheet imports: a cell or a row refused (400.20-400.30; the registry import, the ledger import) ===

#: Also the blank half of a pair whose other half is filled in.
value_missing = define("400.20", 400, "不能为空", "must not be blank")
text_too_long = define(
    "400.24", 400, "“{value}”过长：最多 {limit} 个字符", "'{value}' is too long: at most {limit} characters"
)
flag_invalid = define(
    "400.26",
    400,
    "“{value}”无法识别，请填 是/否（或 √/×、Y/N、1/0）",
    "'{value}' is not a yes/no value; use Y/N, 1/0 or true/false (the Chinese yes/no marks also work)",
)
#: A cell the domain's readers refuse (amount, date without year, level, state), with their reason.
cell_refused = define("400.30", 400, "填写有误：{reason}", "invalid value: {reason_en}")
date_invalid = define(
    "400.28",
    400,
    "“{value}”不是有效日期（例如 2022-05-03、2022/5/3、2022年5月3日）",
    "'{value}' is not a valid date (e.g. 2022-05-03, 2022/5/3, 2022.5.3)",
)

# The enterprise registry import's own row rules.
credit_code_repeated = define(
    "400.21",
    400,
    "统一社会信用代码 {value} 在文件中出现多次（第 {rows} 行），这些行均未导入，请核对后只保留一行",
    "credit code {value} appears on several rows of the file (rows {rows}); none of them was imported, "
    "keep one",
)
region_unknown = define(
    "400.22",
    400,
    "区域“{value}”不存在或名称不唯一，请填写区域代码或准确名称",
    "no region '{value}', or its name is ambiguous; give the region's code or exact name",
)
coordinate_invalid = define(
    "400.23",
    400,
    "“{value}”无效：{axis}应为 {low} 至 {high} 之间的数字（WGS-84，中国境内）",
    "'{value}' is invalid: {axis_en} must be a number from {low} to {high} (WGS-84, within China)",
)
count_invalid = define("400.25", 400, "“{value}”不是非负整数", "'{value}' is not a whole number of 0 or more")
sector_unknown = define(
    "400.27", 400, "未知的行业类别“{value}”（可填：{known}）", "unknown sector '{value}' (known: {known_en})"
)
phone_invalid = define(
    "400.29",
    400,
    "“{value}”不是有效的电话号码：只能包含数字、空格、“-”和“+”",
    "'{value}' is not a valid phone number: digits, spaces, '-' and '+' only",
)


# === The self-inspection ledger import (400.60-400.69, 400.9) ===

level_invalid = define(
    "400.60",
    400,
    "“{value}”不是有效的隐患等级，请填“一般事故隐患”或“重大事故隐患”",
    "'{value}' is not a hazard level; choose general or major (the two values of the drop-down list)",
)
item_unknown = define(
    "400.61",
    400,
    "“{value}”不是检查目录中的事项编号（例如 ST-6）",
    "'{value}' is not an item code of the checklist catalogue (e.g. ST-6)",
)
funds_invalid = define("400.62", 400, "整改资金有误：{reason}", "invalid funds: {reason_en}")
date_goes_back = define(
    "400.63",
    400,
    "“{value}”早于{other}（{other_value}）：台账中的日期不能倒退",
    "'{value}' is before {other_en} ({other_value}): ledger dates cannot go back in time",
)
entry_repeated = define(
    "400.64",
    400,
    "同一条隐患在文件中出现多次（第 {rows} 行，{what}），这些行均未导入，请核对后只保留一行",
    "the same entry appears on several rows (rows {rows}, {what_en}); none of them was imported, keep one",
)
number_reused = define(
    "400.65",
    400,
    "编号“{value}”已用于 {found_on} 检查发现的另一条隐患；已记录的检查时间不能更改，请核对编号或检查时间",
    "number '{value}' already belongs to a hazard found on {found_on}; a recorded check date cannot change, "
    "check the number or the date",
)
level_locked = define(
    "400.66",
    400,
    "已导入的隐患等级为“{stored}”，不能通过重新导入改为“{value}”，请联系监管部门",
    "the entry was imported as {stored_en}; its level cannot change by re-import to '{value}', ask the regulator",
)
five_in_place_invalid = define(
    "400.67",
    400,
    "“{value}”无法识别：五到位请填 是/否，或列出已到位的项（措施、责任、资金、时限、预案）",
    "'{value}' is not understood: give yes/no, or list what is in place (measures, responsibility, funds, "
    "time limit, contingency plan)",
)
#: No sheet has a header naming the required columns: the portal then asks the user what each column is.
header_unmatched = define(
    "400.9", 400, "导入文件无法读取：{reason}", "The import file cannot be read: {reason_en}"
)
ledger_state_contradicts = define(
    "400.69",
    400,
    "整改状态“{value}”与{other}（{other_value}）矛盾：已填完成日期的隐患不能是“{value}”，请核对",
    "the state '{value}' contradicts {other_en} ({other_value}): a hazard with a completion date is not "
    "'{value}'",
)
state_refused = define(
    "400.68",
    400,
    "隐患状态不允许该行的变化：{why_zh}",
    "the hazard's state does not allow this row: {why_en}",
)


# === Forms on the web: a form refused field by field (FormProblems carries one problem per field) ===

form_invalid = define(
    "400.100",
    400,
    "表单有 {count} 处需要修改（见各栏提示）。",
    "{count} field(s) of the form need correcting.",
)
field_required = define("400.101", 400, "请填写{label}。", "{label_en} is required.")
field_too_many_chars = define(
    "400.102", 400, "{label}不超过 {limit} 字。", "{label_en}: at most {limit} characters."
)
field_date_invalid = define(
    "400.103",
    400,
    "{label}“{value}”不是有效日期，应为 YYYY-MM-DD（例如 2026-06-01）。",
    "{label_en} '{value}' is not a date: use YYYY-MM-DD (e.g. 2026-06-01).",
)
field_year_out_of_range = define(
    "400.104",
    400,
    "{label}“{value}”的年份应在 {first}–{last} 之间。",
    "{label_en} '{value}': the year must be from {first} to {last}.",
)
field_before = define(
    "400.105",
    400,
    "{label} {value} 不能早于{other}（{other_value}）。",
    "{label_en} {value} cannot be before the {other_en} ({other_value}).",
)
field_in_future = define(
    "400.106", 400, "{label}不能晚于今天（{today}）。", "{label_en} cannot be later than today ({today})."
)
field_choice_invalid = define("400.107", 400, "{label}“{value}”无效。", "{label_en} '{value}' is not valid.")
field_whole_number = define(
    "400.108", 400, "{label}“{value}”不是整数。", "{label_en} '{value}' is not a whole number."
)
phases_overlap = define(
    "400.109",
    400,
    "阶段须按顺序且不得重叠：应晚于上一阶段“{previous}”的结束日期 {previous_end}。",
    "Phases keep their order and may not overlap: start after the end of '{previous}' ({previous_end}).",
)
field_pair_missing = define(
    "400.110",
    400,
    "填写了{other}，请同时填写{label}。",
    "Give the {label_en} together with the {other_en}.",
)
time_of_check_invalid = define(
    "400.111", 400, "检查时间“{value}”无效。", "The time of check '{value}' is not valid."
)
time_of_check_in_future = define(
    "400.112", 400, "检查时间不能晚于现在。", "The time of check cannot be in the future."
)
hazard_level_required = define(
    "400.113", 400, "请选择隐患等级（一般或重大）。", "Choose the level (general or major)."
)
major_hazard_must_stop = define(
    "400.114",
    400,
    "重大事故隐患的整改措施尚未到位的，应停产停业整改（勾选“停产停业整改”）。",
    "A major hazard whose measures are not in place requires production to stop.",
)
funds_too_large = define("400.115", 400, "整改资金过大。", "The funds are too large.")
ledger_no_taken = define(
    "400.116", 400, "台账编号“{value}”已被另一条隐患使用。", "Ledger number {value} is already used."
)
listed_level_locked = define(
    "400.117", 400, "挂牌督办中的隐患不能改变等级。", "A hazard listed for supervision keeps its level."
)
after_photo_required = define(
    "400.118", 400, "请上传至少 1 张整改后照片。", "Upload at least one photo taken after the rectification."
)
photo_refused = define(
    "400.126", 400, "照片 {number}（{name}）：{reason}", "Photo {number} ({name}): {reason_en}"
)
too_many_photos = define(
    "400.119",
    400,
    "最多上传 {limit} 张照片，本次选择了 {count} 张。",
    "At most {limit} photos may be uploaded; {count} were chosen.",
)
not_own_ledger = define(
    "403.100", 403, "只能修改本企业自查台账中的隐患。", "Only entries of your own ledger can be edited."
)
regulator_accepts = define(
    "403.101",
    403,
    "监管部门发现的隐患和重大事故隐患由监管部门验收。",
    "A hazard found by a regulator, or a major hazard, is accepted by the regulator.",
)
# The enterprise's self-assessment.
answer_invalid = define(
    "400.120",
    400,
    "{item}：请选择“符合”“不符合”或“不涉及”。",
    "{item}: choose compliant, non-compliant or not applicable.",
)
answer_note_too_long = define(
    "400.121", 400, "{item}：说明不超过 {limit} 字。", "{item}: the note may have at most {limit} characters."
)
answer_note_required = define(
    "400.122", 400, "{item}：请说明{why}。", "{item}: a note is required ({why_en})."
)
answer_required = define(
    "400.123", 400, "{item}：提交前须逐项自评。", "{item}: answer every item before submitting."
)
answer_before_photos = define(
    "400.124", 400, "{item}：请先选择自评结果再上传照片。", "{item}: answer the item before adding photos."
)
self_assessment_sealed = define(
    "409.100", 409, "本阶段自评已提交，不能再修改。", "This self-assessment is submitted and read-only."
)
no_catalogue_in_force = define(
    "409.101", 409, "尚无生效的检查目录，无法自评。", "No checklist catalogue is in force: nothing to assess."
)
portal_action_unknown = define("400.125", 400, "未知操作“{value}”。", "Unknown action '{value}'.")
# Stop-production orders, submissions, scoring.
stop_order_hazard_foreign = define(
    "400.130", 400, "只能关联本企业的重大事故隐患。", "Only this enterprise's major hazards can be linked."
)
stop_order_hazard_missing = define(
    "400.131", 400, "须关联至少一项重大事故隐患。", "Link at least one major hazard."
)
enterprise_unknown = define("404.100", 404, "找不到该企业。", "No such enterprise.")
requirement_code_invalid = define(
    "400.132",
    400,
    "代码须为 1–32 个小写字母、数字或下划线。",
    "The code must be 1-32 lower-case letters, digits or underscores.",
)
requirement_kind_invalid = define("400.133", 400, "报送类型无效。", "The kind is not valid.")
requirement_unknown = define("400.134", 400, "找不到该项报送要求。", "No such requirement.")
requirement_code_taken = define(
    "400.135", 400, "代码“{value}”已被使用。", "The code '{value}' is already used."
)
requirement_has_submissions = define(
    "400.136",
    400,
    "已有企业报送，不能再改类型或日期（可新增一项）。",
    "Enterprises have submitted against it: its kind and dates cannot change (add a new requirement).",
)
schedule_invalid = define("400.137", 400, "报送日期有误：{reason}", "The schedule is invalid: {reason_en}")
figure_invalid = define(
    "400.138",
    400,
    "{label}：“{value}”不是{expected}。",
    "{label_en}: '{value}' is not {expected_en}.",
)
rectified_exceeds_found = define(
    "400.139", 400, "已整改数不能多于发现数。", "The number rectified cannot exceed the number found."
)
weight_invalid = define(
    "400.140",
    400,
    "{label}：权重须为 0–100 的整数。",
    "{label_en}: the weight must be a whole number from 0 to 100.",
)
weights_all_zero = define("400.141", 400, "至少一项权重须大于 0。", "At least one weight must be above 0.")

# === Campaigns and the city's random draw (双随机) ===

share_not_a_percent = define(
    "400.150",
    400,
    "抽查比例应为 1–100 的整数（百分比），“{value}”无效。",
    "The share must be a whole percent from 1 to 100; '{value}' is not.",
)
share_below_floor = define(
    "400.151",
    400,
    "抽查比例不得低于{rule}规定的 {minimum}%。",
    "The share may not be below the {rule_en}'s {minimum}%.",
)
redraw_reason_required = define(
    "400.152",
    400,
    "本阶段已有正式抽取结果；重新抽取须填写不少于 {min_chars} 个字的理由。",
    "This phase already has an official draw: a re-draw needs a written reason of at least {min_chars} characters.",
)
redraw_unconfirmed = define(
    "400.153",
    400,
    "重新抽取将作废本阶段现有的抽取结果，请勾选确认。",
    "A re-draw replaces the phase's official draw: tick the box to confirm it.",
)
seed_not_typed = define(
    "400.154",
    400,
    "随机种子由系统随机生成，不能输入。",
    "The seed is drawn by the system and cannot be typed.",
)
draw_not_allowed = define(
    "403.150", 403, "只有市级监管人员可以抽取。", "Only a city supervisor may make a draw."
)
no_campaign_to_draw = define("409.150", 409, "没有进行中的专项行动。", "There is no campaign to draw for.")
nothing_to_draw = define(
    "409.151", 409, "没有县级检查过的企业可供抽取。", "No enterprise checked by a county to draw from."
)
roster_too_small = define(
    "409.152", 409, "执法人员名册不足两人。", "The roster of inspectors has fewer than two people."
)

# === Reports: the period and the bureau's telephone ===

month_invalid = define(
    "400.160",
    400,
    "月份“{value}”无效，应为 YYYY-MM（例如 2026-07）。",
    "The month '{value}' is not valid: use YYYY-MM (e.g. 2026-07).",
)
month_not_begun = define(
    "400.161",
    400,
    "{year}年{month}月尚未到来，不能填报。",
    "Month {month} of {year} has not begun yet and cannot be reported.",
)
report_phone_invalid = define(
    "400.162",
    400,
    "联系电话“{value}”无效：应为电话号码（数字、空格、连字符、括号，不超过 {limit} 个字符）。",
    "The telephone '{value}' is not valid: digits, spaces, hyphens and brackets, at most {limit} characters.",
)
no_filing_unit = define(
    "409.160", 409, "没有可设置联系电话的填报单位。", "There is no filing unit to set the telephone of."
)

# === Lists on the web: filters, sorting and pages in the query string ===

filter_invalid = define("400.170", 400, "{label}“{value}”无效。", "The {label_en} '{value}' is not valid.")
filter_date_invalid = define(
    "400.171",
    400,
    "{label}“{value}”无效，应为 YYYY-MM-DD。",
    "The {label_en} '{value}' must be a date as YYYY-MM-DD.",
)
page_number_invalid = define(
    "400.172",
    400,
    "参数 {name}“{value}”应为正整数。",
    "The parameter {name} must be a positive whole number, not '{value}'.",
)
phase_unknown = define("400.173", 400, "阶段“{value}”不存在。", "There is no phase '{value}'.")
deadline_invalid = define(
    "400.174", 400, "日期“{value}”无效，应为 YYYY-MM-DD。", "The date '{value}' must be YYYY-MM-DD."
)


# === Uploads on the web (ledger files) and the app shell ===

upload_missing = define(
    "400.180",
    400,
    "请选择要导入的台账文件（.xlsx 或 .csv）。",
    "Choose a ledger file to import (.xlsx or .csv).",
)
upload_expired = define(
    "400.181",
    400,
    "上传的文件已过期，请重新选择文件导入。",
    "The upload expired: choose the file again.",
)
ledger_file_too_large = define(
    "413.180",
    413,
    "文件过大：台账文件不能超过 {limit_mb} MB，请删去图片或拆分后再上传。",
    "The file is too large: a ledger file may have at most {limit_mb} MB; remove pictures or split it.",
)
app_not_built = define(
    "503.180",
    503,
    "应用尚未构建，请运行 make run 或 make pwa。",
    "The app is not built yet: run `make run` or `make pwa`.",
)


# === Administration: regions, campaigns and accounts (the command line and the admin pages) ===

region_fields_required = define(
    "400.190", 400, "区域代码和名称必须填写。", "The region's code and name are required."
)
region_exists = define("400.191", 400, "区域代码 {code} 已存在。", "Code: region {code} exists already.")
region_code_unknown = define(
    "400.192", 400, "区域代码 {code} 不存在。", "Region: no region with code {code}."
)
region_parent_wrong = define(
    "400.193", 400, "上级区域不符：{level}须{needs}。", "Parent: a {level_en} needs {needs_en}."
)
campaign_fields_required = define(
    "400.194", 400, "专项行动代码和名称必须填写。", "The campaign's code and name are required."
)
campaign_exists = define(
    "400.195", 400, "专项行动代码 {code} 已存在。", "Code: campaign {code} exists already."
)
campaign_phases_missing = define(
    "400.196", 400, "专项行动至少要有一个阶段。", "Phases: a campaign needs at least one."
)
phase_code_unknown = define(
    "400.197", 400, "阶段“{code}”不是已知阶段（可选：{known}）。", "Phase {code}: one of {known}."
)
phase_starts_after_end = define(
    "400.198", 400, "阶段“{code}”的开始日期晚于结束日期。", "Phase {code}: starts after it ends."
)
phase_overlaps = define(
    "400.199", 400, "阶段“{code}”与上一阶段重叠或顺序颠倒。", "Phase {code}: overlaps the phase before it."
)
phase_repeated = define("400.200", 400, "每个阶段只能出现一次。", "Phases: each code once.")
user_unknown = define("400.201", 400, "没有用户名为“{username}”的用户。", "Username: no user {username}.")
username_invalid = define("400.202", 400, "用户名须为 1–64 个字符。", "Username: 1-64 characters.")
password_too_weak = define(
    "400.203",
    400,
    "密码不够安全：{reason}",
    "The password is not strong enough: {reason_en}",
)
role_scope_invalid = define(
    "400.204", 400, "角色与范围不符：{reason}", "The role does not fit the scope: {reason_en}"
)
enterprise_code_unknown = define(
    "400.205", 400, "统一社会信用代码为 {value} 的企业不存在。", "No enterprise with credit code {value}."
)
role_unknown = define("400.206", 400, "角色“{value}”无效。", "The role '{value}' is not valid.")
own_account_locked = define("409.190", 409, "不能停用自己的账号。", "You cannot disable your own account.")


# === Supervisors' decisions on reconciliation pairs (自查核对) ===

reconciliation_pair_not_found = define(
    "404.210",
    404,
    "找不到该执法发现或台账记录，或不在您的管辖范围内。",
    "No such finding or ledger entry within your scope.",
)
decision_not_a_finding = define(
    "422.210",
    422,
    "“{description}”不是执法人员发现的隐患，不能作为核对中的执法发现。",
    "'{description}' was not found by an inspector, so it cannot be a reconciliation's finding.",
)
decision_not_its_ledger = define(
    "422.211",
    422,
    "“{description}”不是该企业自查台账中的记录。",
    "'{description}' is not an entry of this enterprise's self-inspection ledger.",
)
decision_reason_required = define(
    "400.210",
    400,
    "判定“不是同一隐患”须填写理由。",
    "Say why the two are not the same hazard.",
)
hand_pair_reason_required = define(
    "400.211",
    400,
    "系统未建议此配对：手工配对须填写理由。",
    "The matcher did not propose this pair: pairing by hand needs a reason.",
)
verdict_invalid = define("400.212", 400, "判定“{value}”无效。", "The verdict '{value}' is not valid.")
finding_confirmed_elsewhere = define(
    "409.210",
    409,
    "该执法发现已确认与台账记录“{entry}”为同一隐患，请先撤销那次确认。",
    "This finding is already confirmed as the ledger entry '{entry}': undo that confirmation first.",
)
entry_confirmed_elsewhere = define(
    "409.211",
    409,
    "该台账记录已确认与执法发现“{finding}”为同一隐患，请先撤销那次确认。",
    "This ledger entry is already confirmed as the finding '{finding}': undo that confirmation first.",
)
decision_nothing_to_undo = define(
    "409.212", 409, "此配对没有可撤销的判定。", "This pair has no decision to undo."
)


class FormProblems(Problem):
    """A form refused field by field: the catalogue problems of each field (``""`` is the form as a whole).

    Nothing of the form is saved; the page shows each field's problems next to it, in the reader's language. The
    HTTP status is 400 unless the refusal has a more specific one (an upload that is not an image: 415)."""

    def __init__(self, fields: Mapping[str, Problem | Sequence[Problem]], status: int | None = None) -> None:
        self.fields: dict[str, list[Problem]] = {
            key: [found] if isinstance(found, Problem) else list(found) for key, found in fields.items()
        }
        self._status = status
        super().__init__(form_invalid, {"count": len(self.fields)})

    @property
    def status(self) -> int:
        """400, or the more specific status the refusal was given."""
        return self._status or self.kind.status

    def field_messages(self, lang: str) -> dict[str, str]:
        """Each field's message(s) in ``lang``."""
        joint = "; " if lang.startswith("en") else "；"
        return {key: joint.join(p.message(lang) for p in found) for key, found in self.fields.items()}

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The problem's JSON, with each field's problems under ``details.fields``."""
        body = super().to_dict(lang)
        body["details"]["fields"] = {
            key: [p.to_dict(lang) for p in found] for key, found in self.fields.items()
        }
        return body


def refuse_fields(fields: Mapping[str, Problem | Sequence[Problem]], status: int | None = None) -> None:
    """Raise FormProblems when any field was refused; nothing otherwise."""
    if fields:
        raise FormProblems(fields, status)


# === Background jobs (503.60, 500.60) ===

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


# === The database (503.2) ===

database_unreachable = define(
    "503.2",
    503,
    "暂时无法连接数据库（数据库重启或切换），请在 {retry_after} 秒后重试。",
    "The database cannot be reached just now (it restarted or failed over); retry in {retry_after} s.",
)


def preferred_language() -> str:
    """The language of a JSON error's ``message``: ``?lang=`` when given, else the reader's (server.i18n)."""
    lang = request.args.get("lang")
    if lang in ("zh", "en"):
        return lang
    return current_language()


def wants_json() -> bool:
    """Whether the error goes to a program (the API, sync, a client asking for JSON) rather than a browser."""
    if request.path.startswith(("/api/", "/sync/")) or request.is_json:
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def problem_response(problem: Problem) -> Response:
    """Render a problem as the JSON body every endpoint uses for errors."""
    response = jsonify(problem.to_dict(preferred_language()))
    response.status_code = problem.status
    return response


def _title(status: int) -> str:
    """The error page's heading for an HTTP status, in the reader's language."""
    if status == 404:
        return tr("找不到页面", "Page not found")
    if status == 403:
        return tr("无权访问", "Not allowed")
    if status == 405:
        return tr("不支持此操作", "This action is not supported here")
    if status >= 500:
        return tr("服务器出错", "Server error")
    return tr("无法完成操作", "The request was not carried out")


def problem_page(problem: Problem) -> tuple[str, int]:
    """A problem met by a browser (a missing page, a form refused by the CSRF check) as a page in the reader's one
    language, with a way back: the previous page (on this site), home, and sign-in when signed out."""
    back = request.referrer if _same_site(request.referrer) else None
    html = render_template("errors.html", title=_title(problem.status), message=problem.message(current_language()),
                           code=problem.code, back=back, home="/")  # fmt: skip
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


def _first_line(error: DBAPIError) -> str:
    """The driver's message's first line, short enough for a log line."""
    return (str(error.orig).splitlines() or [""])[0][:200]


def busy_response(retry_after: int) -> Response:
    """503 with Retry-After: nothing was changed, the client retries later."""
    response = problem_response(problems.server_busy(retry_after=retry_after))
    response.headers["Retry-After"] = str(retry_after)
    return response


def init_app(app: Flask) -> None:
    """Answer every error with the catalogue: JSON for the API, sync and JSON clients, a page in the reader's
    language (with a way back) for browsers."""

    @app.errorhandler(Problem)
    def _handle_problem(problem: Problem) -> Any:
        response = problem_response(problem) if wants_json() else make_response(problem_page(problem))
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
            app.logger.error("database disk full, answered 507: %s", _first_line(error))
            return _handle_problem(problems.storage_full(retry_after=STORAGE_RETRY_AFTER))
        if error.connection_invalidated:
            # The pooled connection died under us (a restart, a failover): SQLAlchemy has renewed the pool and the
            # server rolled the transaction back, so the client only has to come back (a push is kept exactly once
            # by its seq even when a COMMIT's reply was what got lost).
            app.extensions["sqlalchemy"].session.rollback()  # the request's session, before any page
            app.logger.warning("database connection lost, answered 503: %s", _first_line(error))
            return _handle_problem(database_unreachable(retry_after=app.config["RETRY_AFTER_SECONDS"]))
        if not is_contention(error):
            raise error
        app.logger.warning("database busy, answered 503: %s", _first_line(error))
        return _handle_problem(problems.server_busy(retry_after=app.config["RETRY_AFTER_SECONDS"]))

    @app.errorhandler(HTTPException)
    def _handle_http(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:
            return exc  # a routing redirect, not an error
        problem = problem_from_http(exc)
        if wants_json():
            return problem_response(problem)
        if exc.code == 400 and exc.description and exc.description != type(exc).description:
            # A page's own explanation (abort(400, reason)) already speaks the reader's language.
            problem = problems.invalid_fields(fields=exc.description)
        response = make_response(problem_page(problem))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response
