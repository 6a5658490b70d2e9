from pathlib import Path

import pytest

from leads.errors import ConfigError
from leads.sources import load_source, load_sources

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config" / "sources"

GOOD = """
source: {name}
kind: filings
county: {{name: Test, state: FL, fips: "12999"}}
format: {{type: delimited, delimiter: "|", header: true}}
fields: {{record_id: id, doc_type: type, recorded_date: date}}
record_key: [record_id]
events: {{LP: LIS_PENDENS}}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_every_committed_source_config_loads() -> None:
    configs = load_sources(CONFIG_DIR)
    assert {c.source for c in configs} >= {"fl_hillsborough", "ca_riverside", "tx_harris", "vendor_parcels"}


def test_a_good_config_loads(tmp_path: Path) -> None:
    config = load_source(_write(tmp_path, "fl_test", GOOD.format(name="fl_test")))
    assert config.county is not None and config.county.fips == "12999"


@pytest.mark.parametrize(
    ("replace", "by", "key"),
    [
        ("recorded_date: date", "sale_date: date", "filings sources must map ['recorded_date']"),
        ('fips: "12999"', 'fips: "129"', "county.fips"),
        ("LIS_PENDENS", "LIS_PENDING", "events.LP"),
        ("kind: filings", "kind: filings\nsurprise: 1", "surprise"),
        ("record_key: [record_id]", "record_key: [apn]", "record_key names unmapped field"),
        ("type: delimited", "type: excel", "format.type"),
    ],
)
def test_config_errors_are_one_line_naming_file_and_key(
    tmp_path: Path, replace: str, by: str, key: str
) -> None:
    path = _write(tmp_path, "fl_test", GOOD.format(name="fl_test").replace(replace, by))
    with pytest.raises(ConfigError) as info:
        load_source(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert key in message


def test_file_name_must_match_source_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must equal the file name"):
        load_source(_write(tmp_path, "other", GOOD.format(name="fl_test")))


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_source(_write(tmp_path, "bad", "source: [unclosed"))


def test_unknown_selected_source_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "fl_test", GOOD.format(name="fl_test"))
    with pytest.raises(ConfigError, match="unknown source"):
        load_sources(tmp_path, ["nope"])
