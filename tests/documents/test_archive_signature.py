"""Archives prove themselves: the manifest is signed by the server (Ed25519) and lists every
visit's seal; `archive verify` checks the signature, every file hash and every seal, so an edit
with a recomputed manifest fails, and so does a re-signed edit of a sealed payload."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from server.services.documents.archive import (
    MANIFEST,
    SIGNATURE,
    archive_key,
    archive_problems,
    build_archive,
)
from sync.canonical import canonical_json
from tests.documents.support import make_visit

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def _build(world, tmp_path) -> tuple[Path, dict, object]:
    visit = make_visit(world, "a")
    path = tmp_path / "archive.zip"
    manifest = build_archive(world.bases["a"], world.classes["a"].start_date.year, path, now=NOW)
    return path, manifest, visit


def _forge(src: Path, dst: Path, visit_id, sign_with=None) -> None:
    """Change the visit's verdict, recompute its hash and the manifest; sign with a key if given."""
    with zipfile.ZipFile(src) as zin:
        files = {info.filename: zin.read(info.filename) for info in zin.infolist()}
    manifest = json.loads(files[MANIFEST])
    name = next(n for n in manifest["files"] if n.endswith(f"visits/{visit_id}.json"))
    record = json.loads(files[name])
    verdict = record["payload"].get("verdict")
    record["payload"]["verdict"] = "compliant" if verdict != "compliant" else "issues"
    files[name] = json.dumps(record, ensure_ascii=False).encode()
    manifest["files"][name] = {"sha256": hashlib.sha256(files[name]).hexdigest(),
                               "size": len(files[name])}
    manifest["files_sha256"] = hashlib.sha256(canonical_json(manifest["files"])).hexdigest()
    files[MANIFEST] = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    if sign_with is not None:
        files[SIGNATURE] = base64.b64encode(sign_with.sign(files[MANIFEST]))
    with zipfile.ZipFile(dst, "w") as zout:
        for filename, data in files.items():
            zout.writestr(filename, data)


def test_a_fresh_archive_verifies_signature_hashes_and_seals(world, tmp_path):
    path, manifest, visit = _build(world, tmp_path)
    assert archive_problems(path) == []
    assert list(manifest["seals"].values()) == [visit.seal]


def test_an_edit_with_a_recomputed_manifest_fails_the_signature(world, tmp_path):
    path, _, visit = _build(world, tmp_path)
    forged = tmp_path / "forged.zip"
    _forge(path, forged, visit.id)
    problems = dict(archive_problems(forged))
    assert SIGNATURE in problems and "does not verify" in problems[SIGNATURE]


def test_a_re_signed_edit_of_a_sealed_payload_fails_its_seal(world, tmp_path):
    path, _, visit = _build(world, tmp_path)
    forged = tmp_path / "forged.zip"
    _forge(path, forged, visit.id, sign_with=archive_key())
    problems = archive_problems(forged)
    assert len(problems) == 1 and problems[0][1].startswith("seal mismatch")


def test_another_key_does_not_verify_and_an_unsigned_archive_fails(world, tmp_path):
    path, _, _ = _build(world, tmp_path)
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    assert [name for name, _ in archive_problems(path, other)] == [SIGNATURE]
    unsigned = tmp_path / "unsigned.zip"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(unsigned, "w") as zout:
        for info in zin.infolist():
            if info.filename != SIGNATURE:
                zout.writestr(info, zin.read(info.filename))
    assert archive_problems(unsigned) == [(SIGNATURE, "missing: the manifest is not signed")]


def test_archive_key_prints_the_public_key_and_verify_uses_it(world, runner, tmp_path):
    path, _, _ = _build(world, tmp_path)
    result = runner.invoke(args=["archive", "key"])
    assert result.exit_code == 0 and result.output.startswith("-----BEGIN PUBLIC KEY-----")
    key = tmp_path / "key.pem"
    key.write_text(result.output)
    ok = runner.invoke(args=["archive", "verify", str(path), "--key", str(key)])
    assert ok.exit_code == 0, ok.output
    forged = tmp_path / "forged.zip"
    _forge(path, forged, _latest_visit(path))
    bad = runner.invoke(args=["archive", "verify", str(forged), "--key", str(key)])
    assert bad.exit_code == 1 and SIGNATURE in bad.output


def _latest_visit(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read(MANIFEST))
    name = next(iter(manifest["seals"]))
    return name.rsplit("/", 1)[1].removesuffix(".json")
