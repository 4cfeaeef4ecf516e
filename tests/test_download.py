"""download_esc50 against a local HTTP server (127.0.0.1 only, never the internet)."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from data_helpers import write_esc50_layout

from ast_lab.data import DownloadError, download_esc50, load_metadata

pytest_plugins = ["data_fixtures"]

N_CLIPS = 25  # 5 classes x 5 folds x 1 clip


class ArchiveServer:
    """Serves ``payload`` at /master.zip with HTTP Range support; records every request.

    ``drop_first_after``: the first response announces the whole file, sends this many bytes
    and closes the connection. ``honor_range=False`` answers every request with the whole file.
    """

    def __init__(
        self, payload: bytes, *, drop_first_after: int | None = None, honor_range: bool = True
    ) -> None:
        self.payload, self.drop_first_after = payload, drop_first_after
        self.honor_range = honor_range
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "range": self.headers.get("Range")})
                server.respond(self)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/master.zip"
        serve = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        serve.start()

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        size, start = len(self.payload), 0
        requested = handler.headers.get("Range")
        if requested and self.honor_range:
            start = int(requested.removeprefix("bytes=").rstrip("-"))
            if start >= size:
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{size}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            handler.send_response(200)
        handler.send_header("Content-Type", "application/zip")
        handler.send_header("Content-Length", str(size - start))
        handler.end_headers()
        body = self.payload[start:]
        if self.drop_first_after is not None and len(self.requests) == 1:
            body = body[: self.drop_first_after]  # then the connection closes mid-file
        handler.wfile.write(body)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def zip_dataset(folder: Path, *, skip: int = 0) -> bytes:
    """A zip of ``folder`` under ``ESC-50-master/`` as GitHub builds it (stored, so bytes are
    easy to corrupt); ``skip`` leaves out that many wavs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("ESC-50-master/README.md", b"# ESC-50 stand-in\n")
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        wavs = [p for p in files if p.suffix == ".wav"]
        for path in files:
            if path not in wavs[:skip]:
                zf.write(path, f"ESC-50-master/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def dataset_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return zip_dataset(small_layout(tmp_path_factory.mktemp("zipsrc") / "src"))


def small_layout(root: Path) -> Path:
    """N_CLIPS clips in the ESC-50 layout."""
    return write_esc50_layout(root, n_classes=5, clips_per_class_per_fold=1)


def fetch(root: Path, server: ArchiveServer, **options) -> Path:
    return download_esc50(root, url=server.url, expected_clips=N_CLIPS, progress=False, **options)


@pytest.fixture
def serve():
    servers: list[ArchiveServer] = []

    def start(payload: bytes, **options) -> ArchiveServer:
        servers.append(ArchiveServer(payload, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def leftovers(folder: Path, root: Path) -> list[str]:
    """Everything in ``folder`` except ``root`` itself: partial files, archives, staging folders."""
    return sorted(p.name for p in folder.iterdir() if p != root)


def test_downloads_verifies_and_extracts(tmp_path: Path, dataset_zip: bytes, serve) -> None:
    server = serve(dataset_zip)
    root = tmp_path / "ESC-50-master"
    digest = hashlib.sha256(dataset_zip).hexdigest()
    assert fetch(root, server, sha256=digest) == root
    assert len(list((root / "audio").glob("*.wav"))) == N_CLIPS
    assert len(load_metadata(root)) == N_CLIPS
    assert (root / "README.md").is_file()  # the archive's top folder became root
    assert leftovers(tmp_path, root) == []  # archive deleted, no .part, no staging folder
    assert server.requests == [{"path": "/master.zip", "range": None}]
    fetch(root, server)
    assert len(server.requests) == 1  # a complete dataset is not fetched again


def test_interrupted_transfer_resumes(tmp_path: Path, dataset_zip: bytes, serve) -> None:
    cut = len(dataset_zip) // 3
    server = serve(dataset_zip, drop_first_after=cut)
    root = tmp_path / "ESC-50-master"
    with pytest.raises(DownloadError, match="resume"):
        fetch(root, server)
    part = tmp_path / "ESC-50-master.zip.part"
    assert part.stat().st_size == cut
    assert not root.exists()
    fetch(root, server)
    assert server.requests[1]["range"] == f"bytes={cut}-"
    assert len(list((root / "audio").glob("*.wav"))) == N_CLIPS
    assert leftovers(tmp_path, root) == []


def test_server_ignoring_range_restarts(tmp_path: Path, dataset_zip: bytes, serve) -> None:
    server = serve(dataset_zip, honor_range=False)
    (tmp_path / "ESC-50-master.zip.part").write_bytes(b"stale bytes of another file")
    root = fetch(tmp_path / "ESC-50-master", server)
    assert server.requests[0]["range"] == "bytes=27-"
    assert len(load_metadata(root)) == N_CLIPS


def test_complete_partial_file_is_kept(tmp_path: Path, dataset_zip: bytes, serve) -> None:
    server = serve(dataset_zip)
    (tmp_path / "ESC-50-master.zip.part").write_bytes(dataset_zip)
    root = fetch(tmp_path / "ESC-50-master", server)
    assert server.requests[0]["range"] == f"bytes={len(dataset_zip)}-"  # answered 416
    assert len(load_metadata(root)) == N_CLIPS


@pytest.mark.parametrize("damage", ["flipped_bytes", "not_a_zip", "wrong_sha256"])
def test_corrupt_archive_is_refused_and_deleted(
    tmp_path: Path, dataset_zip: bytes, serve, damage: str
) -> None:
    payload, sha256 = dataset_zip, None
    if damage == "flipped_bytes":  # inside a stored member: its CRC no longer matches
        middle = len(payload) // 2
        flipped = bytes(b ^ 0xFF for b in payload[middle : middle + 64])
        payload = payload[:middle] + flipped + payload[middle + 64 :]
    elif damage == "not_a_zip":
        payload = b"<html>rate limited</html>" * 100
    else:
        sha256 = "0" * 64
    server = serve(payload)
    root = tmp_path / "ESC-50-master"
    with pytest.raises(ValueError, match="deleted") as err:
        fetch(root, server, sha256=sha256)
    assert str(tmp_path / "ESC-50-master.zip") in str(err.value)
    assert not root.exists()
    assert leftovers(tmp_path, root) == []  # bad archive removed, nothing half-extracted


@pytest.mark.parametrize(
    "member",
    ["ESC-50-master/../../evil.txt", "/etc/evil.txt", "ESC-50-master/audio/link.wav"],
    ids=["dotdot", "absolute", "symlink"],
)
def test_unsafe_members_are_refused(tmp_path: Path, serve, member: str) -> None:
    folder = small_layout(tmp_path / "src")
    info = zipfile.ZipInfo(member)
    if member.endswith("link.wav"):
        info.external_attr = 0o120777 << 16  # a symbolic link
    buffer = io.BytesIO(zip_dataset(folder))
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.writestr(info, b"/etc/passwd" if member.endswith("link.wav") else b"gotcha")
    server = serve(buffer.getvalue())
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ValueError, match="refusing"):
        fetch(work / "ESC-50-master", server)
    assert leftovers(work, work / "ESC-50-master") == [] and not (work / "ESC-50-master").exists()
    assert not list(tmp_path.rglob("evil.txt")) and not Path("/etc/evil.txt").exists()


def test_wrong_clip_count_is_refused(tmp_path: Path, serve) -> None:
    server = serve(zip_dataset(small_layout(tmp_path / "src"), skip=1))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ValueError, match=f"holds {N_CLIPS - 1} wav files"):
        fetch(work / "ESC-50-master", server)
    assert list(work.iterdir()) == []


def test_offline_error_says_how_to_place_the_data(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/master.zip"
    with pytest.raises(DownloadError) as err:
        download_esc50(tmp_path / "ESC-50-master", url=url, progress=False, timeout=5)
    message = str(err.value)
    assert "failed" in message and url in message
    assert "offline" in message and "meta/esc50.csv" in message
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_left_alone(tmp_path: Path, dataset_zip: bytes, serve) -> None:
    server = serve(dataset_zip)
    root = tmp_path / "ESC-50-master"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="move it away"):
        fetch(root, server)
    assert (root / "notes.txt").read_text() == "mine"
    assert server.requests == []
