"""The audit trail: an append-only, hash-chained record of who did what to whom.

:mod:`hub.audit.trail` is the API the rest of the classroom calls (``record``,
``person_ref``, ``forget_person``, ``verify``, ``prune``); :mod:`hub.audit.models` holds
its tables, made by the service database's revision 0004.
"""
