"""What was received is kept: the capture hook (WARC + index), page requisites, attachments,
page workers that extract off the reactor."""
