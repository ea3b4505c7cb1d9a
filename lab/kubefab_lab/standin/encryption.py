"""Placeholder replaced below."""
def load(doc):
    return None
