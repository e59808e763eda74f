"""The audit log: an append-only, hash-chained record of privileged actions, checked by
`flask council audit-verify`. No pages (yet): it is read from the command line."""
