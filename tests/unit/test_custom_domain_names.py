"""Custom domain names and minimum TLS versions: the one place that validates them (objectstore.service.domains)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objectstore.service.domains import InvalidCustomDomain, check_domain, check_min_tls

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LABEL, min_size=1, max_size=4), st.sampled_from(["com", "example", "co", "xn--p1ai"]))
def test_lowercase_hostnames_are_taken_as_given(labels: list[str], tld: str) -> None:
    name = ".".join([*labels, tld])
    if len(name) <= 253:
        assert check_domain(name) == name
    else:
        with pytest.raises(InvalidCustomDomain):
            check_domain(name)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_anything_with_an_upper_case_letter_port_or_odd_character_is_refused(text: str) -> None:
    name = f"a{text}.example.com"
    if any(c.isupper() or c in ":/*_ @!%\\" or not c.isascii() for c in text):
        with pytest.raises(InvalidCustomDomain):
            check_domain(name)


def test_length_boundaries() -> None:
    label63 = "a" * 63
    assert check_domain(f"{label63}.com")
    with pytest.raises(InvalidCustomDomain):
        check_domain(f"{label63}a.com")
    exact = ".".join(["b" * 61] * 4) + ".com"  # 4 * 62 + 3 = 251
    assert len(exact + "ab") == 253
    assert check_domain("ab" + exact)
    with pytest.raises(InvalidCustomDomain):
        check_domain("abc" + exact)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "com",
        "a..b.com",
        ".a.com",
        "a.com.",
        "a-.b.com",
        "-a.b.com",
        "a.b.123",
        "1.2.3.4",
        "[::1]",
        "a.com:80",
    ],
)
def test_malformed_names(name: str) -> None:
    with pytest.raises(InvalidCustomDomain):
        check_domain(name)


def test_non_text_is_refused_as_missing() -> None:
    with pytest.raises(InvalidCustomDomain, match=r"^The domain is missing\.$"):
        check_domain(None)
    with pytest.raises(InvalidCustomDomain, match=r"^The domain is missing\.$"):
        check_domain(["a.com"])


@pytest.mark.parametrize("value", ["1.0", "1.1", "1.2", "1.3"])
def test_tls_versions(value: str) -> None:
    assert check_min_tls(value) == value


@pytest.mark.parametrize("value", ["1.4", "TLSv1.2", 1.2, None, "", "1.2 "])
def test_other_tls_versions_are_refused(value: object) -> None:
    with pytest.raises(InvalidCustomDomain, match=r"^minTLS must be one of 1\.0, 1\.1, 1\.2, 1\.3\.$"):
        check_min_tls(value)
