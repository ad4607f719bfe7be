"""The files of a backup, from its manifest, and restoring chosen paths of it.

Paths are shown as they will be restored: a member's path with `strip_components` leading parts
taken away (`data/sub/x` of our archives is `/sub/x`; the walkthrough's `dbdata/file1.txt`,
imported with strip 1, is `/file1.txt`). The manifest (`….manifest.jsonl` beside the archive,
one line per member, written when the archive was made or imported) answers every question
about what the archive holds without opening the archive itself.

Restoring chosen paths (`Selection`) extracts only those members, their parent folders (so a
folder the target lacks gets the archive's owner and mode) and the sources of hard links among
them, into a staging volume; the archive is still read whole, every member checked and its
SHA-256 verified, before anything of the target changes. Then each chosen path is put in place
(`paths_swap` here when the volumes are folders of this machine on one file system, else a
helper, `engine.archives.volume_paths_replace`): what the target held there is moved aside, the
restored copy moves in, and everything else of the target stays as it was. Any failure puts
back what was done, so a failed restore leaves the target as it was."""
from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
from pathlib import Path

from dockerweb.core.errors import BadRequest, Conflict, NotFound

from . import store
from .models import Backup

log = logging.getLogger(__name__)
MAX_PATHS = 1000
_ROOT = os.geteuid() == 0
ENTRY_TYPES = ("file", "dir", "symlink", "hardlink", "fifo", "socket", "device", "other")


def shown(parts) -> str:
    return "/" + "/".join(parts)


def display(text: str) -> str:
    """A name for JSON and pages: bytes that were not UTF-8 (surrogate escapes) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def path_parts(path: str | None, *, field: str = "path") -> tuple[str, ...]:
    """The components of a path as shown; `..` and NUL refused (400 on `field`)."""
    from dockerweb.volumes.files import path_parts as parts_of

    return parts_of(path, field=field)


def member_parts(member: str, strip: int) -> tuple[str, ...] | None:
    """The shown components of archive member `member` once `strip` leading parts are taken
    away; () for the root folder itself (or a member above it); None for a member a restore
    refuses anyway (`..`)."""
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return tuple(parts[strip:])


def manifest_lines(backup: Backup):
    """The manifest's entries, in archive order. NotFound when the backup has none."""
    if not backup.manifest_path:
        raise NotFound(f"Backup {backup.pk} has no archive (yet), so no files to show.")
    path = store.store_path(backup.manifest_path)
    try:
        f = open(path, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise NotFound(f"The manifest of backup {backup.pk} is missing from the archive store.") from None
    with f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a damaged line hides one member, not the archive


def _entry(name: str, e: dict, strip: int) -> dict:
    kind = e.get("type") if e.get("type") in ENTRY_TYPES else "other"
    link = e.get("link")
    if kind == "hardlink" and link is not None:
        target = member_parts(link, strip)
        link = shown(target) if target else link
    return {"name": display(name), "type": kind, "size": int(e.get("size") or 0) if kind == "file" else 0,
            "mode": e.get("mode"), "uid": e.get("uid"), "gid": e.get("gid"), "mtime": e.get("mtime"),
            "link_target": display(link) if link is not None else None}


def _implied(name: str) -> dict:
    """A folder the archive has no member for, only members inside it: nothing more is known."""
    return {"name": display(name), "type": "dir", "size": 0, "mode": None, "uid": None, "gid": None, "mtime": None,
            "link_target": None}


def backup_folder_list(backup: Backup, parts: tuple[str, ...], *, limit: int) -> tuple[list[dict], bool]:
    """The entries of folder `parts` of the archive (as it would be restored, with the backup's
    `strip_components`), and whether there were more than `limit`. A later member of the same
    path wins, as it does when the archive is extracted."""
    strip = backup.strip_components
    depth = len(parts)
    children: dict[str, dict] = {}
    seen = not parts
    itself = None
    truncated = False
    for e in manifest_lines(backup):
        sp = member_parts(str(e.get("path", "")), strip)
        if sp is None or len(sp) < depth or sp[:depth] != parts:
            continue
        seen = True
        if len(sp) == depth:
            itself = e
            continue
        name = sp[depth]
        if name not in children and len(children) >= limit:
            truncated = True
            continue
        if len(sp) == depth + 1:
            children[name] = _entry(name, e, strip)
        elif name not in children:
            children[name] = _implied(name)
    if not seen:
        raise NotFound(f"Backup {backup.pk}'s archive has no {shown(parts)}.", field="path")
    if itself is not None and itself.get("type") != "dir" and not children:
        raise BadRequest(f"{shown(parts)} is not a folder in backup {backup.pk}'s archive.", field="path")
    return sorted(children.values(), key=lambda x: (x["type"] != "dir", x["name"])), truncated


class Selection:
    """The chosen paths of a restore (none inside another), and which archive members restoring
    them takes: the paths and everything under them, their parent folders, and the sources of
    hard links among them that lie elsewhere (`extras`, extracted to staging only)."""

    def __init__(self, paths: list[tuple[str, ...]], extras: set[tuple[str, ...]] = frozenset()):
        self.paths = paths
        self._chosen = set(paths)
        self._ancestors = {p[:i] for p in paths for i in range(1, len(p))}
        self.extras = set(extras)

    @property
    def shown(self) -> list[str]:
        return [shown(p) for p in self.paths]

    @property
    def relative(self) -> list[str]:
        return ["/".join(p) for p in self.paths]

    def covers(self, parts: tuple[str, ...]) -> bool:
        """Whether `parts` is a chosen path or lies under one."""
        return any(parts[:i] in self._chosen for i in range(1, len(parts) + 1))

    def keeps(self, name: str) -> bool:
        """`backups.reader.member_check`'s `select`: whether the (stripped) member is extracted."""
        parts = tuple(name.split("/"))
        return parts in self._ancestors or parts in self.extras or self.covers(parts)


def paths_chosen(paths: list[str] | None) -> list[tuple[str, ...]] | None:
    """The chosen paths (as shown) as parts: in the order given, once each, none inside
    another; None when nothing is chosen, or `/` is (the whole of it). 400 on `paths`."""
    if not paths:
        return None
    if len(paths) > MAX_PATHS:
        raise BadRequest(f"Choose at most {MAX_PATHS} paths, or restore the whole of it.", field="paths")
    chosen = [path_parts(p, field="paths") for p in paths]
    if any(not p for p in chosen):
        return None
    given = set(chosen)
    kept: list[tuple[str, ...]] = []
    for p in chosen:
        if p not in kept and not any(p[:i] in given for i in range(1, len(p))):
            kept.append(p)
    return kept


def selection_check(backup: Backup, paths: list[str] | None, *, strip: int) -> Selection | None:
    """The Selection of `paths` (as shown, with strip `strip`), checked against the backup's
    manifest before any job starts: each must be in the archive (400 on `paths` otherwise).
    None when nothing is chosen, or `/` is (the whole archive)."""
    kept = paths_chosen(paths)
    if kept is None:
        return None
    selection = Selection(kept)
    found: set[tuple[str, ...]] = set()
    extras: set[tuple[str, ...]] = set()
    try:
        entries = list(manifest_lines(backup))
    except NotFound as exc:  # the backup exists; what is missing is the list its paths are chosen from
        raise Conflict(f"{exc.message} Restore the whole archive instead.", field="paths") from None
    for e in entries:
        sp = member_parts(str(e.get("path", "")), strip)
        if not sp:
            continue
        for i in range(1, len(sp) + 1):
            if sp[:i] in selection._chosen:
                found.add(sp[:i])
                if e.get("type") == "hardlink" and e.get("link"):
                    source = member_parts(str(e["link"]), strip)
                    if source and not selection.covers(source):
                        extras.add(source)
                break
    missing = [p for p in kept if p not in found]
    if missing:
        names = ", ".join(shown(p) for p in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise BadRequest(f"Not in backup {backup.pk}'s archive (as restored with strip_components={strip}): {names}.",
                         field="paths")
    return Selection(kept, extras)


# --- in place -----------------------------------------------------------------------------------

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(fd: int, part: str, at: str) -> int:
    try:
        return os.open(part, _DIR, dir_fd=fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise BadRequest(f"The target's {at} is a symbolic link or not a folder; nothing is written through it; "
                             "the volume was left as it was.") from None
        raise Conflict(f"The target's {at} cannot be opened: {exc.strerror}.") from None


def _walk(root: int, parts: tuple[str, ...]) -> int:
    """A descriptor of folder `parts` under `root`, opened step by step without following links."""
    fd = os.dup(root)
    try:
        for i, part in enumerate(parts):
            nxt = _open_dir(fd, part, shown(parts[: i + 1]))
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lexists(name: str, fd: int) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def existing(target: Path, paths: list[tuple[str, ...]]) -> list[str]:
    """Which of `paths` folder `target` (a volume of this machine) already holds, as shown. A
    parent on the way that is a link or no folder is refused (BadRequest): nothing is ever
    written through it."""
    root = os.open(target, _DIR)
    found = []
    try:
        for parts in paths:
            try:
                fd = _walk(root, parts[:-1])
            except FileNotFoundError:
                continue
            try:
                if _lexists(parts[-1], fd):
                    found.append(shown(parts))
            finally:
                os.close(fd)
    finally:
        os.close(root)
    return found


def paths_swap(target: Path, staging: Path, paths: list[tuple[str, ...]]) -> None:
    """Make each of `paths` in folder `target` what it is in folder `staging` (one file system,
    both volumes of this machine), keeping everything else of `target`. By renames through
    descriptors, never through a link: a missing parent folder is made with the owner, mode and
    time of its restored copy; what `target` held at a path moves aside into `staging` (which
    goes away with the job). All or nothing: any failure puts back what was done."""
    os.sync()  # the restored files reach the disk before the old ones are let go
    t_root = os.open(target, _DIR)
    s_root = os.open(staging, _DIR)
    trash_name = f".dockerweb-replaced-{os.getpid()}-{threading.get_ident()}"
    os.mkdir(trash_name, 0o700, dir_fd=s_root)
    trash = os.open(trash_name, _DIR, dir_fd=s_root)
    done: list[tuple[tuple[str, ...], bool, int | None, int]] = []  # (path, had an old one, first made depth, n)
    try:
        try:
            for n, parts in enumerate(paths):
                t_fd, s_fd = os.dup(t_root), os.dup(s_root)
                made_at = None
                try:
                    for depth, part in enumerate(parts[:-1], 1):
                        s_next = _open_dir(s_fd, part, shown(parts[:depth]))
                        os.close(s_fd)
                        s_fd = s_next
                        try:
                            t_next = _open_dir(t_fd, part, shown(parts[:depth]))
                        except FileNotFoundError:
                            like = os.fstat(s_fd)
                            os.mkdir(part, 0o700, dir_fd=t_fd)
                            t_next = _open_dir(t_fd, part, shown(parts[:depth]))
                            made_at = made_at or depth
                            try:
                                os.fchown(t_next, like.st_uid, like.st_gid)
                            except PermissionError:
                                if _ROOT:
                                    raise
                            os.fchmod(t_next, stat.S_IMODE(like.st_mode))
                            os.utime(t_next, ns=(like.st_atime_ns, like.st_mtime_ns))
                        os.close(t_fd)
                        t_fd = t_next
                    leaf = parts[-1]
                    had = _lexists(leaf, t_fd)
                    if had:
                        os.rename(leaf, str(n), src_dir_fd=t_fd, dst_dir_fd=trash)
                    try:
                        os.rename(leaf, leaf, src_dir_fd=s_fd, dst_dir_fd=t_fd)
                    except BaseException:
                        if had:
                            os.rename(str(n), leaf, src_dir_fd=trash, dst_dir_fd=t_fd)
                        raise
                    done.append((parts, had, made_at, n))
                except BaseException:
                    if made_at is not None:
                        _remove_made(t_root, parts, made_at)
                    raise
                finally:
                    os.close(t_fd)
                    os.close(s_fd)
        except BaseException:
            for parts, had, made_at, n in reversed(done):
                try:
                    _undo(t_root, s_root, trash, parts, had, made_at, n)
                except Exception:  # keep putting back the others; the job's error says it failed
                    log.exception("putting back %s failed", shown(parts))
            raise
        store.fsync_dir(target)
    except OSError as exc:
        raise Conflict(f"Putting the restored paths into the volume failed ({exc.strerror or exc}); the volume was "
                       "left as it was.") from exc
    finally:
        os.close(trash)
        os.close(s_root)
        os.close(t_root)


def _remove_made(t_root: int, parts: tuple[str, ...], made_at: int) -> None:
    """Remove the (empty) parent folders made for `parts`, from the deepest up to `made_at`."""
    for depth in range(len(parts) - 1, made_at - 1, -1):
        try:
            fd = _walk(t_root, parts[: depth - 1])
        except (FileNotFoundError, BadRequest, Conflict):
            continue
        try:
            os.rmdir(parts[depth - 1], dir_fd=fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _undo(t_root: int, s_root: int, trash: int, parts, had: bool, made_at: int | None, n: int) -> None:
    t_fd = _walk(t_root, parts[:-1])
    s_fd = _walk(s_root, parts[:-1])
    try:
        os.rename(parts[-1], parts[-1], src_dir_fd=t_fd, dst_dir_fd=s_fd)
        if had:
            os.rename(str(n), parts[-1], src_dir_fd=trash, dst_dir_fd=t_fd)
    finally:
        os.close(t_fd)
        os.close(s_fd)
    if made_at is not None:
        _remove_made(t_root, parts, made_at)
