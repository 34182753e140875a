"""The yearly archive under load: one base's year with >= 500 MB of media, streamed over HTTP.

Seeds a fresh instance with the demo data (`flask demo load`), adds MEDIA_MB of video-sized
files (random bytes, so nothing compresses) as the files of a base's answer to a rectification
of one visit of the demo base (the archive carries them as media, the PDF does not draw them),
starts the app under
gunicorn (one worker, one thread, so the worker is the one process that builds the ZIP), logs in
as the city reviewer and downloads `GET /documents/bases/<id>/<year>/archive.zip`, reading the
answer in 1 MB pieces and throwing them away. Reports the worker's peak resident memory (VmHWM
from /proc, before and after the download), the bytes and the MB/s, and checks the ZIP's
manifest lists every added file. It never asserts a time.

    .venv/bin/python bench/bench_archive.py [--media-mb 520] [--file-mb 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, VENV_BIN, free_port, fresh_instance  # noqa: E402

DEMO_PASSWORD = "spotcheck2026"


def flask(instance, *args: str) -> str:
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT,
                          env=instance.env(), check=True, capture_output=True, text=True).stdout


def add_media(instance, total_mb: int, file_mb: int) -> tuple[str, int, list[str]]:
    """Store random files as a demo visit's photos; return (base id, year, their hashes)."""
    code = f"""
import json, os, hashlib, sys
from server import create_app
from server.extensions import db
from server.models import Media, Rectification, TrainingBase, TrainingClass, User, Visit
app = create_app()
shas = []
with app.app_context():
    base = db.session.get(TrainingBase, db.session.get(User, db.session.execute(
        db.select(User.id).where(User.username == 'base')).scalar_one()).base_id)
    visit = db.session.execute(
        db.select(Visit).join(TrainingClass, Visit.class_id == TrainingClass.id)
        .where(TrainingClass.base_id == base.id).order_by(Visit.started_at)).scalars().first()
    root = app.config['MEDIA_DIR']
    for i in range({total_mb} // {file_mb} + 1):
        data = os.urandom({file_mb} * 1000 * 1000)
        sha = hashlib.sha256(data).hexdigest()
        os.makedirs(os.path.join(root, sha[:2]), exist_ok=True)
        with open(os.path.join(root, sha[:2], sha), 'wb') as fh:
            fh.write(data)
        db.session.add(Media(sha256=sha, mime='video/mp4', size=len(data)))
        shas.append(sha)
    city = db.session.execute(db.select(User).where(User.username == 'city')).scalar_one()
    db.session.add(Rectification(visit_id=visit.id, base_id=base.id, sanction='deadline',
        order_text='bench', status='answered', response_text='videos',
        response_media=[{{'sha256': s, 'mime': 'video/mp4'}} for s in shas], created_by_id=city.id))
    db.session.commit()
    print(json.dumps({{'base_id': str(base.id), 'year': visit.training_class.start_date.year,
                      'shas': shas}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=instance.env(), check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["base_id"], data["year"], data["shas"]


def vm_hwm_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--media-mb", type=int, default=520)
    parser.add_argument("--file-mb", type=int, default=10)
    args = parser.parse_args()
    with fresh_instance() as instance:
        flask(instance, "db", "upgrade")
        flask(instance, "demo", "load")
        base_id, year, shas = add_media(instance, args.media_mb, args.file_mb)
        media_bytes = sum((instance.media_dir / s[:2] / s).stat().st_size for s in shas)
        port = free_port()
        log = open(instance.root / "gunicorn.log", "wb")
        server = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "1", "--timeout", "600",
             "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=instance.env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            for _ in range(200):
                try:
                    page = session.get(base + "/login", timeout=120).text
                    break
                except (requests.ConnectionError, requests.Timeout):
                    time.sleep(0.1)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            session.post(base + "/login", data={"csrf_token": csrf, "username": "city",
                                                "password": DEMO_PASSWORD}, timeout=30)
            session.get(base + "/bureau/", timeout=60)  # warm the worker: imports, templates
            worker = worker_pid(server.pid)
            before = vm_hwm_kb(worker)
            out = instance.root / "archive.zip"
            digest, size = hashlib.sha256(), 0
            started = time.perf_counter()
            with session.get(f"{base}/documents/bases/{base_id}/{year}/archive.zip", stream=True,
                             timeout=600) as response:
                response.raise_for_status()
                with open(out, "wb") as fh:
                    for piece in response.iter_content(1 << 20):
                        digest.update(piece)
                        size += len(piece)
                        fh.write(piece)
            seconds = time.perf_counter() - started
            after = vm_hwm_kb(worker)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        with zipfile.ZipFile(out) as zf:
            manifest = json.loads(zf.read("manifest.json"))
        listed = {n.split("/")[1].split(".")[0] for n in manifest["files"]
                  if n.startswith("media/")}
        assert set(shas) <= listed, "the archive is missing added media"
        figures = {
            "media_files": len(shas), "media_mb": round(media_bytes / 1e6, 1),
            "zip_mb": round(size / 1e6, 1), "seconds": round(seconds, 2),
            "mb_per_s": round(size / 1e6 / seconds, 1),
            "worker_peak_rss_mb_before": round(before / 1024, 1),
            "worker_peak_rss_mb_after": round(after / 1024, 1),
            "manifest_files": len(manifest["files"]),
        }
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
