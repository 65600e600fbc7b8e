"""Only for ``scrapyd-deploy``, which builds the project's egg with ``setup.py bdist_egg``.

Everything (name, packages, data files, the ``scrapy`` settings entry point scrapyd looks
for) is declared in pyproject.toml; without this file scrapyd-deploy would write its own
setup.py, which leaves out the data files the crawler reads.
"""

from setuptools import setup

setup()
