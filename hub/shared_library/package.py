"""A shared item as a package one center hands another: a zip with a manifest and checksums.

``manifest.json`` holds the format, the item's description and every file's path,
SHA-256 and size; the files lie under ``files/``. An imported package is untrusted: it is
unpacked by the exchange's own checks (:func:`grading.exchange.archive.unpack`: paths
that climb out, links, zip bombs, broken notebooks), then the manifest must describe
exactly the files present, each with its checksum, and a description that would pass
the publish form. Any problem refuses the whole package before anything is stored.
"""

from __future__ import annotations

import hashlib
import json

from grading.exchange.archive import ArchiveLimits, pack, unpack
from grading.exchange.errors import ExchangeRefused
from hub.shared_library.metadata import ItemDescription, LibraryProblem, check_files, describe
from hub.shared_library.models import Shelf

FORMAT = "aiclass-shared-item"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES = "files/"


def export_package(description: ItemDescription, version: int,
                   files: dict[str, bytes]) -> bytes:
    """The package of one version of an item (same bytes for the same content)."""
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
                "item": description.as_manifest(),
                "files": [{"path": path, "sha256": hashlib.sha256(data).hexdigest(),
                           "size": len(data)} for path, data in sorted(files.items())]}
    body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    return pack({MANIFEST: body, **{FILES + path: data for path, data in files.items()}})


def _refuse(zh: str, en: str) -> LibraryProblem:
    return LibraryProblem("package", zh, en)


def import_package(data: bytes, limits: ArchiveLimits) -> tuple[ItemDescription,
                                                                 dict[str, bytes]]:
    """The description (for the region's shelf) and files of a checked package."""
    try:
        members = unpack(data, limits, notebooks_required=False)
    except ExchangeRefused as refused:
        raise _refuse(refused.zh, refused.en) from None
    try:
        manifest = json.loads(members.pop(MANIFEST).decode("utf-8"))
    except KeyError:
        raise _refuse("资源包中没有 manifest.json", "the package has no manifest.json") from None
    except (UnicodeDecodeError, ValueError):
        raise _refuse("manifest.json 不是有效的 JSON", "manifest.json is not valid JSON") \
            from None
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT
            or manifest.get("format_version") != FORMAT_VERSION
            or not isinstance(manifest.get("item"), dict)
            or not isinstance(manifest.get("files"), list)):
        raise _refuse(f"manifest.json 不是 {FORMAT} 第 {FORMAT_VERSION} 版格式",
                      f"manifest.json is not {FORMAT} format version {FORMAT_VERSION}")
    stray = sorted(path for path in members if not path.startswith(FILES))
    if stray:
        raise _refuse(f"资源包中有清单外的文件：{stray[0]}",
                      f"the package holds a file outside files/: {stray[0]}")
    files = {path[len(FILES):]: content for path, content in members.items()}
    listed: dict[str, dict] = {}
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise _refuse("manifest.json 的文件清单有误", "manifest.json lists a bad file entry")
        listed[entry["path"]] = entry
    if set(listed) != set(files):
        missing = sorted(set(listed) ^ set(files))[0]
        raise _refuse(f"清单与文件不符：{missing}",
                      f"the manifest and the files disagree: {missing}")
    for path, entry in listed.items():
        if (entry.get("sha256") != hashlib.sha256(files[path]).hexdigest()
                or entry.get("size") != len(files[path])):
            raise _refuse(f"校验和不符：{path}", f"checksum mismatch: {path}")
    description = describe({**manifest["item"], "shelf": Shelf.REGION})
    return description, check_files(files, limits.max_total_bytes)
