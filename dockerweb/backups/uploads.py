"""Uploads stream to a file of the archive store, within a size limit.

Every file uploaded to dockerweb is an archive to import, so this is the site's one upload
handler (settings.FILE_UPLOAD_HANDLERS): chunks go straight to a temporary file beside the
archive store (never into memory, never to another disk), which the import then renames into
place; an upload beyond `settings.IMPORT_MAX_BYTES` is stopped — as soon as its declared length
says so, or when it passes the limit — and the request is marked, so the view answers 413 with
a sentence instead of "no file"."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

REFUSED = "dockerweb_upload_refused"


def upload_refused(request) -> str | None:
    """The sentence saying why the request's upload was stopped, if it was."""
    return getattr(request, REFUSED, None)


class ArchiveUploadHandler(TemporaryFileUploadHandler):
    def _refuse(self) -> None:
        setattr(self.request, REFUSED, f"The upload is larger than the limit of {settings.IMPORT_MAX_BYTES} bytes "
                                       "(DOCKERWEB_IMPORT_MAX_BYTES); nothing was kept.")

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        self.received = 0
        if content_length and content_length > settings.IMPORT_MAX_BYTES + 64 * 1024:
            # Known too large before a byte is parsed: answer "handled", with nothing in it.
            self._refuse()
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.IMPORT_MAX_BYTES:
            self.file.close()  # removes the temporary file
            self._refuse()
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)

