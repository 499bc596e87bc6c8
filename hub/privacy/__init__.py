"""Minors' data on request and over time: export, erasure and retention.

A center must be able to hand a pupil (or their guardian) everything it holds about
them, to erase it on request, and to stop keeping the data of pupils who left. Each
store the classroom keeps is already known elsewhere: the service database's tables
(:mod:`hub.privacy.holdings` reads them from the database itself), the content store
of the exchange and homes (:mod:`hub.backup`), JupyterHub's account
(:mod:`hub.privacy.hub_account`) and the audit trail (:mod:`hub.audit`).
:mod:`hub.privacy.export` and :mod:`hub.privacy.erasure` work on one person;
:mod:`hub.privacy.retention` on everyone who left the roster long enough ago.
"""
