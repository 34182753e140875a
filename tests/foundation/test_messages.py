"""One message system: every code the code base emits has words in Chinese and English.

The sources are read for emitted codes (ApiError, Rejected, flags appended, the judge's
reasons, the field app's finding codes) beside the registries (errors.CATALOGUE,
judge.REASON_CODES, the sign-in flags), so a new code without words fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from server import errors
from server.i18n import LANGUAGES, catalogue, check_text, message
from server.services import signin_flags
from server.services.rules import RULE_CODES
from sync import judge

ROOT = Path(__file__).resolve().parents[2]
PY_SOURCES = sorted([*(ROOT / "server").rglob("*.py"), *(ROOT / "sync").rglob("*.py")])
# What people must never read: rule numbers, dotted codes, field names, library names.
INTERNAL = re.compile(
    r"R\d+\.|\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b|\b[a-z]+_[a-z_]+\b|jsqr|barcode-detector"
    r"|\[note\]|\{\w*\}"
)


def _grep(pattern: str, paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def emitted_error_codes() -> set[str]:
    """Codes (and specific message codes) raised as ApiError or Rejected anywhere."""
    codes = set(errors.CATALOGUE)
    for first, second in _grep(r'(?:ApiError|Rejected)\(\s*"([a-z_.]+)"(?:,\s*"([a-z_.]+)")?',
                               PY_SOURCES):
        codes.add(first)
        if second:
            codes.add(second)
    return codes


def emitted_flag_codes() -> set[str]:
    """Flags put on visits and sign-ins, and the reasons of a suspected proxy sign-in."""
    codes = {value for name, value in vars(signin_flags).items()
             if name.isupper() and isinstance(value, str) and value.startswith("signin.")}
    codes |= set(signin_flags.FINDING_CODES) | set(signin_flags.ANOMALY_CODES)
    codes |= _grep(r'flags\.append\("([a-z_.]+)"\)', PY_SOURCES)
    codes |= _grep(r'reasons\.append\("([a-z_.]+)"\)', PY_SOURCES)
    return codes


def pwa_finding_codes() -> set[str]:
    """The finding codes the field app offers (sealed into visits as they are)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "pwa" / "src").rglob("*.js"))
    match = re.search(r"FINDING_CODES\s*=\s*\[(.*?)\]", source, re.S)
    assert match, "the field app's finding codes were not found"
    return set(re.findall(r"'([^']+)'", match.group(1))) | {"note"}


def every_key() -> set[str]:
    keys = {f"error.{c}" for c in emitted_error_codes()}
    keys |= {f"flag.{c}" for c in emitted_flag_codes()}
    keys |= {f"check.{c}" for c in judge.REASON_CODES}
    keys |= {f"finding.{c}" for c in pwa_finding_codes()}
    rules = set(RULE_CODES) | _grep(r'violation\(\s*"([A-Za-z0-9_.]+)"', PY_SOURCES)
    keys |= {f"rule.{c}.title" for c in rules}
    return keys


def sample_params(text: str) -> dict[str, object]:
    return {name: 7 for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_sources_yield_the_codes_this_test_relies_on():
    # Guards the grep itself: if these disappear, the patterns above stopped matching.
    assert {"visit.seal_mismatch", "visit.plan_version_differs",
            "sync.gap"} <= emitted_error_codes()
    assert {"plan.outdated", "clock.skew", "attendance.low", "signin.proxy_suspected",
            "signed_in_exceeds_headcount"} <= emitted_flag_codes()
    assert {"R7.teacher", "note"} <= pwa_finding_codes()
    assert "rule.R5.roster_empty.title" in every_key()


def test_rejections_carry_codes_not_sentences():
    sentences = _grep(r'(?:ApiError|Rejected)\(\s*"[a-z_.]+",\s*(f?"(?![a-z_.]+")[^"]*")',
                      PY_SOURCES)
    assert sorted(sentences) == []


def test_every_code_renders_in_both_languages():
    missing = {lang: sorted(k for k in every_key() if k not in catalogue(lang))
               for lang in LANGUAGES}
    assert missing == {"zh": [], "en": []}
    for key in sorted(every_key()):
        for lang in LANGUAGES:
            text = message(key, sample_params(catalogue(lang)[key]), lang=lang)
            assert text.strip() and not INTERNAL.search(text), (key, lang, text)


def test_flags_and_findings_have_one_namespace_each():
    doubles = [k for k in catalogue("zh") if k.startswith(("bureau.flag.", "bureau.finding."))]
    assert doubles == [], "flags are worded under flag.<code>, findings under finding.<code>"


def test_both_languages_have_the_same_keys_and_placeholders():
    zh, en = catalogue("zh"), catalogue("en")
    assert sorted(set(zh) ^ set(en)) == []
    for key in zh:
        assert sample_params(zh[key]).keys() == sample_params(en[key]).keys(), key


def test_the_judge_emits_only_registered_reasons():
    source = (ROOT / "sync" / "judge.py").read_text(encoding="utf-8")
    literal = set(re.findall(r'(?:_check\(\w+|Reason\()\s*,?\s*"([a-z_]+\.[a-z_]+)"', source))
    literal |= set(re.findall(r'return "([a-z_]+\.[a-z_]+)"', source))  # implausible_time's codes
    observed = {f"{what}.{end}" for what in judge.OBSERVED
                for end in re.findall(r'f"\{what\}\.([a-z_]+)"', source)}
    assert literal and observed
    assert literal | observed <= set(judge.REASON_CODES)


def test_a_missing_code_never_shows_itself():
    assert message("flag.no.such_code", lang="zh") == catalogue("zh")["message.unknown"]
    assert message("flag.no.such_code", lang="en") == catalogue("en")["message.unknown"]


def test_a_check_stored_as_a_sentence_before_codes_is_still_shown():
    assert check_text({"status": "mismatch",
                       "reason": "定位在培训场所范围外"}) == "定位在培训场所范围外"


def test_the_api_answers_in_the_language_asked_and_keeps_the_code(client):
    chinese = client.get("/api/v1/bureau/visits").get_json()
    english = client.get("/api/v1/bureau/visits", headers={"Accept-Language": "en"}).get_json()
    switched = client.get("/api/v1/bureau/visits?lang=en").get_json()
    assert chinese["code"] == english["code"] == switched["code"] == "auth.required"
    assert chinese["message"] == "需要登录"
    assert english["message"] == switched["message"] == "Authentication required"


def test_pages_ignore_the_browser_language(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in page.get_data(as_text=True)


def test_the_field_app_keeps_one_catalogue_with_every_key_in_both_languages():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to read the field app's catalogue")
    script = ("import('./src/messages.js').then((m) => "
              "console.log(JSON.stringify({zh: m.MESSAGES.zh, en: m.MESSAGES.en})))")
    out = subprocess.run([node, "--input-type=module", "-e", script], cwd=ROOT / "pwa",
                         capture_output=True, text=True, check=True).stdout
    messages = json.loads(out)
    assert sorted(set(messages["zh"]) ^ set(messages["en"])) == []
    sources = [p for p in (ROOT / "pwa" / "src").rglob("*.js") if p.name != "messages.js"]
    # Other catalogues of the field app: objects of dotted keys outside messages.js.
    assert not _grep(r"\n\s+'([a-z]+\.[a-z_.]+)':\s*'", sources)
    used = _grep(r"\bt(?:q)?\('([a-z_]+\.[a-z_.\-]+)'", sources)
    assert used and sorted(used - set(messages["zh"])) == []
    assert {f"code.{c}" for c in pwa_finding_codes() - {"note"}} <= set(messages["zh"])
    for lang in ("zh", "en"):
        for key, text in messages[lang].items():
            assert not re.search(r"R\d+\b|jsqr|barcode", text), (lang, key, text)


def test_field_errors_are_catalogue_words_not_chinese_literals():
    # A service that wrote a field's problem in Chinese (errors={"deadline": ["限期整改须…"]})
    # showed Chinese beside the English switch's words; errors.field_error takes a catalogue key.
    sources = [*PY_SOURCES, *(ROOT / "schemas").rglob("*.py")]
    literal = re.compile(r'(?:errors=|ValidationError\()\s*\{[^{}]*?\[\s*f?"[^"]*[\u4e00-\u9fff]',
                         re.S)
    found = [f"{path.relative_to(ROOT)}: {m.group(0)[:80]!r}" for path in sources
             for m in literal.finditer(path.read_text(encoding="utf-8"))]
    assert found == []


def test_a_field_error_reads_in_the_language_asked(client, api, world):
    version = world.versions["a"]
    version.status = "submitted"
    from server.extensions import db

    db.session.commit()
    path = f"/api/v1/plan-versions/{version.id}/return"
    headers = api.headers("county_a")
    chinese = client.post(path, headers=headers, json={"comment": " "}).get_json()
    english = client.post(path, headers={**headers, "Accept-Language": "en"},
                          json={"comment": " "}).get_json()
    assert chinese["errors"] == {"comment": ["退回须说明原因"]}
    assert english["errors"] == {"comment": ["Say why it is returned"]}
