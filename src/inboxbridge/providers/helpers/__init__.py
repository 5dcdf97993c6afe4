"""What the providers share: signature checks, body readers, value pickers, text and money formatting.

Providers import these modules directly; nothing here knows any one provider.
"""
