"""What is asked next and when: the frontier, portals of a crawl (fleet), seeds, incremental
and re-check planning, resume, stopping, progress and the end-of-crawl report."""
