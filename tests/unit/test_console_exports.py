"""The ranking's CSV and XLSX files."""

import io
import zipfile

from services.console.exports import HEADER, as_csv, as_xlsx, ranking_rows

RANKING = {
    "rows": [
        {
            "rank": 1,
            "unit_code": "330502001000",
            "name": "月河街道",
            "figures": {
                "assigned": 4,
                "replied": 3,
                "evaluated": 2,
                "response_rate": 0.75,
                "resolution_rate": 1.0,
                "satisfaction_rate": 0.5,
                "on_time_reply_rate": None,
                "return_rate": 0.0,
                "redo_rate": 0.5,
            },
        }
    ]
}


def test_the_csv_has_a_bom_a_header_and_blank_rates_without_figures():
    text = as_csv(HEADER, ranking_rows(RANKING))
    assert text.startswith("\ufeff排名,单位代码,单位,派单数")
    assert text.splitlines()[1] == "1,330502001000,月河街道,4,3,2,0.75,1.0,0.5,,0.0,0.5"


def test_the_xlsx_is_a_workbook_of_numbers_and_inline_strings():
    data = as_xlsx(HEADER, ranking_rows(RANKING) * 30)
    with zipfile.ZipFile(io.BytesIO(data)) as workbook:
        assert workbook.testzip() is None
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/workbook.xml" in workbook.namelist()
    assert '<c r="A1" t="inlineStr"><is><t>排名</t></is></c>' in sheet
    assert '<c r="D2"><v>4</v></c>' in sheet
    assert '<c r="J2">' not in sheet  # no figure, no cell
    assert '<row r="31">' in sheet
    assert '<c r="L31"><v>0.5</v></c>' in sheet
