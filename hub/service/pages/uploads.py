"""Pages that take a file in a form: the caller is authorised before the body is read.

Tornado reads and parses a whole request body before ``prepare`` unless the handler
streams it; these handlers stream, so :meth:`FormUploadHandler.prepare` runs when the
headers have arrived: the caller is signed in, :meth:`authorise_upload` says whether
they may upload here at all (a student posting to the teacher's library upload is
refused before a byte is kept), and the body is capped per page (``max_upload_bytes``).
A refused body is read and dropped as it arrives, and the refusal answered after it:
a service that answers and hangs up mid-body makes the hub's proxy answer 503
instead. The form is parsed only when allowed. Because the body has not been read
when Tornado checks XSRF, these forms carry ``_xsrf`` in their action URL as well.
"""

from __future__ import annotations

from tornado import httputil, web

from hub.service.pages.base import Forbidden, PageHandler


@web.stream_request_body
class FormUploadHandler(PageHandler):
    """A page whose POST carries a (multipart) form with a file, read only once allowed."""

    _xsrf_refusal: web.HTTPError | None = None

    def check_xsrf_cookie(self) -> None:
        """A POST without the form's ``_xsrf`` is refused as any other refusal here: after
        its body has been read and dropped. Tornado checks before the body arrives, and
        answering then hangs up mid-body, which made the proxy answer 503 to the next
        request on that connection, someone else's."""
        try:
            super().check_xsrf_cookie()
        except web.HTTPError as refusal:
            self._xsrf_refusal = refusal

    def max_upload_bytes(self) -> int:
        """The largest body this page accepts; a larger one is cut off unread."""
        raise NotImplementedError

    def authorise_upload(self) -> None:
        """Refuse (:class:`~hub.service.pages.base.Forbidden`) unless the caller may post."""
        raise NotImplementedError

    async def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._refusal: Forbidden | web.HTTPError | None = self._xsrf_refusal
        await super().prepare()
        if self._finished or self.request.method != "POST":
            return
        self.request.connection.set_max_body_size(self.max_upload_bytes())
        if self._refusal is not None:
            return
        try:
            self.authorise_upload()
        except Forbidden as refusal:
            self._refusal = refusal

    def data_received(self, chunk: bytes) -> None:
        if self._refusal is None:
            self._chunks.append(chunk)

    def parse_form(self) -> None:
        """Fill ``request.body_arguments`` and ``request.files`` from the streamed body,
        or raise the refusal :meth:`prepare` decided on (first thing a POST does)."""
        if self._refusal is not None:
            raise self._refusal
        self.request.body = b"".join(self._chunks)
        self._chunks = []
        httputil.parse_body_arguments(self.request.headers.get("Content-Type", ""),
                                      self.request.body, self.request.body_arguments,
                                      self.request.files, self.request.headers)
