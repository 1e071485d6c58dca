"""Email (SPEC §9): addresses and their confirmation, streams, digests, password reset."""
