"""Extraction of checked archive members into a folder of this machine, by descriptor.

Every folder on the way to a member is opened relative to its parent's descriptor with
O_NOFOLLOW, starting from the target folder itself, and every file is created with O_EXCL and
O_NOFOLLOW: a symbolic link already on disk (say one a container planted before the restore
began) is never followed, so nothing can be written outside the target, whatever is on disk
and whatever the archive says. A member whose path meets such a link is refused.

Owners are kept by number, modes (with setuid/setgid bits) and the file-capability attribute
too, like `tar --same-owner --numeric-owner --preserve-permissions --xattrs`; folders get their
owner, mode and time after everything inside them was written (as GNU tar delays them)."""
from __future__ import annotations

import errno
import os
import stat
import tarfile
import time
from pathlib import Path

from dockerweb.core.errors import BadRequest, Conflict

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
BATCH = 1 << 20
_ROOT = os.geteuid() == 0


class _Folders:
    """Open folders under the target by descriptor. Keeps the last one open: members of an
    archive come folder by folder."""

    def __init__(self, root: Path):
        self.root = os.open(root, _DIR_FLAGS)
        self.key: tuple[str, ...] | None = None
        self.fd = -1

    def open(self, parts: tuple[str, ...], *, create: bool) -> int:
        """The descriptor of folder `parts` (owned by this object; do not close it)."""
        if parts == self.key:
            return self.fd
        fd = os.dup(self.root)
        try:
            for i, part in enumerate(parts):
                fd = self._step(fd, part, create=create, where="/".join(parts[: i + 1]))
        except BaseException:
            os.close(fd)
            raise
        self.close_cached()
        self.key, self.fd = parts, fd
        return fd

    @staticmethod
    def _step(fd: int, part: str, *, create: bool, where: str) -> int:
        if part in ("", ".", ".."):
            raise BadRequest(f"The archive path {where!r} is refused.")
        try:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            nxt = _open_dir(fd, part, where)
        except OSError as exc:
            raise _not_a_folder(where, exc) from None
        os.close(fd)
        return nxt

    def close_cached(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.key, self.fd = None, -1

    def close(self) -> None:
        self.close_cached()
        os.close(self.root)


def _open_dir(fd: int, part: str, where: str) -> int:
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        raise _not_a_folder(where, exc) from None


def _not_a_folder(where: str, exc: OSError) -> BadRequest:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return BadRequest(f"The archive writes under {where!r}, which is a symbolic link or not a folder on disk; "
                          "nothing is written through it.")
    return BadRequest(f"The folder {where!r} cannot be opened: {exc.strerror}.")


def _clear(fd: int, name: str, where: str) -> None:
    """Make room for a new non-folder entry `name`: an old file or link goes (never followed);
    a folder in the way is an error, as with tar."""
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise BadRequest(f"The archive member {where!r} is a file where a folder already is.")
    os.unlink(name, dir_fd=fd)


def _owner(fd: int, uid: int, gid: int) -> None:
    try:
        os.fchown(fd, uid, gid)
    except PermissionError:
        if _ROOT:
            raise


def _attributes(fd: int, m: tarfile.TarInfo) -> None:
    """Owner first (a change of owner clears setuid bits and capabilities), then mode,
    capabilities and times."""
    _owner(fd, m.uid, m.gid)
    os.fchmod(fd, m.mode & 0o7777)
    for key, value in (m.pax_headers or {}).items():
        if key == "SCHILY.xattr.security.capability":
            try:
                os.setxattr(fd, "security.capability", value.encode("utf-8", "surrogateescape"))
            except OSError:
                if _ROOT:
                    raise
    mtime = int(m.mtime * 1e9)
    os.utime(fd, ns=(time.time_ns(), mtime))


def _write_all(fd: int, pieces) -> None:
    batch, size = [], 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= BATCH or len(batch) >= 512:
            _writev_all(fd, batch)
            batch, size = [], 0
    _writev_all(fd, batch)


def _writev_all(fd: int, bufs: list) -> None:
    while bufs:
        n = os.writev(fd, bufs)
        while bufs and n >= len(bufs[0]):
            n -= len(bufs[0])
            bufs.pop(0)
        if bufs and n:
            bufs[0] = memoryview(bufs[0])[n:]


def tree_extract(members, root: Path) -> None:
    """Write the `(TarInfo, pieces)` of `backups.reader.member_check` into folder `root`.

    `root` should be a folder no container uses (a staging volume, or the volume a restore just
    created); even so, nothing already on disk is followed. Raises BadRequest for a member that
    cannot be placed safely and Conflict when the disk refuses (full, read-only)."""
    folders = _Folders(root)
    delayed: list[tuple[tuple[str, ...], tarfile.TarInfo]] = []
    try:
        try:
            for m, pieces in members:
                parts = tuple(m.name.rstrip("/").split("/"))
                parent, leaf = parts[:-1], parts[-1]
                if leaf in ("", ".", ".."):
                    raise BadRequest(f"The archive path {m.name!r} is refused.")
                fd = folders.open(parent, create=True)
                if m.isdir():
                    try:
                        os.mkdir(leaf, 0o700, dir_fd=fd)
                    except FileExistsError:
                        st = os.stat(leaf, dir_fd=fd, follow_symlinks=False)
                        if not stat.S_ISDIR(st.st_mode):
                            os.unlink(leaf, dir_fd=fd)
                            os.mkdir(leaf, 0o700, dir_fd=fd)
                    delayed.append((parts, m))
                elif m.isreg():
                    _clear(fd, leaf, m.name)
                    out = os.open(leaf, _NEW_FILE, 0o600, dir_fd=fd)
                    try:
                        _write_all(out, pieces)
                        _attributes(out, m)
                    finally:
                        os.close(out)
                elif m.issym():
                    _clear(fd, leaf, m.name)
                    os.symlink(m.linkname, leaf, dir_fd=fd)
                    try:
                        os.chown(leaf, m.uid, m.gid, dir_fd=fd, follow_symlinks=False)
                    except PermissionError:
                        if _ROOT:
                            raise
                    os.utime(leaf, ns=(time.time_ns(), int(m.mtime * 1e9)), dir_fd=fd, follow_symlinks=False)
                elif m.islnk():
                    source = tuple(m.linkname.split("/"))
                    # Both ends by descriptor: the source folder is opened the same careful way.
                    src = os.dup(folders.open(source[:-1], create=False))
                    try:
                        fd = folders.open(parent, create=True)
                        _clear(fd, leaf, m.name)
                        os.link(source[-1], leaf, src_dir_fd=src, dst_dir_fd=fd, follow_symlinks=False)
                    finally:
                        os.close(src)
                elif m.isfifo():
                    _clear(fd, leaf, m.name)
                    os.mkfifo(leaf, 0o600, dir_fd=fd)
                    out = os.open(leaf, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                    try:
                        _attributes(out, m)
                    finally:
                        os.close(out)
                else:
                    raise BadRequest(f"The archive member {m.name!r} is refused: unsupported type.")
            # Folders last, deepest first: their times would change as their content was written,
            # and a read-only folder must not stop what goes inside it.
            for parts, m in reversed(delayed):
                try:
                    fd = folders.open(parts, create=False)
                except (BadRequest, FileNotFoundError):
                    continue  # replaced by a later member of the archive
                _attributes(fd, m)
                folders.close_cached()
        except FileNotFoundError as exc:
            raise BadRequest(f"The archive refers to {exc.filename or 'a path'} before it exists.") from exc
        except (BadRequest, Conflict):
            raise
        except OSError as exc:
            raise Conflict(f"Extracting the archive failed: {exc.strerror or exc}.") from exc
    finally:
        folders.close()
