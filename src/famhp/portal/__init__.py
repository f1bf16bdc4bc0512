"""The companies' front door: the portal's pages, forms and the access rules they share (issue 12, ADR 19).

It sits over the domain apps (registry, declarations, billing, payments, accounts), which import no front door.
"""
