"""Scrapy settings for portal-archiver: the one place every setting is documented.

Override any of them per run with ``-s NAME=VALUE`` (or scrapyd's ``setting=NAME=VALUE``).
"""

BOT_NAME = "portal-archiver"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- Archive -------------------------------------------------------------------------
# Where WARC files (ARCHIVE_DIR/warc/) and the default SQLite index go.
ARCHIVE_DIR = "data"
# SQLAlchemy URL of the index; empty means sqlite:///ARCHIVE_DIR/index.sqlite.
INDEX_URL = ""
# Rotate to a new WARC file past this many bytes (WARC spec Annex C suggests 1 GB).
WARC_MAX_SIZE = 1_000_000_000
# First part of WARC file names: PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz
WARC_PREFIX = "portal"
# fsync WARC files before the index commits the rows that point into them.
WARC_FSYNC = True

# Re-crawl incrementally when ARCHIVE_DIR already holds an index: known articles are not
# fetched again (spider argument refresh=1 re-fetches them), other pages are conditional
# GETs, and paging through a listing stops at a page with nothing new.
INCREMENTAL = True

# --- Scope and crawler traps (compare Heritrix's PathologicalPath and Zeno's limits) ---------
# Drop URLs longer than this many characters.
TRAP_MAX_URL_LENGTH = 2083
# Drop URLs whose path has more segments than this.
TRAP_MAX_PATH_SEGMENTS = 20
# Drop URLs in which one path segment occurs more than this many times (/a/b/a/b/a/).
TRAP_MAX_SEGMENT_REPEATS = 2
# Drop a link after this many consecutive hops between URLs of the same shape (digits
# masked), e.g. a calendar whose every month links the next one.
TRAP_MAX_SAME_SHAPE_HOPS = 30
# Scrapy's own hop limit from the start URL (0 = none; the trap limits above bound depth).
DEPTH_LIMIT = 0

# --- Page processing -------------------------------------------------------------------------
# Worker processes that parse each page, extract its links and its article, so the reactor
# thread only fetches and archives (0 = all inline). One worker is the measured best on 2
# cores (BENCHMARKS.md); give bigger machines more.
PAGE_WORKERS = 1

# Site-template learning (pipelines/chrome.py): a short line seen on at least this many
# articles of a site, and on at least this share of them, is that site's chrome. The share
# is high on purpose: a notice's signature line (the issuing office) repeats too, but only
# on the notices, not on most of a site's articles.
CHROME_TEMPLATE_MIN_PAGES = 5
CHROME_TEMPLATE_SHARE = 0.8

# Per-site field learning (crawler/extract/site_fields.py, pipelines/chrome.py): an ending
# that closes the <title> of at least this many articles of a site, and of more than this
# share of them ("most pages"), is the site's name and is split off its titles; a value
# credited as author that often names no writer (person names excepted) and is dropped.
SITE_FIELDS_MIN_PAGES = 5
SITE_FIELDS_SHARE = 0.6

# --- Politeness: defaults fit for government servers -----------------------------------------
ROBOTSTXT_OBEY = True
# Seconds between requests to one host (randomised 0.5x-1.5x); AutoThrottle raises it
# when the server slows down. For a loopback demo or benchmark use -s DOWNLOAD_DELAY=0.
DOWNLOAD_DELAY = 1.0
# The global cap; sized for hundreds of hosts in one crawl (issue 12: each host keeps its
# own per-domain limit and delay, so a bigger cap only lets more hosts be busy at once).
CONCURRENT_REQUESTS = 256
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
# 5xx, 429 and timeouts are retried RETRY_TIMES times, waiting RETRY_BACKOFF_BASE * 2**(n-1)
# seconds (at most RETRY_BACKOFF_MAX, or what Retry-After asks) before the n-th retry; a
# portal's pages during an outage of the portal as many times as it takes (SITE_GIVE_UP_AFTER).
# The retried statuses (Scrapy's list) are also what counts as "not answering" for an outage.
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 120.0
# A body larger than this is archived up to this size with WARC-Truncated: length.
DOWNLOAD_MAXSIZE = 256 * 1024 * 1024
# A connection lost mid-body still archives what arrived (WARC-Truncated: disconnect).
DOWNLOAD_FAIL_ON_DATALOSS = False
# The crawl exits non-zero when more than this share of its requests failed for good
# (network errors, 5xx after retries), or when it archived nothing.
CRAWL_MAX_ERROR_RATE = 0.2
USER_AGENT = "portal-archiver/0.1 (+archival crawler; respects robots.txt)"

# --- Faithful capture ------------------------------------------------------------------------
# Only encodings warcio and pywb can decode (Scrapy would also ask for br and zstd).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    "Accept-Encoding": "gzip, deflate",
}
# Every exchange goes to the WARC writer from the response_downloaded signal, before
# HttpCompressionMiddleware decodes the body and rewrites the headers.
EXTENSIONS = {"crawler.capture.hook.CaptureExtension": 100, "crawler.schedule.resume.ResumeGuard": 50}
# Compressed bodies stay binary until HttpCompressionMiddleware (590) decodes them, which
# spares Scrapy a charset detection over gzip bytes (see crawler/fetch/middlewares.py).
# Incremental re-crawls (crawler/schedule/incremental.py) decide after robots.txt (100) what to ask.
DOWNLOADER_MIDDLEWARES = {
    "crawler.scope.credentials.StripCredentialsMiddleware": 50,
    "crawler.schedule.incremental.IncrementalMiddleware": 110,
    "crawler.fetch.middlewares.SizeLimitMiddleware": 120,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.fetch.retry.BackoffRetryMiddleware": 550,
    "crawler.fetch.middlewares.BinaryUntilDecodedMiddleware": 595,
    # Scrapy's meta refresh, shown only the head of a large page (it decoded all of it).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.fetch.middlewares.HeadMetaRefreshMiddleware": 580,
}
SPIDER_MIDDLEWARES = {"crawler.discover.traps.TrapGuardMiddleware": 800}
ITEM_PIPELINES = {
    "pipelines.chrome.ChromeStripPipeline": 300,
    "pipelines.site_fields.SiteFieldsPipeline": 400,
    "pipelines.dedup.ArticleDedupPipeline": 500,
    "pipelines.index.ArticleIndexPipeline": 900,
}
# Cookies stay off: sessions add nothing to an archive and tldextract would try to fetch
# the public suffix list from the network.
COOKIES_ENABLED = False
# Keep 404 and other error pages out of callbacks; they are archived all the same.
HTTPERROR_ALLOWED_CODES: list[int] = []

# --- Breadth-first order (Scrapy's default is depth-first) ---------------------------------
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

FEED_EXPORT_ENCODING = "utf-8"
# INFO: progress, what each site is, the end-of-crawl summary. At WARNING the summary is
# still printed on a terminal (crawler/commands/crawl.py).
LOG_LEVEL = "INFO"
# Scrapy's dump of every stat (some 60 lines at INFO) is off: a crawl ends with a short
# summary (crawler/schedule/report.py: human_summary), and the full stats go to crawls.stats and to
# the log at DEBUG (crawler/capture/hook.py).
STATS_DUMP = False

# CAPTURE_ENABLED (set below): archive every exchange. Our shell/parse/fetch/view/check
# commands (crawler/commands/) turn it off, so pages fetched by hand stay out of
# the production archive (`-s CAPTURE_ENABLED=1` archives them anyway), and keep their
# frontier in memory (FRONTIER_ON_DISK below).
COMMANDS_MODULE = "crawler.commands"

# --- Never lose, never leak, never hang (issue 10a) ----------------------------------------
# Archive every exchange (True). The shell/fetch/parse/view/check commands turn it off unless the
# command line sets it (crawler/commands/__init__.py), so hand-run fetches stay out.
CAPTURE_ENABLED = True
# Scrapy's scheduler with the frontier on disk (FRONTIER_ON_DISK, issue 12: crawler/schedule/frontier.py);
# README "Scaling out" swaps in scrapy-redis's with -s SCHEDULER=... (the crawl report then
# treats an empty share of the frontier as no failure).
SCHEDULER = "crawler.schedule.frontier.DiskFrontierScheduler"
# Only http and https are downloaded. Scrapy's file, ftp, s3 and data handlers are off, so
# even a URL that slips past the scope rules (an ftp:// or file://HOST/etc/passwd link)
# cannot read the crawler's own disk or hang on a silent FTP server: it fails at once with
# NotSupported, before robots.txt (crawler/scope/downloadable.py). To allow a scheme again, set its handler, e.g.
# -s 'DOWNLOAD_HANDLERS={"ftp": "scrapy.core.downloader.handlers.ftp.FTPDownloadHandler"}'.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}
DOWNLOADER_MIDDLEWARES["crawler.scope.downloadable.DownloadableSchemeMiddleware"] = 50
# Another crawl writing the same portal into the same ARCHIVE_DIR (a cron job still running
# when the next one starts; a command run twice): "wait" for it to end, "refuse" to start
# (exit status 75, "try again later"), or "share" (crawl anyway: both fetch everything, each
# article indexed once). Crawls sharing a scrapy-redis frontier always share. A crawl holds
# ARCHIVE_DIR/locks/SITE.lock (archive/locks.py) while it runs.
ARCHIVE_BUSY = "wait"
# Exchanges the crawl may queue for the archive writer thread before fetching waits for it
# (back-pressure). If the writer dies, the crawl stops with "archive failed" either way.
ARCHIVE_QUEUE_SIZE = 2000
# robots.txt answering 5xx (after the retries above) means "disallow the whole host" for this
# crawl, as RFC 9309 2.3.1.4 requires; the next crawl asks again (crawler/scope/robots.py).
DOWNLOADER_MIDDLEWARES["crawler.scope.robots.RobotsServerErrorMiddleware"] = 540
# A page (HTML, after content-decoding) larger than this is archived as received but neither
# parsed for links nor extracted, and decoding a compressed body stops at this size (gzip
# bombs); far below DOWNLOAD_MAXSIZE, which bounds attachments. Real portal pages are < 1 MB.
PAGE_MAXSIZE = 8 * 1024 * 1024
# Follow at most this many links of one page (the first ones in document order); a page with
# more is a trap or a dump, and 100,000 links would cost hundreds of MiB of requests.
PAGE_MAX_LINKS = 5000
DOWNLOADER_MIDDLEWARES["crawler.scope.limits.DecodeLimitMiddleware"] = 597
# The spider argument max_pages=N counts pages (not requisites, not robots.txt) as they are
# sent, after the incremental crawl skipped known ones (crawler/scope/limits.py).
DOWNLOADER_MIDDLEWARES["crawler.scope.limits.PageBudgetMiddleware"] = 570
# The longest response header line accepted (Twisted's default is 16 kB, and a page with a
# longer line, e.g. a huge Set-Cookie, was dropped and lost); see crawler/scope/limits.py.
HTTP_MAX_HEADER_LINE = 1024 * 1024
EXTENSIONS["crawler.scope.limits.HeaderLineLimit"] = 0

# --- Re-checking known articles: edits and take-downs (issue 13) ---
# After its own work, an incremental crawl re-checks known articles that are due, with
# conditional GETs, and records what it found in article_events (crawler/schedule/revisit.py).
REVISIT_ENABLED = True
# AGE_DAYS:EVERY_DAYS tiers, youngest first, ending with *:EVERY_DAYS: by default daily in an
# article's first week, weekly to 3 months, then monthly. Age counts from the published date.
REVISIT_SCHEDULE = "7:1 90:7 *:30"
# Re-checks are at most this share of a crawl's requests (0.3: 3 re-checks per 7 other
# requests; 1 = no share limit), and at most REVISIT_MAX_PER_CRAWL per crawl (one site).
# The most overdue go first; the rest wait for the next crawl.
REVISIT_SHARE = 0.3
REVISIT_MAX_PER_CRAWL = 500

# --- Page requisites (issue 9) ---------------------------------------------------------------
# Fetch what archived HTML pages embed (crawler/capture/requisites.py), so they replay styled and with
# their images. Off: only article-body images are still fetched (they are content).
# A page's requisites are capped at PAGE_MAX_LINKS, as its links are.
REQUISITES_ENABLED = True
# On/off per kind: <link rel=stylesheet> and CSS @import; <script src>; <img src>, srcset,
# CSS url(...), icons. Images inside an article body are fetched whatever these say.
REQUISITES_STYLESHEETS = True
REQUISITES_SCRIPTS = True
REQUISITES_IMAGES = True
# Per-asset size limit in bytes (0 = DOWNLOAD_MAXSIZE): a larger asset is archived up to this
# size with WARC-Truncated: length. Article-body images get DOWNLOAD_MAXSIZE.
REQUISITES_MAX_SIZE = 10 * 1024 * 1024
# Requisites are best effort (issue 18): at most this many retries (none after a DNS failure),
# and this download timeout in seconds (article-body images keep DOWNLOAD_TIMEOUT). The same
# holds for robots.txt of hosts where no portal's pages live. 0 = DOWNLOAD_TIMEOUT.
REQUISITES_RETRY_TIMES = 1
REQUISITES_DOWNLOAD_TIMEOUT = 5.0
# Hosts besides the portal's own whose requisites are fetched: CDN and static hosts, as
# shell-style patterns matched against the host name (add a portal's own CDN here).
REQUISITES_HOSTS = [
    "static.*", "static[0-9]*.*", "cdn.*", "cdn[0-9]*.*", "*.cdn.*", "img.*", "img[0-9]*.*", "images.*", "image.*",
    "res.*", "js.*", "css.*", "file.*", "files.*", "pic.*", "pics.*", "assets.*",
    "*.bootcdn.net", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "*.bdstatic.com", "*.bcebos.com",
    "*.qhimg.com", "*.staticfile.org", "*.staticfile.net", "*.gtimg.cn", "*.alicdn.com",
]

# --- Many portals in one crawl; scope; per-host backoff (issue 12, crawl half) -----------------
# Only these URL schemes are ever requested; any other link (file:, ftp:, javascript:,
# mailto:, data: ...) is dropped before it is scheduled and counted as scope/dropped_scheme/*.
SCOPE_SCHEMES = ["http", "https"]
# Off: a site's URLs are in scope on the default port of their scheme or a port one of its
# start URLs uses (http://host:8080/ crawls :8080, :80 and :443, never :8081). On: any port.
SCOPE_ANY_PORT = False
# Give a site up for the rest of the run when none of its hosts has answered for this many
# seconds while its requests kept failing (refused, timeouts, 502/503 ...: an outage); its
# pages are retried with backoff meanwhile, so a shorter outage loses nothing. 0 = never.
# A site whose start host does not resolve is given up at once. Failures of requisites and
# third-party robots.txt never count. The other sites go on either way (crawler/schedule/fleet.py).
SITE_GIVE_UP_AFTER = 300.0
# Host health, learned once per host per run (crawler/fetch/hosts.py): a host whose name does not
# resolve gets no more requests; one whose connections fail this many times in a row
# (refused, connect, TLS or answer timeouts) gets no more requisites or robots.txt requests
# until it answers again (0 = never). Skipped requests are counted per host (stats "hosts").
HOST_BREAKER_AFTER = 2
DOWNLOADER_MIDDLEWARES["crawler.fetch.hosts.HostGateMiddleware"] = 102
# Plain http and https requests go through Scrapy's HTTP/1.1 handler behind a last check of
# host health (crawler.fetch.hosts.HostCheckedHandler, inside the browser's handler set below): a
# request that waited in a slot's queue while its host died never reaches the network.
# Keep many hosts busy: the global cap on requests in flight is sized for hundreds of
# portals (each still gets CONCURRENT_REQUESTS_PER_DOMAIN and DOWNLOAD_DELAY), and the
# scheduler hands out the host with the fewest active downloads first, so one big portal's
# queue never starves the others (works with DEPTH_PRIORITY and JOBDIR disk queues); pages
# before page requisites (crawler/schedule/frontier.py, issue 26). Scrapy's own
# "scrapy.pqueues.DownloaderAwarePriorityQueue" does the first without the second.
SCHEDULER_PRIORITY_QUEUE = "crawler.schedule.frontier.ContentFirstQueue"
# The frontier (requests not yet fetched) lives in Scrapy's disk queues even without JOBDIR,
# in a temporary directory under FRONTIER_TMPDIR ("" = the system's), removed at the end:
# memory then stays flat however many URLs wait (SCHEDULER above, crawler/schedule/frontier.py).
# 0 = memory queues, which shell/fetch/parse/view/check use unless -s sets this (crawler/commands/).
FRONTIER_ON_DISK = True
FRONTIER_TMPDIR = ""
# Scrapy starts this many tasks for every page's output (100 by default), about 0.5 ms of CPU
# per page for nothing: our item pipelines are synchronous and requests are only scheduled.
CONCURRENT_ITEMS = 8
EXTENSIONS["crawler.schedule.fleet.FleetExtension"] = 60
# Ctrl-C / SIGTERM: say what is in flight, send nothing more, exit 128 + the signal's number
# (crawler/schedule/stopping.py).
EXTENSIONS["crawler.schedule.stopping.PromptStop"] = 70
DOWNLOADER_MIDDLEWARES["crawler.schedule.fleet.FleetDownloaderMiddleware"] = 560
# The scope gate (crawler/scope/gate.py, per site) replaces Scrapy's OffsiteMiddleware, which
# would parse every scheduled URL again for nothing (the spider sets no allowed_domains).
DOWNLOADER_MIDDLEWARES["scrapy.downloadermiddlewares.offsite.OffsiteMiddleware"] = None
SPIDER_MIDDLEWARES["crawler.schedule.fleet.FleetSpiderMiddleware"] = 5
DOWNLOADER_MIDDLEWARES["crawler.schedule.fleet.RobotsUnreachableMiddleware"] = 101

# --- Progress of a long crawl (issue 12) --------------------------------------------------------
# Log pages, articles, errors, sites done/left and the rate every this many seconds (0 = off).
PROGRESS_INTERVAL = 60.0
EXTENSIONS["crawler.schedule.progress.ProgressExtension"] = 500
# A live status line at the bottom of the terminal (rich when installed) while stderr is a
# terminal. Off here, for shell/fetch/parse; our `scrapy crawl` turns it on unless the
# command line sets it (`-s PROGRESS_LIVE=0`): crawler/commands/crawl.py.
PROGRESS_LIVE = False

# --- Discovery: CMS families, listing endpoints, hit counters (issue 8) ---------------------
# Family knowledge is data in crawler/discover/cms/*.toml. A paged listing endpoint
# (dataproxy.jsp, gkmlpt/JPaaS/IGS JSON) is asked for at most this many pages.
DISCOVER_MAX_ENDPOINT_PAGES = 5000
# A script pager (TRS createPageHTML, countPage ...) is believed for at most this many pages. A
# big provincial channel has 1,000-2,000 (25,000 notices at 20 a page); a pager claiming more
# is cut here, and the cut is logged and counted (discover/pager_truncated), never silent.
DISCOVER_MAX_PAGER_PAGES = 5000
# Match a site's pages against the family fingerprints until one names its CMS family (logged,
# and kept in crawls.stats as discover/family/HOST), for at most this many pages; after that
# the site is "unknown" and only links are followed (matching costs ~0.3 ms a page).
DISCOVER_RECOGNISE_PAGES = 100
# Every request and response passes crawler/discover/guard.py: hit counters (the families'
# `counters`) are never requested, anti-bot challenges are counted and named in the summary.
DOWNLOADER_MIDDLEWARES["crawler.discover.guard.DiscoveryGuardMiddleware"] = 105

# --- Attachment text (issue 20) ------------------------------------------------------------------
# Read the text of the files articles link (PDF, OFD, DOC/DOCX/WPS, XLS/XLSX/ET, ZIP, RAR) into
# the attachments table, searchable like articles (crawler/extract/documents/, crawler/capture/attachments.py,
# archive/attachments.py). Needs the attachments extra (scripts/setup installs it). An article's
# attachments are fetched on any host, as its body images are; on a re-crawl a known one goes
# out as a conditional GET with its article's re-check (crawler/schedule/revisit.py).
ATTACHMENTS_ENABLED = True
# Worker processes that read attachments, apart from PAGE_WORKERS so a long PDF never holds up
# a page; each file is read in a child process under the caps below.
ATTACHMENT_WORKERS = 1
# Their CPU priority (nice): 10 lets fetching and page parsing go first, reading fills the idle
# CPU. On a machine busy with other work a niced reader gets little CPU, and a crawl waits at its
# end for the files still queued (BENCHMARKS.md): 0 there.
ATTACHMENT_NICENESS = 10
# Per file: seconds of reading (wall clock; CPU time is capped as well), and bytes of memory the
# reader may use beyond what the worker itself holds. Over either, the file ends as timeout / too_large.
ATTACHMENT_TIMEOUT = 60.0
ATTACHMENT_MAX_MEMORY = 1024 * 1024 * 1024
# Files larger than this are archived but not read (status too_large).
ATTACHMENT_MAX_SIZE = 64 * 1024 * 1024
# Bytes the members of one zip-based file (an archive, a DOCX, an XLSX, an OFD) may unpack to,
# all together (zip bombs stop here; a 64 MiB zip of PDFs unpacks to little more); archives
# inside archives are read this many levels deep; an archive's first this-many members are read.
ATTACHMENT_MAX_UNPACKED = 128 * 1024 * 1024
ATTACHMENT_MAX_DEPTH = 2
ATTACHMENT_MAX_MEMBERS = 500
# Bytes of files waiting for a reader before the spider waits too (the crawl then goes at the
# readers' pace rather than holding every file in memory).
ATTACHMENT_QUEUE_BYTES = 128 * 1024 * 1024
# Characters of text kept per attachment (a longer text is cut, and the cut said in `error`).
ATTACHMENT_MAX_CHARS = 2_000_000

# --- Portals only a browser can read (issue 19: crawler/fetch/browser/) -----------------------------
# A host goes to a headless Chromium (driven by Playwright) when it answers with an anti-bot
# challenge (archive/challenges.toml) or serves script shells (pages their scripts fill);
# everything else stays on plain requests. A gate the browser passes hands the host back to
# plain requests carrying the browser's cookies and user agent; single-use tokens keep every
# page of the host in the browser. A normal browser only: no CAPTCHA solving, no spoofing.
# Off: no browser is ever started (hosts that need one are still named in the summary).
BROWSER_ENABLED = True
# The Chromium (or Chrome) binary, a path or a name on PATH; "" = the first of chromium,
# chromium-browser, google-chrome on PATH. Playwright's own browser download is never used.
BROWSER_EXECUTABLE = ""
# Hosts whose pages always go to the browser, as shell-style patterns, comma-separated on the
# command line (-s 'BROWSER_HOSTS=*.example.gov.cn,www.other.gov.cn'); * sends every page there.
BROWSER_HOSTS: list[str] = []
# Pages open in the browser at once (one browser process for the whole crawl).
BROWSER_MAX_PAGES = 2
# Seconds a page may take to load and settle before its DOM is taken as it is.
BROWSER_PAGE_TIMEOUT = 60.0
# A page has settled once its document has loaded and none of its requests has been in
# flight for this many seconds.
BROWSER_SETTLE = 0.5
# A page that navigates more often than this (a challenge reloading itself forever) is done.
BROWSER_MAX_NAVIGATIONS = 3
# A gate that comes back after fewer good plain pages than this since the hand-off has
# single-use tokens: every page of its host then goes through the browser.
BROWSER_HANDOFF_MIN_PAGES = 3
# Script shells of a host that render into nothing to follow before the host goes back to
# plain requests (a page that is merely empty is not a script-rendered portal).
BROWSER_SHELL_TRIALS = 3
DOWNLOAD_HANDLERS["http"] = "crawler.fetch.browser.handler.BrowserDownloadHandler"
DOWNLOAD_HANDLERS["https"] = "crawler.fetch.browser.handler.BrowserDownloadHandler"
DOWNLOADER_MIDDLEWARES["crawler.fetch.browser.middleware.BrowserMiddleware"] = 545
# --- Page visits: requisites after their page, ads and trackers skipped (issue 26) ------------
# A page's requisites go right after it, on a download slot of their own per host (one
# connection), so they never take a page's turn (crawler/capture/page_visits.py). Seconds between two
# requisites of one host (randomised 0.5x-1.5x as DOWNLOAD_DELAY is): never under 0.2 s, never
# more than DOWNLOAD_DELAY.
REQUISITES_DELAY = 0.25
DOWNLOADER_MIDDLEWARES["crawler.capture.page_visits.RequisiteSlotsMiddleware"] = 60
# Download slots are host names (HOST, HOST#requisites), as the scheduler's queue needs
# (crawler/schedule/frontier.py); Scrapy's per-IP slots (a number here) would merge a host's two.
CONCURRENT_REQUESTS_PER_IP = 0
# New requisites requested per page, and per portal in one crawl (0 = no cap); article-body
# images are content and never capped. Each URL is requested once per crawl whatever the page.
REQUISITES_MAX_PER_PAGE = 50
REQUISITES_MAX_PER_SITE = 20000
# Skip ads, trackers, analytics, share and chat widgets' scripts named in crawler/scope/blocklist.toml
# (counted as requisites/blocked/RULE; the page's HTML is archived as served). 0 = fetch them.
REQUISITES_BLOCK_ADS = True
