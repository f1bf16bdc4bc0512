"""The API for accountants and integrations (issue 14): a front door for programs over the same domain and
the same access rules as the portal. See docs/api.md and docs/adr/0015-api.md."""
