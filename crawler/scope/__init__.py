"""Is this request ours to make? Scope per site, robots.txt, schemes, credentials, limits, block list."""
