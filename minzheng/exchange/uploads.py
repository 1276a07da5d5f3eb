"""Receiving a delivery through the upload page: streamed to disk as it arrives, never held whole in memory (Django
keeps uploads under 2.5 MB in memory by default), into the data folder's incoming/ — where the worker reads it and
from where it is renamed, not copied — under a name keeping the original extension, and no further than the file
size limit: past it, the rest of the file is read and discarded, and the view refuses the delivery."""

import tempfile

from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, TemporaryFileUploadHandler

from . import limits
from .files import incoming_dir
from .jobs import safe_suffix


class IncomingUpload(TemporaryUploadedFile):
    """A TemporaryUploadedFile in incoming/ rather than the system's temporary folder (same file system as the data
    folder, so queuing it is a rename)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        folder = incoming_dir()
        folder.mkdir(parents=True, exist_ok=True)
        file = tempfile.NamedTemporaryFile(suffix=".upload" + safe_suffix(name), dir=folder)  # noqa: SIM115 - kept open
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class DeliveryUploadHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file to an `IncomingUpload`; a file past IMPORT_MAX_FILE_BYTES is dropped (its part of
    the body is drained, not stored) and its size so far noted on the request as `delivery_too_large`."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = limits.current().file_bytes
        self.received = 0

    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.received = 0
        self.file = IncomingUpload(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                self.request.delivery_too_large = self.received
            self.file.close()  # removes the partial file
            raise SkipFile
        self.file.write(raw_data)
