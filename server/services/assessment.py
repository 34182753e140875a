"""Record the city's assessment results (考核评定, R11): one result per trainee and class."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from server.errors import ApiError, field_error
from server.extensions import db
from server.i18n import translate
from server.models import AssessmentResult, Trainee, TrainingClass, User
from server.services.audit import audit
from server.services.documents.common import current_version
from server.services.idcard import normalise_id_number
from server.services.pii import id_number_hash
from server.services.spreadsheet import SpreadsheetError, XlsxLimits, read_first_sheet

# Column headings of the import sheet (first row), Chinese as the assessment centre writes them.
IMPORT_COLUMNS = {"班次": "class_name", "身份证号": "id_number", "结果": "result",
                  "考核日期": "assessed_on", "证书编号": "certificate_no"}
PASS_WORDS = {"合格", "通过", "pass", "passed", "1", "true", "是"}
FAIL_WORDS = {"不合格", "未通过", "fail", "failed", "0", "false", "否"}
# A results sheet lists one city's trainees of a year: a few thousand rows at most.
READ_LIMITS = XlsxLimits(max_rows_read=20000, max_cell_chars=200, max_columns=30)


def record_result(
    training_class: TrainingClass,
    trainee: Trainee,
    *,
    passed: bool,
    assessed_on: date,
    certificate_no: str = "",
    user: User | None = None,
) -> AssessmentResult:
    """Record (or correct) a trainee's result; the trainee must be on the class's filed roster."""
    version = current_version(training_class)
    if version is None or trainee.id not in {e.trainee_id for e in version.enrollments}:
        raise ApiError("assessment.not_enrolled")
    if passed and not certificate_no.strip():
        raise field_error("certificate_no", "field.assessment.certificate_needed")
    result = db.session.execute(
        db.select(AssessmentResult).where(
            AssessmentResult.class_id == training_class.id,
            AssessmentResult.trainee_id == trainee.id,
        )
    ).scalar_one_or_none()
    if result is None:
        result = AssessmentResult(class_id=training_class.id, trainee_id=trainee.id,
                                  level=training_class.level, passed=passed,
                                  assessed_on=assessed_on)
        db.session.add(result)
    result.passed = passed
    result.assessed_on = assessed_on
    result.level = training_class.level
    result.certificate_no = certificate_no.strip() if passed else ""
    result.recorded_by_id = user.id if user else None
    db.session.flush()
    audit("assessment.recorded", "assessment_result", result.id, user=user,
          class_id=str(training_class.id), passed=passed)
    return result


def _parse_result(raw: object) -> bool | None:
    text = str(raw).strip().lower() if raw is not None else ""
    if text in PASS_WORDS:
        return True
    if text in FAIL_WORDS:
        return False
    return None


def _parse_date(raw: object) -> date | None:
    if isinstance(raw, datetime):  # Excel cells come back as datetimes
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        return None


def import_results_xlsx(path: Path, user: User | None = None) -> tuple[int, list[str]]:
    """Import results from an XLSX sheet; return (rows recorded, row errors). All or nothing."""
    try:
        with open(path, "rb") as fh:
            rows = read_first_sheet(fh.read(READ_LIMITS.max_uncompressed + 1), READ_LIMITS)
            first = next(rows, None)
    except (OSError, SpreadsheetError) as error:
        code = error.code if isinstance(error, SpreadsheetError) else "spreadsheet.unreadable"
        return 0, [translate(code, **getattr(error, "values", {}))]
    cells = first[1] if first and first[0] == 1 else ()
    header = [str(cell).strip() if cell is not None else "" for cell in cells]
    missing = [name for name in IMPORT_COLUMNS if name not in header]
    if missing:
        return 0, [translate("field.import.missing_columns", columns="、".join(missing))]
    index = {IMPORT_COLUMNS[name]: header.index(name) for name in IMPORT_COLUMNS}
    errors: list[str] = []
    recorded = 0
    try:
        for number, row in rows:
            problems = _import_line(number, row, index, user)
            errors += problems
            recorded += not problems
    except SpreadsheetError as error:
        errors.append(translate(error.code, **error.values))
    if errors:
        db.session.rollback()
        return 0, errors
    return recorded, []


def _import_line(number: int, row: tuple, index: dict[str, int], user: User | None) -> list[str]:
    """Record one row; return its error lines (none when it was recorded)."""
    value = {key: row[i] if i < len(row) else None for key, i in index.items()}
    try:
        _import_row(value, user)
    except ApiError as error:
        detail = "；".join(f"{k}: {'、'.join(v)}" for k, v in (error.errors or {}).items())
        if not detail:
            return [translate("field.import.row", number=number, message=error.message)]
        return [translate("field.import.row_detail", number=number, message=error.message,
                          detail=detail)]
    return []


def _import_row(value: dict, user: User | None) -> int:
    klass = db.session.execute(
        db.select(TrainingClass).where(TrainingClass.name == str(value["class_name"] or "").strip())
    ).scalar_one_or_none()
    if klass is None:
        raise ApiError("not_found", "assessment.unknown_class",
                       params={"name": value["class_name"]})
    number = normalise_id_number(str(value["id_number"] or ""))
    # The class's base's own entry for the person (each base has its own, R7).
    trainee = db.session.execute(
        db.select(Trainee).where(Trainee.id_number_hash == id_number_hash(number),
                                 (Trainee.base_id == klass.base_id) | Trainee.base_id.is_(None))
        .order_by(Trainee.base_id.is_(None))
    ).scalars().first() if number else None
    if trainee is None:
        raise ApiError("not_found", "assessment.unknown_id_number")
    passed = _parse_result(value["result"])
    assessed_on = _parse_date(value["assessed_on"])
    if passed is None or assessed_on is None:
        raise ApiError("validation_error", errors={
            k: [translate("field.unrecognised")] for k, ok in (
                ("结果", passed is not None), ("考核日期", assessed_on is not None)) if not ok})
    record_result(klass, trainee, passed=passed, assessed_on=assessed_on,
                  certificate_no=str(value["certificate_no"] or ""), user=user)
    return 1
