"""One catalogue of error codes and one JSON error shape: {code, message, errors?, details?}."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from schemas.common import ErrorSchema

# code -> (HTTP status, message). Messages are Chinese first; the English is in `message_en`.
CATALOGUE: dict[str, tuple[int, str, str]] = {
    "validation_error": (422, "请求内容不符合要求", "The request does not match the schema"),
    "bad_request": (400, "请求无法解析", "The request cannot be parsed"),
    "json.too_deep": (400, "请求内容嵌套层数过多", "The JSON body is nested too deeply"),
    "csrf_failed": (400, "表单已过期或来源不明，请刷新后重试", "CSRF token missing or invalid"),
    "auth.required": (401, "需要登录", "Authentication required"),
    "auth.invalid_credentials": (401, "用户名或密码错误", "Wrong username or password"),
    "auth.token_invalid": (401, "登录已失效，请重新登录", "The token is expired, revoked or unknown"),
    "auth.locked": (429, "登录失败次数过多，请稍后再试", "Too many failed logins; try again later"),
    "forbidden": (403, "无权执行此操作", "You may not do this"),
    "not_found": (404, "未找到", "Not found"),
    "method_not_allowed": (405, "不支持该请求方法", "Method not allowed"),
    "conflict": (409, "状态冲突", "Conflict with the current state"),
    "payload_too_large": (413, "内容过大", "Payload too large"),
    "unsupported_media_type": (415, "不支持的文件类型", "Unsupported media type"),
    "rate_limited": (429, "请求过于频繁", "Too many requests"),
    "internal_error": (500, "服务器内部错误", "Internal server error"),
    # Filing workflow (R5, R7)
    "plan.not_editable": (409, "已提交的计划版本不能修改", "A submitted plan version cannot change"),
    "plan.invalid_transition": (409, "当前状态不允许此操作", "This transition is not allowed now"),
    "plan.has_violations": (422, "计划不符合规定", "The plan breaks the notice's rules"),
    "plan.filed_fact": (409, "已备案计划使用的教师或场所不能修改；请新建计划版本并改用新的教师或场所",
                        "A filed plan version names this teacher or site; a change needs a new version"),
    "plan.reason_required": (422, "变更计划须说明原因", "A new version needs a reason"),
    # Sync (DESIGN §4)
    "sync.reset": (409, "同步游标已失效，请重新同步", "The cursor is from another epoch or scope"),
    "sync.bad_cursor": (400, "同步游标无效", "The cursor cannot be read"),
    "sync.device_mismatch": (403, "设备编号与登录设备不一致", "device_id is not the device this token was issued to"),
    "sync.busy": (503, "服务器繁忙，请稍后重试", "The push could not be applied now; retry it unchanged"),
    # Per-mutation result codes of a push (status rejected / gap / flagged), not HTTP errors.
    "sync.gap": (409, "前面的变更尚未送达", "An earlier seq is missing; nothing after it was applied"),
    "sync.unknown_type": (422, "未知的变更类型", "Unknown mutation type"),
    "sync.mutation_reused": (409, "变更编号已被使用", "This mutation_id was already used with another seq"),
    "sync.seq_reused": (409, "序号已被其他变更占用", "This seq already belongs to another mutation"),
    "sync.conflict": (409, "该记录与已保存的记录冲突", "The record conflicts with one already stored"),
    "sync.unstorable": (422, "记录中有无法保存的内容", "The record holds a value the database cannot store"),
    "visit.seal_mismatch": (422, "封签与内容不符", "The seal is not the SHA-256 of the visit"),
    "visit.unknown_class": (422, "班次不存在或不在您的范围内", "Unknown class, or not in your scope"),
    "visit.unknown_plan_version": (422, "计划版本不属于该班次", "The plan version is not one of the class"),
    "visit.unknown_session": (422, "课次不属于该计划版本", "The session is not in the plan version"),
    "visit.unknown_assignment": (422, "抽查任务不存在或不属于该班次", "Unknown assignment for this class"),
    "visit.unknown_supersedes": (422, "被更正的抽查记录不存在", "The visit to supersede is unknown"),
    "visit.exists": (409, "该抽查记录已存在；更正请提交新记录", "The visit exists; a correction is a new visit"),
    "visit.duplicate_session": (200, "同一课次已有抽查记录", "Another visit covers the same session"),
    "plan.outdated": (200, "检查所依据的计划版本已不是现行版本", "Checked against a plan version that is no longer current"),
    "visit.implausible_time": (200, "抽查时间不可信", "The visit's times cannot be true (outside its class's dates or after receipt)"),
    "evidence.stale": (200, "证据采集时间不在抽查期间", "Evidence captured outside the visit"),
    "clock.skew": (200, "设备时钟与服务器相差过大", "The device clock is off by more than the allowed skew"),
    "signin.unknown_trainee": (422, "学员不存在", "Unknown trainee"),
    "signin.unknown_class": (422, "班次或抽查记录不存在或不在您的范围内",
                             "Unknown class or visit, or not in your scope"),
    # Media (tus)
    "media.offset_mismatch": (409, "上传偏移不一致", "Upload-Offset does not match"),
    "media.checksum_mismatch": (460, "校验和不一致", "Checksum mismatch"),
    "media.too_large": (413, "文件超过大小限制", "The file is over the size limit"),
    "media.unsupported_type": (415, "文件不是 JPEG、PNG、MP4 或 WebM", "Not a JPEG, PNG, MP4 or WebM file"),
    "media.expired": (410, "上传已过期", "The upload has expired"),
    "media.tus_version": (412, "不支持的 tus 版本", "Unsupported tus version"),
    # Sign-in (badges, self sign-in)
    "signin.badge_invalid": (422, "签到码无效：伪造、被改动或不属于本班次", "The badge is forged, altered or of another class"),
    "signin.code_invalid": (400, "签到二维码无效", "The sign-in code is not valid"),
    "signin.code_expired": (410, "签到二维码已过期，请扫描最新的二维码", "The sign-in code has expired; scan the current one"),
    "signin.form_expired": (410, "签到页面已超时，请重新扫码", "The sign-in page timed out; scan again"),
    "signin.not_on_roster": (422, "姓名与身份证号后6位不在本班次名册中", "Name and ID ending are not on the class roster"),
    "media.hash_mismatch": (460, "文件的 SHA-256 与声明不一致，上传已作废", "The file's SHA-256 differs from the declared one; the upload is discarded"),
    # Bureau: draw (R10), review and rectification (R15)
    "draw.not_enough_inspectors": (422, "本县市区抽查员不足两人，无法组成抽查小组", "Fewer than two inspectors in the county"),
    "draw.nothing_to_draw": (422, "该期间没有可抽查的班次课次", "No class has a session left to draw in this period"),
    "review.invalid_state": (409, "当前状态不允许此操作", "Not allowed in the current state"),
    # Assessment and documents (R11–R14)
    "assessment.not_enrolled": (422, "该学员不在此班次已备案的名册中",
                                "The trainee is not on the class's filed roster"),
    "archive.invalid": (422, "档案包无法读取", "The archive cannot be read"),
    # Hostile files (every decoder bounded)
    "spreadsheet.too_large": (413, "表格解压后过大", "The workbook is too large once uncompressed"),
    "spreadsheet.too_many_rows": (422, "表格行数过多", "The sheet has too many rows"),
    "spreadsheet.cell_too_long": (422, "表格中有过长的单元格", "A cell of the sheet is too long"),
}


class ApiError(Exception):
    """An error with a catalogue code; rendered as the one JSON error shape."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        errors: dict | list | None = None,
        details: dict | None = None,
        status: int | None = None,
    ) -> None:
        default_status, default_message, _ = CATALOGUE.get(code, (400, code, code))
        super().__init__(message or default_message)
        self.code = code
        self.message = message or default_message
        self.errors = errors
        self.details = details
        self.status = status or default_status

    def body(self) -> dict[str, Any]:
        """Return the JSON body of this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        if self.details:
            body["details"] = self.details
        return body


_HTTP_CODES = {
    400: "bad_request", 401: "auth.required", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 429: "rate_limited",
}


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path.startswith("/s/api"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" or request.is_json


def error_response(error: ApiError) -> Response | tuple[Any, int]:
    """Render an ApiError as JSON for the API and as a page for people."""
    if _wants_json():
        response = jsonify(ErrorSchema().dump(error.body()))
        response.status_code = error.status
        return response
    return render_template("error.html", error=error), error.status


# A JSON string (escapes included), removed before the brackets are counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes, limit: int) -> int:
    """Return how deeply a JSON text nests (stopping once past limit), without parsing it."""
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def refuse_deep_json() -> None:
    """Refuse a JSON body nested deeper than MAX_JSON_DEPTH before anything parses it."""
    from schemas.common import MAX_JSON_DEPTH

    if request.is_json and request.content_length != 0:
        if json_depth(request.get_data(cache=True), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ApiError("json.too_deep")


def register_error_handlers(app: Flask) -> None:
    """Route every error through the one JSON shape (or an HTML page for browsers)."""
    from server.extensions import db

    app.before_request(refuse_deep_json)

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        db.session.rollback()
        return error_response(error)

    @app.errorhandler(ValidationError)
    def handle_validation_error(error: ValidationError):
        db.session.rollback()
        return error_response(ApiError("validation_error", errors=error.normalized_messages()))

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        db.session.rollback()
        code = _HTTP_CODES.get(error.code or 500, "bad_request")
        if error.code == 400 and "CSRF" in (error.description or ""):
            return error_response(ApiError("csrf_failed"))
        return error_response(ApiError(code, status=error.code))

    @app.errorhandler(DataError)
    def handle_data_error(error: DataError):
        # A value the database refuses (the schemas should have): bad input, not a server fault.
        db.session.rollback()
        app.logger.warning("database refused a value: %s", error.orig)
        return error_response(ApiError("validation_error"))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # Roll back so a failed request leaves nothing half-written; no stack trace to the client.
        db.session.rollback()
        app.logger.exception("unexpected error")
        return error_response(ApiError("internal_error"))
