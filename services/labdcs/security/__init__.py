"""Secure by default: the secrets every service needs (``labdcs init``), the broker's users and ACL,
and the local certificate authority. See docs/security.md."""
