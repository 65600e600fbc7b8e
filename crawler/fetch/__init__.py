"""Getting a response: downloader middlewares, retries, host health, the browser route."""
