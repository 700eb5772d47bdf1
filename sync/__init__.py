"""Generic replication protocol: push / pull / blobs. Knows entities only through registered handlers."""
