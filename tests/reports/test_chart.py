"""The rates' chart as PNG bytes, with the CJK font and without it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from reports import chart
from reports.figures import FigureRow


def rows() -> list[FigureRow]:
    return [
        FigureRow(
            key="hrss.tianhe",
            label="天河区人社局",
            period=None,
            counts={
                "received": 10,
                "signed_on_time": 7,
                "sign_due": 10,
                "replied_on_time": 3,
                "reply_due": 4,
            },
        ),
        FigureRow(key="samr.yuexiu", label="越秀区市场监管局", period=None, counts={"received": 2}),
    ]


def test_png_of_the_rates_with_chinese_labels() -> None:
    if chart.cjk_font() is None:
        pytest.fail("fonts-noto-cjk is not installed")
    png = chart.rates_png(rows(), title="各单位办理情况")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 800 and image.height >= 200
    # Not a blank canvas: the bars put several colours on it.
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 5


def test_without_a_cjk_font_the_chart_falls_back_to_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    png = chart.rates_png(rows(), title="各单位")
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_an_empty_report_still_draws() -> None:
    assert chart.rates_png([]).startswith(b"\x89PNG")
