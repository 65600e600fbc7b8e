"""What a crawl keeps per page must not grow without bound (issue 12)."""

from __future__ import annotations

from archive.site_templates import SiteTemplates


def test_site_templates_forget_one_off_lines_but_keep_the_template():
    templates = SiteTemplates(min_pages=5, share=0.8)
    for k in range(5000):
        templates.observe("site", [f"发布时间：2021-01-01 {k:05d}", "扫一扫在手机打开当前页", f"标题第{k}篇"])
    assert templates.is_template("site", "扫一扫在手机打开当前页")
    assert not templates.is_template("site", "发布时间：2021-01-01 04999")
    # Without pruning there would be 10,001 lines; now only what was seen since the last prune.
    assert len(templates.lines["site"]) <= 2 * SiteTemplates.PRUNE_EVERY + 1
    assert templates.learned() == {"site": {"扫一扫在手机打开当前页"}}
