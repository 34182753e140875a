"""The spot-check record (培训班次现场抽查记录表) of one visit as a PDF (R10)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from server.extensions import db
from server.i18n import check_codes, check_text, finding_text, local_time, visit_flag_text
from server.models import Assignment, Trainee, Visit
from server.services.beside_plan import BesidePlan, beside_plan
from server.services.coverage import flag_code
from server.services.documents import fonts
from server.services.documents.common import LEVEL_LABELS, media_file, payload_seal
from server.services.media_store import image_too_large
from sync.judge import CHECKS

TITLE = "培训班次现场抽查记录表"
STATUS_LABELS = {"match": "一致", "mismatch": "不一致", "unverifiable": "无法核实"}
CHECK_LABELS = {"place": "培训地点", "time": "培训时间", "teacher": "培训教师",
                "content": "培训内容", "attendance": "学员出勤"}
CATEGORY_LABELS = {"politics": "思政", "theory": "理论", "practical": "实操"}
VERDICT_LABELS = {"compliant": "符合计划", "issues": "存在问题",
                  "could_not_inspect": "未能实施检查"}
ROLE_LABELS = {"inspector": "抽查人员", "base_representative": "培训基地负责人"}
# The record is the official Chinese document: its words come from the catalogue in Chinese.
LANG = "zh"
WIDTH = A4[0] - 36 * mm
PHOTO_BOX = (WIDTH / 3 - 4 * mm, 45 * mm)
SIGNATURE_BOX = (60 * mm, 18 * mm)

def _font() -> str:
    """Every font of the record is embedded (documents/fonts.py): it is kept for years (R12)."""
    return fonts.text_font()


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=17, leading=24, alignment=TA_CENTER),
        "sub": ParagraphStyle("sub", parent=body, fontSize=8.5, alignment=TA_CENTER,
                              textColor=colors.grey),
        "h2": ParagraphStyle("h2", parent=body, fontSize=11.5, leading=16, spaceBefore=8,
                             spaceAfter=3),
        "body": body,
        "bad": ParagraphStyle("bad", parent=body, textColor=colors.HexColor("#b00020")),
        "mono": ParagraphStyle("mono", parent=body, fontName=fonts.mono_font(), fontSize=8,
                               leading=10,
                               wordWrap=None),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(fonts.markup(str(text if text is not None else "")), style)


def _grid(rows: list[list[Any]], widths: list[float], *, header: bool = False,
          highlight: list[int] | None = None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), _font()),  # a table sets a font of its own: Helvetica
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    for row in highlight or []:
        style.append(("BACKGROUND", (0, row), (-1, row), colors.HexColor("#fdecea")))
    table.setStyle(TableStyle(style))
    return table


def _image(sha256: str | None, box: tuple[float, float], *, flatten: bool) -> Image | None:
    """Return a downscaled image flowable of a stored media file, or None when it is absent."""
    with media_file(sha256 or "") as path:
        if path is None:
            return None
        try:
            with PILImage.open(path) as source:
                if image_too_large(source):
                    return None
                source.draft("RGB", (900, 900))  # JPEG: decode at a reduced scale, not full size
                picture = source.convert("RGBA")
        except (OSError, ValueError, PILImage.DecompressionBombError):
            return None
    # Signatures are transparent PNGs: put them on white so every viewer shows the ink.
    background = PILImage.new("RGB", picture.size, "white")
    background.paste(picture, mask=picture.getchannel("A"))
    background.thumbnail((900, 900))
    out = BytesIO()
    background.save(out, format="PNG" if flatten else "JPEG", quality=80)
    out.seek(0)
    scale = min(box[0] / background.width, box[1] / background.height)
    return Image(out, width=background.width * scale, height=background.height * scale)


def attendance_numbers(view: BesidePlan) -> dict[str, Any]:
    """The attendance table's figures, from the one count (services/attendance.py)."""
    counted = view.attendance
    return {"roster": counted.roster,
            "headcount": counted.counted if counted.counted is not None else "—",
            "signed": counted.signed_in, "absent": counted.absent,
            "unknown": counted.unknown, "repeated": counted.duplicates}


def seal_state(visit: Visit) -> tuple[str, bool]:
    """Return the recomputed seal and whether it matches the stored one (and the payload's)."""
    computed = payload_seal(visit.payload)
    claimed = visit.payload.get("seal", visit.seal)
    return computed, computed == visit.seal == claimed


def _check_row(key: str, check: dict[str, Any], planned: str, observed: str,
               st: dict[str, ParagraphStyle]) -> list[Any]:
    status = str(check.get("status", "unverifiable"))
    label = STATUS_LABELS.get(status, status)
    style = st["bad"] if status == "mismatch" else st["body"]
    reason = check_text(check, lang=LANG)
    says_distance = {"place.inside", "place.outside"} & set(check_codes(check))
    if check.get("distance_m") is not None and not says_distance:
        reason = f"{reason}（距培训场所 {float(check['distance_m']):.0f} 米）".lstrip()
    return [_p(CHECK_LABELS.get(key, key), st["body"]), _p(planned, st["body"]),
            _p(observed, st["body"]), _p(label, style), _p(reason, st["small"])]


def _comparison(view: BesidePlan, st: dict[str, ParagraphStyle]) -> Table:
    session, seen, visit = view.session, view.observed, view.visit
    numbers = attendance_numbers(view)
    if session is not None:
        planned = {
            "place": f"{session.site.name}\n{session.site.address}",
            "time": f"{session.date.isoformat()} "
                    f"{session.start_time:%H:%M}-{session.end_time:%H:%M}"
                    f"（{CATEGORY_LABELS.get(session.category, session.category)}）",
            "teacher": session.teacher.name,
            "content": session.topic,
        }
    else:
        planned = dict.fromkeys(CHECKS, "（未关联计划课次）")
    planned["attendance"] = f"名册 {numbers['roster']} 人"
    gps_text = "无定位"
    if seen.gps is not None:
        gps_text = f"{seen.gps.lat:.5f}, {seen.gps.lon:.5f}"
        if seen.gps.accuracy is not None:
            gps_text += f"（精度 ±{seen.gps.accuracy:.0f} 米）"
        if seen.gps.mocked:
            gps_text += "（疑似模拟定位）"
    teacher = seen.teacher_name or ("与计划一致" if seen.teacher_matches else "")
    topic = seen.topic or ("与计划一致" if seen.content_matches else "")
    observed = {
        "place": gps_text,
        "time": f"到达 {local_time(visit.started_at)}\n离开 {local_time(visit.ended_at) or '—'}",
        "teacher": teacher, "content": topic,
        "attendance": f"清点 {numbers['headcount']} 人，签到 {numbers['signed']} 人",
    }
    rows = [[_p(h, st["body"]) for h in ("项目", "备案计划", "现场实际", "核查结果", "说明")]]
    highlight = []
    for key in CHECKS:
        check = (visit.checks or {}).get(key) or {}
        rows.append(_check_row(key, check, planned[key], observed[key], st))
        if check.get("status") == "mismatch":
            highlight.append(len(rows) - 1)
    return _grid(rows, [18 * mm, 45 * mm, 45 * mm, 18 * mm, WIDTH - 126 * mm], header=True,
                 highlight=highlight)


def _photos(visit: Visit, st: dict[str, ParagraphStyle]) -> list[Any]:
    photos = visit.payload.get("photos") or []
    if not photos:
        return [_p("无", st["body"])]
    cells = []
    for photo in photos:
        picture = _image(photo.get("sha256"), PHOTO_BOX, flatten=False)
        caption = photo.get("caption") or ""
        if picture is None:
            caption = f"{caption}（照片文件尚未上传 {str(photo.get('sha256', ''))[:12]}…）"
        cells.append([picture or Spacer(1, 4 * mm), _p(caption, st["small"])])
    rows = [cells[i:i + 3] for i in range(0, len(cells), 3)]
    rows[-1] += [""] * (3 - len(rows[-1]))
    table = Table(rows, colWidths=[WIDTH / 3] * 3)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), _font()),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [table]


def _signatures(visit: Visit, st: dict[str, ParagraphStyle]) -> Table:
    rows = [[_p(h, st["body"]) for h in ("签字人", "姓名", "签名")]]
    for signature in visit.payload.get("signatures") or []:
        role = str(signature.get("role", ""))
        image = _image(signature.get("sha256"), SIGNATURE_BOX, flatten=True)
        rows.append([_p(ROLE_LABELS.get(role, role), st["body"]),
                     _p(signature.get("name", ""), st["body"]),
                     image or _p("（签名图片尚未上传）", st["small"])])
    if len(rows) == 1:
        rows.append([_p("—", st["body"]), _p("无签名", st["bad"]), ""])
    return _grid(rows, [35 * mm, 40 * mm, WIDTH - 75 * mm], header=True)


def _signed_names(view: BesidePlan) -> str:
    """The names of the trainees who signed in, each once, in the order they signed."""
    ids = list(dict.fromkeys(s.trainee_id for s in view.sign_ins if s.trainee_id))
    if not ids:
        return "无"
    names = dict(db.session.execute(
        db.select(Trainee.id, Trainee.name).where(Trainee.id.in_(ids))).all())
    return "、".join(names.get(i, "?") for i in ids)


def _team(visit: Visit) -> str:
    """Name the inspectors: the assigned team if any, else those who signed."""
    names: list[str] = []
    if visit.assignment_id is not None:
        assignment = db.session.get(Assignment, visit.assignment_id)
        names = [u.display_name or u.username for u in assignment.inspectors] if assignment else []
    if not names:
        names = [str(s.get("name", "")) for s in visit.payload.get("signatures") or []
                 if s.get("role") == "inspector"]
    return "、".join(names) or "—"


def build_visit_pdf(visit: Visit) -> bytes:
    """Render the signed record of one visit: base, class, plan vs observed, evidence and seal."""
    st = _styles()
    payload = visit.payload
    klass = visit.training_class
    view = beside_plan(visit)
    version = view.version
    computed, sealed_ok = seal_state(visit)
    story: list[Any] = [
        _p(TITLE, st["title"]),
        _p(f"记录编号 {visit.id}", st["sub"]),
        Spacer(1, 4 * mm),
        _grid([
            [_p("培训基地", st["body"]), _p(klass.base.name, st["body"]),
             _p("所在县市区", st["body"]), _p(klass.base.county.name, st["body"])],
            [_p("班次", st["body"]), _p(klass.name, st["body"]),
             _p("职业（工种）/等级", st["body"]),
             _p(f"{klass.occupation.name} / {LEVEL_LABELS.get(klass.level, klass.level)}",
                st["body"])],
            [_p("培训期间", st["body"]),
             _p(f"{klass.start_date.isoformat()} 至 {klass.end_date.isoformat()}", st["body"]),
             _p("对照计划版本", st["body"]), _p(f"第 {version.number} 版", st["body"])],
        ], [25 * mm, WIDTH / 2 - 25 * mm, 32 * mm, WIDTH / 2 - 32 * mm]),
        _p("一、计划与现场对照", st["h2"]),
        _comparison(view, st),
    ]
    numbers = attendance_numbers(view)
    story += [
        _p("二、学员出勤", st["h2"]),
        _grid([[_p(h, st["body"]) for h in
                ("名册人数", "现场清点人数", "签到人数", "未签到人数", "名册外签到", "重复签到")],
               [_p(numbers[k], st["body"]) for k in
                ("roster", "headcount", "signed", "absent", "unknown", "repeated")]],
              [WIDTH / 6] * 6, header=True),
        _p(f"签到学员：{_signed_names(view)}", st["small"]),
        _p("三、发现的问题", st["h2"]),
    ]
    findings = payload.get("findings") or []
    story += [_p(f"{i}. {finding_text(f, lang=LANG)}", st["body"])
              for i,
              f in enumerate(findings, start=1) if isinstance(f, dict)] or [_p("无", st["body"])]
    verdict = str(payload.get("verdict") or visit.verdict)
    flags = "、".join(visit_flag_text(flag_code(f), visit.checks, lang=LANG)
                     for f in visit.flags or []) or "无"
    story += [
        _p(f"抽查结论：{VERDICT_LABELS.get(verdict, verdict)}", st["h2"]),
        _p(f"系统标记：{flags}", st["body"]),
        _p("四、现场照片", st["h2"]), *_photos(visit, st),
        KeepTogether([_p("五、签字确认", st["h2"]), _signatures(visit, st)]),
        _p("六、记录信息", st["h2"]),
        _grid([
            [_p("抽查人员（提交人）", st["body"]),
             _p(visit.inspector.display_name or visit.inspector.username, st["body"])],
            [_p("抽查小组", st["body"]), _p(_team(visit), st["body"])],
            [_p("到达时间（北京时间）", st["body"]), _p(local_time(visit.started_at), st["body"])],
            [_p("离开时间（北京时间）", st["body"]),
             _p(local_time(visit.ended_at) or "—", st["body"])],
            [_p("设备编号", st["body"]), _p(visit.device_id, st["mono"])],
            [_p("服务器接收时间（北京时间）", st["body"]),
             _p(local_time(visit.received_at), st["body"])],
            [_p("封签（SHA-256）", st["body"]), _p(visit.seal, st["mono"])],
            [_p("封签校验", st["body"]),
             _p("通过：服务器重新计算的封签与记录一致" if sealed_ok else
                f"不通过：服务器重新计算为 {computed}", st["body"] if sealed_ok else st["bad"])],
        ], [50 * mm, WIDTH - 50 * mm]),
    ]
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                 topMargin=16 * mm, bottomMargin=16 * mm, title=TITLE,
                                 author="Spotcheck", subject=str(visit.id),
                                 initialFontName=_font())

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(_font(), 8)
        canvas.drawCentredString(A4[0] / 2, 9 * mm, f"第 {doc.page} 页    记录编号 {visit.id}")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return fonts.fix_text_layer(out.getvalue())
