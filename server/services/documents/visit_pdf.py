"""The spot-check record (培训班次现场抽查记录表) of one visit as a PDF (R10)."""

from __future__ import annotations

from collections.abc import Callable
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
from server.i18n import (
    check_codes,
    check_text,
    current_language,
    finding_text,
    join_words,
    local_time,
    message,
    visit_flag_text,
)
from server.models import Assignment, Visit
from server.services.beside_plan import BesidePlan, beside_plan
from server.services.documents import fonts
from server.services.documents.common import media_file
from server.services.filed_roster import names_on
from server.services.issues import flag_code
from server.services.media_store import image_too_large
from server.services.record_seal import payload_seal_state
from server.services.review import base_refusal
from sync.judge import CHECKS, shown_metres

# Every word of the record comes from the catalogue (pdf.*, with the check, flag and finding
# words): Chinese by default and outside a request (commands, the yearly archive), English when
# the reader switched.
Words = Callable[..., str]
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
    """Return the recomputed seal ("" when the payload no longer serialises) and whether it is
    intact: record_seal.payload_seal_state, the one answer."""
    computed, intact = payload_seal_state(visit)
    return computed or "", intact


def _words(lang: str) -> Words:
    """Return the record's words in one language: t("key", **params) -> catalogue pdf.<key>."""
    return lambda key, **params: message(f"pdf.{key}", params, lang=lang)


def _check_row(key: str, check: dict[str, Any], planned: str, observed: str,
               st: dict[str, ParagraphStyle], t: Words, lang: str) -> list[Any]:
    status = str(check.get("status", "unverifiable"))
    status = status if status in ("match", "mismatch") else "unverifiable"
    label = t(f"status.{status}")
    style = st["bad"] if status == "mismatch" else st["body"]
    reason = check_text(check, lang=lang)
    says_distance = {"place.inside", "place.outside"} & set(check_codes(check))
    if check.get("distance_m") is not None and not says_distance:
        reason = f"{reason}{t('distance', d=shown_metres(float(check['distance_m'])))}".lstrip()
    return [_p(t(f"check.{key}"), st["body"]), _p(planned, st["body"]),
            _p(observed, st["body"]), _p(label, style), _p(reason, st["small"])]


def _comparison(view: BesidePlan, st: dict[str, ParagraphStyle], t: Words, lang: str) -> Table:
    session, seen, visit = view.session, view.observed, view.visit
    numbers = attendance_numbers(view)
    if session is not None:
        planned = {
            "place": f"{session.site.name}\n{session.site.address}",
            "time": f"{session.date.isoformat()} "
                    f"{session.start_time:%H:%M}-{session.end_time:%H:%M}"
                    f"{t('category', name=t('category.' + session.category))}",
            "teacher": session.teacher.name,
            "content": session.topic,
        }
    else:
        planned = dict.fromkeys(CHECKS, t("no_session"))
    planned["attendance"] = t("roster", n=numbers["roster"])
    gps_text = t("no_fix")
    if seen.gps is not None:
        gps_text = f"{seen.gps.lat:.5f}, {seen.gps.lon:.5f}"
        if seen.gps.accuracy is not None:
            gps_text += t("accuracy", m=round(seen.gps.accuracy))
        if seen.gps.mocked:
            gps_text += t("mocked")
    teacher = seen.teacher_name or (t("as_planned") if seen.teacher_matches else "")
    topic = seen.topic or (t("as_planned") if seen.content_matches else "")
    observed = {
        "place": gps_text,
        "time": t("arrived_left", arrived=local_time(visit.started_at),
                  left=local_time(visit.ended_at) or "—"),
        "teacher": teacher, "content": topic,
        "attendance": t("counted_signed", counted=numbers["headcount"], signed=numbers["signed"]),
    }
    rows = [[_p(t(f"head.{h}"), st["body"])
             for h in ("check", "planned", "observed", "result", "reason")]]
    highlight = []
    for key in CHECKS:
        check = (visit.checks or {}).get(key) or {}
        rows.append(_check_row(key, check, planned[key], observed[key], st, t, lang))
        if check.get("status") == "mismatch":
            highlight.append(len(rows) - 1)
    return _grid(rows, [18 * mm, 45 * mm, 45 * mm, 18 * mm, WIDTH - 126 * mm], header=True,
                 highlight=highlight)


def _photos(visit: Visit, st: dict[str, ParagraphStyle], t: Words) -> list[Any]:
    photos = visit.payload.get("photos") or []
    if not photos:
        return [_p(t("none"), st["body"])]
    cells = []
    for photo in photos:
        picture = _image(photo.get("sha256"), PHOTO_BOX, flatten=False)
        caption = photo.get("caption") or ""
        if picture is None:
            caption = f"{caption}{t('photo_missing', sha=str(photo.get('sha256', ''))[:12])}"
        cells.append([picture or Spacer(1, 4 * mm), _p(caption, st["small"])])
    rows = [cells[i:i + 3] for i in range(0, len(cells), 3)]
    rows[-1] += [""] * (3 - len(rows[-1]))
    table = Table(rows, colWidths=[WIDTH / 3] * 3)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), _font()),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [table]


def _signatures(visit: Visit, st: dict[str, ParagraphStyle], t: Words) -> Table:
    rows = [[_p(t(f"head.{h}"), st["body"]) for h in ("signer", "name", "signature")]]
    for signature in visit.payload.get("signatures") or []:
        role = str(signature.get("role", ""))
        image = _image(signature.get("sha256"), SIGNATURE_BOX, flatten=True)
        role = role if role in ("inspector", "base_representative") else "other"
        rows.append([_p(t(f"role.{role}"), st["body"]),
                     _p(signature.get("name", ""), st["body"]),
                     image or _p(t("signature_missing"), st["small"])])
    refusal = base_refusal(visit)
    if refusal is not None:
        rows.append([_p(t("role.base_representative"), st["body"]),
                     _p(refusal["name"] or "—", st["body"]),
                     _p(t("base_refused", reason=refusal["reason"]), st["bad"])])
    if len(rows) == 1:
        rows.append([_p("—", st["body"]), _p(t("no_signatures"), st["bad"]), ""])
    return _grid(rows, [35 * mm, 40 * mm, WIDTH - 75 * mm], header=True)


def _signed_names(view: BesidePlan, t: Words, lang: str) -> str:
    """The names of the trainees who signed in, each once, in the order they signed."""
    ids = list(dict.fromkeys(s.trainee_id for s in view.sign_ins if s.trainee_id))
    if not ids:
        return t("none")
    names = names_on(view.version, ids)
    return join_words((names.get(i, "?") for i in ids), lang=lang)


def _team(visit: Visit, lang: str) -> str:
    """Name the inspectors: the assigned team if any, else those who signed."""
    names: list[str] = []
    if visit.assignment_id is not None:
        assignment = db.session.get(Assignment, visit.assignment_id)
        names = [u.display_name or u.username for u in assignment.inspectors] if assignment else []
    if not names:
        names = [str(s.get("name", "")) for s in visit.payload.get("signatures") or []
                 if s.get("role") == "inspector"]
    return join_words(names, lang=lang) or "—"


def build_visit_pdf(visit: Visit, lang: str | None = None) -> bytes:
    """Render the signed record of one visit: base, class, plan vs observed, evidence and seal.

    In the reader's language (Chinese unless switched); lang="zh" for the official copy.
    """
    lang = lang or current_language()
    t = _words(lang)
    st = _styles()
    payload = visit.payload
    klass = visit.training_class
    view = beside_plan(visit)
    version = view.version
    computed, sealed_ok = seal_state(visit)
    story: list[Any] = [
        _p(t("title"), st["title"]),
        _p(t("record_id", id=visit.id), st["sub"]),
        Spacer(1, 4 * mm),
        _grid([
            [_p(t("base"), st["body"]), _p(klass.base.name, st["body"]),
             _p(t("county"), st["body"]), _p(klass.base.county.name, st["body"])],
            [_p(t("class"), st["body"]), _p(klass.name, st["body"]),
             _p(t("occupation_level"), st["body"]),
             _p(f"{klass.occupation.name} / {t(f'level.{klass.level}')}", st["body"])],
            [_p(t("period"), st["body"]),
             _p(t("period_value", start=klass.start_date.isoformat(),
                  end=klass.end_date.isoformat()), st["body"]),
             _p(t("version"), st["body"]), _p(t("version_value", n=version.number), st["body"])],
        ], [25 * mm, WIDTH / 2 - 25 * mm, 32 * mm, WIDTH / 2 - 32 * mm]),
        _p(t("section.comparison"), st["h2"]),
        _comparison(view, st, t, lang),
    ]
    numbers = attendance_numbers(view)
    story += [
        _p(t("section.attendance"), st["h2"]),
        _grid([[_p(t(f"head.{h}"), st["body"]) for h in
                ("roster", "headcount", "signed", "absent", "unknown", "repeated")],
               [_p(numbers[k], st["body"]) for k in
                ("roster", "headcount", "signed", "absent", "unknown", "repeated")]],
              [WIDTH / 6] * 6, header=True),
        _p(t("signed_names", names=_signed_names(view, t, lang)), st["small"]),
        _p(t("section.findings"), st["h2"]),
    ]
    findings = payload.get("findings") or []
    story += [_p(f"{i}. {finding_text(f, lang=lang)}", st["body"])
              for i, f in enumerate(findings, start=1)
              if isinstance(f, dict)] or [_p(t("none"), st["body"])]
    verdict = str(payload.get("verdict") or visit.verdict)
    flags = join_words((visit_flag_text(flag_code(f), visit.checks, lang=lang)
                        for f in visit.flags or []), lang=lang) or t("none")
    verdict = verdict if verdict in ("compliant", "issues", "could_not_inspect") else "issues"
    story += [
        _p(t("verdict", verdict=t(f"verdict.{verdict}")), st["h2"]),
        _p(t("flags", flags=flags), st["body"]),
        _p(t("section.photos"), st["h2"]), *_photos(visit, st, t),
        KeepTogether([_p(t("section.signatures"), st["h2"]), _signatures(visit, st, t)]),
        _p(t("section.record"), st["h2"]),
        _grid([
            [_p(t("submitter"), st["body"]),
             _p(visit.inspector.display_name or visit.inspector.username, st["body"])],
            [_p(t("team"), st["body"]), _p(_team(visit, lang), st["body"])],
            [_p(t("arrived_at"), st["body"]), _p(local_time(visit.started_at), st["body"])],
            [_p(t("left_at"), st["body"]),
             _p(local_time(visit.ended_at) or "—", st["body"])],
            [_p(t("device"), st["body"]), _p(visit.device_id, st["mono"])],
            [_p(t("received_at"), st["body"]),
             _p(local_time(visit.received_at), st["body"])],
            [_p(t("seal"), st["body"]), _p(visit.seal, st["mono"])],
            [_p(t("seal_check"), st["body"]),
             _p(t("seal_ok") if sealed_ok else t("seal_broken", computed=computed),
                st["body"] if sealed_ok else st["bad"])],
        ], [50 * mm, WIDTH - 50 * mm]),
    ]
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                 topMargin=16 * mm, bottomMargin=16 * mm, title=t("title"),
                                 author="Spotcheck", subject=str(visit.id),
                                 initialFontName=_font())

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(_font(), 8)
        canvas.drawCentredString(A4[0] / 2, 9 * mm, t("footer", page=doc.page, id=visit.id))
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return fonts.fix_text_layer(out.getvalue())
