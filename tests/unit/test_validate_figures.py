"""Reading published figures: required columns, composite values, revised series, periods."""

from __future__ import annotations

import pandas as pd
import pytest

from carejourney.validate.figures import (
    FiguresError,
    financial_year_label,
    parse_period,
    read_figures,
)

HEADER = "quantity,geography,period,value,unit,source_title,source_address,note\n"


def write(tmp_path, text, name="figures.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_missing_column_names_file_and_column(tmp_path):
    p = write(tmp_path, "quantity,geography,period,unit\nCLA at 31 March,Cambridgeshire,2016,children\n")
    with pytest.raises(FiguresError) as err:
        read_figures(p)
    msg = str(err.value)
    assert str(p) in msg and "'value'" in msg and "missing column" in msg
    assert msg.endswith("(found quantity, geography, period, unit)")  # QA22: not also the reader's source_row


def test_optional_columns_may_be_absent(tmp_path):
    p = write(tmp_path, "quantity,geography,period,value\nCLA at 31 March,Cambridgeshire,2016,607\n")
    f = read_figures(p)
    assert f.loc[0, "value"] == 607 and f.loc[0, "source_title"] == ""


def test_composite_values_are_split_over_periods(tmp_path):
    p = write(tmp_path, HEADER + 'Threshold,England,2012 / 2014 / 2015,639 / 547 / 487,days,src,,\n')
    f = read_figures(p)
    assert list(f["value"]) == [639, 547, 487]
    assert list(f["year"]) == [2012, 2014, 2015]
    assert (f["row"] == 2).all()
    assert "split from composite" in f.loc[0, "note"]


def test_composite_value_without_matching_periods_is_not_a_number(tmp_path):
    p = write(tmp_path, HEADER + 'CLA all / starts / ceased,England,2016,88370 / 16080 / 15845,children,src,,\n')
    f = read_figures(p)
    assert len(f) == 1 and pd.isna(f.loc[0, "value"])
    assert "composite value" in f.loc[0, "value_problem"]


def test_thousands_separators_and_suppressed_values(tmp_path):
    p = write(tmp_path, HEADER + 'A,England,2016,"1,500",children,,,\nB,Wiltshire,2016,x,children,,,\n')
    f = read_figures(p)
    assert f.loc[0, "value"] == 1500
    assert pd.isna(f.loc[1, "value"]) and "suppressed" in f.loc[1, "value_problem"]


def test_bad_value_names_row_and_field(tmp_path):
    p = write(tmp_path, HEADER + "A,England,2016,12,children,,,\nB,England,2016,6O7,children,,,\n")
    with pytest.raises(FiguresError) as err:
        read_figures(p)
    assert "row 3" in str(err.value) and "'value'" in str(err.value) and "6O7" in str(err.value)


def test_revised_series_recognised(tmp_path):
    p = write(tmp_path, HEADER + "CLA at 31 March,Cambridgeshire,2016,607,children,,,\n"
                                 "CLA at 31 March (revised series),Cambridgeshire,2016,607,children,,,\n")
    f = read_figures(p)
    assert list(f["base_quantity"]) == ["CLA at 31 March", "CLA at 31 March"]
    assert list(f["series"]) == ["first published", "revised"]


def test_national_counts_carry_their_rounding(tmp_path):
    p = write(tmp_path, HEADER + "CLA at 31 March,England,2016,70440,children,,,\n"
                                 "CLA at 31 March,Cambridgeshire,2016,607,children,,,\n"
                                 "\"CLA rate per 10,000 children under 18\",Cambridgeshire,2016,46,\"per 10,000\",,,\n")
    f = read_figures(p)
    assert list(f["rounding"]) == [5.0, 0.0, 0.5]


@pytest.mark.parametrize("text, year", [("2016", 2016), ("2015-16", 2016), ("2015/16", 2016), ("1999-00", 2000),
                                        ("2013-03-31", 2013), ("c.2016", None), ("2009-2011", None),
                                        ("2016/17 prices (Unit Costs 2017)", None), ("2015-18 (3-yr average)", None)])
def test_periods(text, year):
    assert parse_period(text) == year


def test_published_2016_is_model_period_2015_16(tmp_path):
    assert financial_year_label(2016) == "2015-16"
    p = write(tmp_path, HEADER + "CLA at 31 March,Cambridgeshire,2016,607,children,,,\n"
                                 "Spend,Cambridgeshire,2015-16,33.2,GBP million,,,\n")
    f = read_figures(p)
    assert list(f["model_period"]) == ["2015-16", "2015-16"]
