"""Headers the worker adds to records it copies: part of the contract, so they live here."""

# On a control message the worker forwarded to its key's partition: where it was first read.
FORWARDED_FROM_PARTITION = "syncctl.forwarded.from.partition"
FORWARDED_FROM_OFFSET = "syncctl.forwarded.from.offset"
