"""ICH E2B(R3) individual case safety reports: export of reports as ICSR batches, import of
ICSR batches as reports, and the checks an ICSR must pass before it leaves.

Settings (environment variables of the same name, read in config/settings.py):

- ``E2B_SENDER_ID``: the sender's identifier (N.1.3 and N.2.r.2; FDA: the approved sender id,
  e.g. a DUNS number). Its letters and digits also name the sender in C.1.1.
- ``E2B_RECEIVER_ID``: the batch receiver (N.1.4); ``ZZFDA`` (the default) addresses FDA's
  post-market route, whose message receiver (N.2.r.3) is then ``CDER``.
- ``E2B_COUNTRY``: ISO 3166 country of the sender, the reporters and the reactions
  (C.1.1 prefix, C.2.r.3, E.i.9); default ``US``.
- ``E2B_MEDDRA_VERSION``: the MedDRA version written with every code (E.i.2.1a) when no
  MedDRA release has been imported.
- ``E2B_SCHEMA_DIR``: a folder holding the ICH E2B(R3) XML schemas; when set, every export is
  also validated against ``MCCI_IN200100UV01.xsd`` found under it.
- ``E2B_MAX_BYTES``: the largest ICSR batch accepted for import (default 10 MB).
"""
