"""Small shared helpers (mask encoding, atomic file writes)."""
