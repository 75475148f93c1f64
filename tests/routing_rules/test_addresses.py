"""Addresses as workers say them → the region they propose; ambiguity is never settled
silently (the national table and cpca's matcher, no fakes)."""

from __future__ import annotations

import pytest

from routing_rules.addresses import NO_CITY, NOTHING, ONLY_CITY, SEVERAL, recognize

# Addresses with the one region each must give.
SAMPLES = [
    ("广州市黄埔区科学城开源大道11号", "440112"),  # 黄埔区
    ("广东省广州市增城区新塘镇港口大道", "440118102"),  # 增城区新塘镇
    ("增城区荔城街道府佑路", "440118001"),
    ("天河区猎德街道猎德大道", "440106013"),
    ("白云区京溪街道云景路", "440111010"),  # 白云区 is also in 贵阳: the street settles it
    ("广州市白云区三元里大道", "440111"),
    ("广州市番禺区市桥街道", "440113005"),
    ("广州市越秀区北京街道", "440104003"),  # 北京 here is a street's name, not the capital
    ("海珠区南华西街道", "440105008"),
    ("广州南沙区", "440115"),  # 广州 for 广州市
    ("从化区街口街道", "440117001"),
    ("花都区新华街道", "440114001"),
    ("广州市荔湾区", "440103"),
    ("广东省广州市天河区天河南街道体育西路", "440106008"),
    ("广州 黄埔区 红山街道", "440112002"),  # spaces as typed
    ("深圳市南山区科技园", "440305"),  # outside the deployment: an external hand-off
    ("北京市朝阳区望京", "110105"),  # a municipality has no city level
    ("上海市普陀区", "310107"),
    ("佛山市南海区桂城街道", "440605001"),
    ("广州市海珠区新港中路", "440105"),
    ("从化区温泉镇温泉东路", "440117100"),  # a town (镇), not a street
    ("番禺区石楼镇", "440113106"),
    ("贵阳市白云区", "520113"),  # the other 白云区, settled by its city
    ("广东省东莞市虎门镇", "441900121"),  # a city with no district level
    ("白云区同和街道同泰路", "440111009"),  # 同和街道 is also in 青岛: the district settles it
    ("山东省青岛市平度市同和街道", "370283004"),
    ("广州市天河区珠江新城花城大道85号", "440106"),  # 珠江新城 is no division: the district
]


@pytest.mark.parametrize(("address", "code"), SAMPLES)
def test_an_address_proposes_its_region(address: str, code: str) -> None:
    found = recognize(address)
    assert found.reason is None, found
    assert found.unique is not None and found.unique.code == code


def test_at_least_twenty_samples() -> None:
    assert len(SAMPLES) >= 20 and len({c for _, c in SAMPLES}) >= 20


def test_a_district_name_shared_by_two_cities_is_a_choice() -> None:
    found = recognize("白云区三元里大道")
    assert found.reason == SEVERAL and found.unique is None
    assert [d.code for d in found.candidates] == ["440111", "520113"]  # 广州, 贵阳


def test_a_street_name_without_a_city_is_a_choice_even_when_one_place_has_it() -> None:
    # The national table (2025) has one 京溪街道, in 广州市白云区 (揭阳's 京溪园镇 is
    # another name); without a city it is still only a proposal to confirm.
    found = recognize("京溪街道云景花园")
    assert found.reason == NO_CITY and found.unique is None
    assert [d.code for d in found.candidates] == ["440111010"]


def test_a_street_name_in_two_cities_is_a_choice_between_them() -> None:
    # 京溪's neighbour 同和街道 is in two cities: 广州市白云区 and 青岛市平度市.
    found = recognize("同和街道同泰路")
    assert found.reason == NO_CITY and found.unique is None
    assert sorted(d.code for d in found.candidates) == ["370283004", "440111009"]
    for settled, code in (("广州市同和街道", "440111009"), ("平度市同和街道", "370283004")):
        named = recognize(settled)
        assert named.unique is not None and named.unique.code == code


def test_a_street_name_in_several_cities_lists_them() -> None:
    found = recognize("沙河街道")
    assert found.reason == NO_CITY
    codes = [d.code for d in found.candidates]
    assert "440106004" in codes and "440305003" in codes  # 广州天河, 深圳南山
    in_guangzhou = recognize("广州市沙河街道")
    assert in_guangzhou.unique is not None and in_guangzhou.unique.code == "440106004"


def test_only_the_city_or_nothing_is_no_proposal() -> None:
    city = recognize("广州市天河路208号")
    assert city.reason == ONLY_CITY and [d.code for d in city.candidates] == ["440100"]
    nothing = recognize("天河路208号")
    assert nothing.reason == NOTHING and nothing.candidates == []


def test_a_street_of_another_district_keeps_the_district() -> None:
    # 猎德街道 is in 天河区, not 海珠区: the district the worker named stands.
    found = recognize("海珠区猎德街道")
    assert found.unique is not None and found.unique.code == "440105"
