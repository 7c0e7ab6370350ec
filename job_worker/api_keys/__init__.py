"""API keys of the HTTP endpoints: generated, stored as digests, checked in constant time."""
