"""Download ESC-50: resumable, size- and integrity-checked, extracted safely and atomically.

The archive (~646 MB) is streamed into ``<root>.zip.part``; an interrupted transfer keeps the
partial file, and the next call asks the server only for the missing bytes (HTTP Range). The
finished file is renamed to ``<root>.zip``, checked, extracted into a temporary folder beside
``root``, counted, and only then renamed to ``root``. The archive is deleted once extracted.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from .metadata import ESC50_CLIPS
from .paths import AUDIO_DIR, META_CSV, audio_dir, metadata_csv

ESC50_URL = "https://github.com/karolpiczak/ESC-50/archive/master.zip"
CHUNK_BYTES = 1 << 20  # read and write 1 MiB at a time
HASH_CHUNK_BYTES = 1 << 24  # hash 16 MiB at a time


class DownloadError(RuntimeError):
    """The archive could not be fetched (offline, HTTP error, transfer cut short)."""


def download_esc50(
    root: str | Path,
    *,
    url: str = ESC50_URL,
    sha256: str | None = None,
    expected_clips: int = ESC50_CLIPS,
    progress: bool = True,
    timeout: float = 60.0,  # seconds to wait for the server to answer or send more bytes
) -> Path:
    """Download and extract ESC-50 so that ``root/meta/esc50.csv`` and ``root/audio/*.wav`` exist.

    Returns ``root`` at once if it already holds the CSV and ``expected_clips`` wav files.

    Integrity: the received size must equal the server's Content-Length (or the total of its
    Content-Range). No digest is enforced by default: GitHub builds branch archives on request
    and their bytes are not guaranteed to stay the same, and the only public record found
    (sha256 ``805afc618aff80eff0641d51311647871fead5807da68bb18e43a27db47a79ce``, 645,695,005
    bytes, one project's notes) cannot be checked from here. So the archive is verified with
    ``zipfile.ZipFile.testzip()`` (the CRC-32 of every member), plus ``sha256`` when given, plus
    the extracted contents (the CSV and exactly ``expected_clips`` wavs in ``audio/``).

    Raises:
        DownloadError: the server cannot be reached or the transfer fails; a partial download
            is kept for the next call to resume.
        ValueError: the archive is corrupt, has the wrong digest, unsafe members (absolute
            paths, ``..``, links) or the wrong contents; it is deleted and nothing is extracted.
            Also when ``root`` exists, is not empty and is not a complete ESC-50.
    """
    root = Path(root)
    if _is_complete(root, expected_clips):
        return root
    if root.exists() and any(root.iterdir()):
        raise ValueError(
            f"{root} exists but does not hold {META_CSV} and {expected_clips} wav files in "
            f"{AUDIO_DIR}/; move it away (or complete it) and try again"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    archive = root.parent / f"{root.name}.zip"
    if not archive.exists():
        part = archive.with_name(archive.name + ".part")
        _fetch(url, part, progress=progress, timeout=timeout)
        part.replace(archive)
    try:
        _verify_archive(archive, sha256)
        _extract_dataset(archive, root, expected_clips)
    except ValueError as err:
        archive.unlink()
        message = f"{err} (the archive {archive} was deleted; run again to download it anew)"
        raise ValueError(message) from err
    archive.unlink()
    return root


def _is_complete(root: Path, expected_clips: int) -> bool:
    """True if ``root`` holds the metadata CSV and exactly ``expected_clips`` wav files."""
    return metadata_csv(root).is_file() and _count_wavs(audio_dir(root)) == expected_clips


def _count_wavs(folder: Path) -> int:
    """Number of .wav files in ``folder`` (0 if there is no such folder)."""
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.iterdir() if p.suffix.lower() == ".wav")


# ---------------------------------------------------------------------------- transfer


def _fetch(url: str, part: Path, *, progress: bool, timeout: float) -> None:
    """Append the missing bytes of ``url`` to ``part`` until it holds the whole file."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to send from ``offset``
            if _range_total(err.headers.get("Content-Range")) == offset:
                return  # the partial file already holds every byte
            part.unlink()
            message = f"{url}: {part} was longer than the file and is deleted; run again"
            raise DownloadError(message) from err
        status = f"HTTP {err.code} {err.reason}"
        raise DownloadError(f"downloading {url} failed: {status}{_manual_hint(url)}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"downloading {url} failed: {reason}{_manual_hint(url)}") from err
    with response:
        if response.status == 206:
            total = _range_total(response.headers.get("Content-Range"))
            start = _range_start(response.headers.get("Content-Range"))
            if start != offset:
                raise DownloadError(f"{url}: asked for bytes from {offset}, got from {start}")
        else:  # 200: the whole file (the server ignored or did not get a Range request)
            offset, length = 0, response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        _stream(response, part, offset, total, url, progress)
    received = part.stat().st_size
    if total is not None and received != total:
        raise DownloadError(
            f"{url}: received {received} of {total} bytes; {part} is kept, run again to resume"
        )


def _stream(response, part: Path, offset: int, total: int | None, url: str, progress: bool) -> None:
    """Copy the response body to ``part``, appending from ``offset``, with a progress bar."""
    with open(part, "ab" if offset else "wb") as out, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
        desc=f"downloading {PurePosixPath(url).name}", disable=not progress,
    ) as bar:
        try:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as err:
            raise DownloadError(
                f"{url}: transfer interrupted after {out.tell()} bytes ({err!r}); "
                f"{part} is kept, run again to resume"
            ) from err


def _range_total(content_range: str | None) -> int | None:
    """Total size from a Content-Range header ``bytes a-b/total`` or ``bytes */total``."""
    match = re.fullmatch(r"bytes (?:\d+-\d+|\*)/(\d+)", (content_range or "").strip())
    return int(match.group(1)) if match else None


def _range_start(content_range: str | None) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-\d+/(?:\d+|\*)", (content_range or "").strip())
    return int(match.group(1)) if match else None


def _manual_hint(url: str) -> str:
    return (
        f". If this machine is offline, download {url} elsewhere, unzip it, and point "
        "DataConfig.root (or `ast-lab ... --root`) at the unzipped ESC-50-master folder, the one "
        "that holds meta/esc50.csv and audio/*.wav"
    )


# ---------------------------------------------------------------------------- checks and extraction


def _verify_archive(archive: Path, sha256: str | None) -> None:
    """Raise ValueError unless every member's CRC matches (and the sha256, when given)."""
    if sha256 is not None:
        digest = hashlib.sha256()
        with open(archive, "rb") as f:
            while block := f.read(HASH_CHUNK_BYTES):
                digest.update(block)
        if digest.hexdigest() != sha256.lower():
            raise ValueError(f"{archive} has sha256 {digest.hexdigest()}, expected {sha256}")
    try:
        with zipfile.ZipFile(archive) as zf:
            bad_member = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise ValueError(f"{archive} is not a valid zip archive: {err}") from err
    if bad_member is not None:
        raise ValueError(f"{archive} is corrupt: member {bad_member} fails its CRC check")


def _extract_dataset(archive: Path, root: Path, expected_clips: int) -> None:
    """Extract the folder that holds meta/esc50.csv into ``root``, via a temporary folder."""
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.extract.", dir=root.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [_checked_member(info, archive) for info in zf.infolist()]
            prefix = _dataset_prefix(members, archive)
            for info in members:
                zf.extract(info, staging)
        extracted = staging / prefix
        wavs = _count_wavs(audio_dir(extracted))
        if wavs != expected_clips:
            found = f"{wavs} wav files in {prefix}{AUDIO_DIR}/"
            raise ValueError(f"{archive} holds {found}, expected {expected_clips}")
        if root.exists():
            root.rmdir()  # empty (checked by the caller)
        extracted.replace(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _checked_member(info: zipfile.ZipInfo, archive: Path) -> zipfile.ZipInfo:
    """``info`` if it extracts inside the target folder; ValueError for absolute paths, ``..``
    and symbolic links."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
        raise ValueError(f"{archive}: refusing unsafe member {name!r} (absolute path or '..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ValueError(f"{archive}: refusing symbolic link member {name!r}")
    return info


def _dataset_prefix(members: list[zipfile.ZipInfo], archive: Path) -> str:
    """The folder inside the archive that holds meta/esc50.csv (``ESC-50-master/`` on GitHub)."""
    suffix = META_CSV.as_posix()
    for info in members:
        if info.filename == suffix or info.filename.endswith("/" + suffix):
            return info.filename[: -len(suffix)]
    raise ValueError(f"{archive} holds no {suffix}")
